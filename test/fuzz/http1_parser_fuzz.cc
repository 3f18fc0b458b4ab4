// Fuzz target for the HTTP/1 MessageParser (requests and responses): feeds the input whole and
// again split at fuzzer-chosen points, checks that both runs see the same messages (incremental
// parsing must not change the outcome), and checks the invariants a proxy relies on in every
// callback: message order, framing (no Content-Length beside Transfer-Encoding, body length equal
// to Content-Length), header names and values free of CR/LF/NUL, and the configured limits.
//
// Input layout: byte 0 flags (bit 0 response, bit 1 expectNoBody, bits 2-4 split count), byte 1
// max headers count, byte 2 max headers bytes, then two bytes per split point, then the payload.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "core/buffer.h"
#include "proxy/http/header_map.h"
#include "proxy/http/http1/message_parser.h"

namespace {

using meshd::proxy::http::HeaderMap;
using meshd::proxy::http::http1::MessageParser;
using meshd::proxy::http::http1::ParserLimits;

bool isTchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// 1*DIGIT that fits in 64 bits (leading zeros allowed).
bool parseDecimal(std::string_view text, uint64_t& out) {
  if (text.empty()) {
    return false;
  }
  out = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (out > (UINT64_MAX - digit) / 10) {
      return false;
    }
    out = out * 10 + digit;
  }
  return true;
}

// Records what the parser reports and checks each callback against the message state.
class Recorder : public MessageParser::Callbacks {
public:
  Recorder(MessageParser::Kind kind, ParserLimits limits, bool no_body)
      : kind_(kind), limits_(limits), noBody_(no_body) {}

  void onHead(HeaderMap&& headers, bool end_stream) override {
    MESHD_ASSERT(!inMessage_, "onHead while a message is in progress");
    inMessage_ = true;
    endStream_ = end_stream;
    body_ = 0;
    expectedBody_ = -1;
    checkHead(headers, end_stream);
    std::string event = end_stream ? "H(end)" : "H";
    for (const auto& [name, value] : headers.entries()) {
      event += '\n';
      event += name;
      event += ": ";
      event += value;
    }
    events_.push_back(std::move(event));
  }

  void onBody(std::string_view data) override {
    MESHD_ASSERT(inMessage_, "onBody outside a message (after onComplete, before onHead)");
    MESHD_ASSERT(!endStream_, "onBody after a head that said end_stream");
    MESHD_ASSERT(!data.empty(), "empty onBody");
    body_ += data.size();
    if (expectedBody_ >= 0) {
      MESHD_ASSERT(body_ <= static_cast<uint64_t>(expectedBody_), "body beyond Content-Length");
    }
    // Where the input was cut decides how the body is sliced: merge consecutive pieces.
    if (events_.empty() || !events_.back().starts_with("B:")) {
      events_.emplace_back("B:");
    }
    events_.back() += data;
  }

  void onComplete() override {
    MESHD_ASSERT(inMessage_, "onComplete without onHead");
    if (expectedBody_ >= 0) {
      MESHD_ASSERT(body_ == static_cast<uint64_t>(expectedBody_),
                   "body shorter than Content-Length");
    }
    inMessage_ = false;
    ++completed_;
    events_.emplace_back("C");
  }

  bool inMessage() const { return inMessage_; }
  int completed() const { return completed_; }
  // Heads ("H"), merged body runs ("B:<bytes>") and completions ("C"), in order.
  std::vector<std::string>& events() { return events_; }

private:
  void checkHead(const HeaderMap& headers, bool end_stream) {
    size_t regular = 0;
    size_t bytes = 0;
    bool pseudoDone = false;
    for (const auto& [name, value] : headers.entries()) {
      MESHD_ASSERT(!name.empty(), "empty header name");
      MESHD_ASSERT(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
                   "CR, LF or NUL in a header value");
      MESHD_ASSERT(value.empty() || (value.front() != ' ' && value.front() != '\t' &&
                                     value.back() != ' ' && value.back() != '\t'),
                   "header value not trimmed");
      if (name[0] == ':') {
        MESHD_ASSERT(!pseudoDone, "pseudo-header after a regular header");
        continue;
      }
      pseudoDone = true;
      MESHD_ASSERT(std::all_of(name.begin(), name.end(), isTchar),
                   "header name is not a lowercase token");
      ++regular;
      bytes += name.size() + value.size();
    }
    MESHD_ASSERT(regular <= limits_.maxHeadersCount, "more headers than maxHeadersCount");
    MESHD_ASSERT(bytes <= limits_.maxHeadersBytes, "headers larger than maxHeadersBytes");

    const size_t contentLengths = headers.count("content-length");
    const bool te = headers.has("transfer-encoding");
    MESHD_ASSERT(contentLengths <= 1, "several Content-Length fields passed");
    MESHD_ASSERT(!(te && contentLengths > 0), "Content-Length and Transfer-Encoding passed");
    uint64_t contentLength = 0;
    if (contentLengths == 1) {
      MESHD_ASSERT(parseDecimal(*headers.get("content-length"), contentLength),
                   "Content-Length is not a plain decimal number");
    }

    if (kind_ == MessageParser::Kind::kRequest) {
      MESHD_ASSERT(headers.entries().size() >= 3, "request without pseudo-headers");
      MESHD_ASSERT(headers.entries()[0].first == ":method", ":method not first");
      MESHD_ASSERT(headers.entries()[1].first == ":path", ":path not second");
      MESHD_ASSERT(headers.entries()[2].first == ":authority", ":authority not third");
      MESHD_ASSERT(!headers.method().empty(), "empty :method");
      const std::string_view path = headers.path();
      MESHD_ASSERT(!path.empty(), "empty :path");
      MESHD_ASSERT(path[0] == '/' || path == "*" || headers.method() == "CONNECT",
                   ":path is not origin-form");
      MESHD_ASSERT(path.size() <= limits_.maxHeadersBytes, ":path larger than maxHeadersBytes");
      MESHD_ASSERT(!headers.has("host"), "host left beside :authority");
      if (te) {
        MESHD_ASSERT(meshd::proxy::http::toLower(*headers.getJoined("transfer-encoding")) ==
                         "chunked",
                     "request Transfer-Encoding other than chunked passed");
      }
      const bool expectedEnd = !te && contentLength == 0;
      MESHD_ASSERT(end_stream == expectedEnd, "request end_stream disagrees with its framing");
      if (!te && contentLengths == 1) {
        expectedBody_ = static_cast<int64_t>(contentLength);
      } else if (!te) {
        expectedBody_ = 0;
      }
    } else {
      MESHD_ASSERT(!headers.entries().empty() && headers.entries()[0].first == ":status",
                   ":status not first");
      const int status = headers.status();
      MESHD_ASSERT(status >= 100 && status <= 999, ":status out of range");
      const bool bodiless =
          noBody_ || status == 204 || status == 304 || (status >= 100 && status < 200);
      if (status == 101) {
        // Switching Protocols: what follows the head belongs to another protocol.
      } else if (bodiless) {
        MESHD_ASSERT(end_stream, "bodiless response without end_stream");
        expectedBody_ = 0;
      } else if (!te && contentLengths == 1) {
        expectedBody_ = static_cast<int64_t>(contentLength);
        MESHD_ASSERT(end_stream == (contentLength == 0), "response end_stream disagrees with CL");
      } else if (te) {
        MESHD_ASSERT(!end_stream, "chunked response with end_stream");
      }
    }
  }

  MessageParser::Kind kind_;
  ParserLimits limits_;
  bool noBody_;
  bool inMessage_ = false;
  bool endStream_ = false;
  uint64_t body_ = 0;
  int64_t expectedBody_ = -1;
  int completed_ = 0;
  std::vector<std::string> events_;
};

// What a run saw: the callbacks' events plus the parse results ("done", "upgrade").
struct Outcome {
  std::vector<std::string> events;
  std::vector<std::string> results;
  int errorStatus = 0;
  std::string errorDetail; // for debugging a reproducer; not compared
};

// Parses `payload` delivered in pieces ending at `cuts` (sorted offsets), as a connection would:
// after each message the rest of the buffered input is parsed again; at the end, finish().
Outcome run(MessageParser::Kind kind, ParserLimits limits, bool no_body, std::string_view payload,
            const std::vector<size_t>& cuts) {
  Recorder recorder(kind, limits, no_body);
  MessageParser parser(kind, recorder, limits);
  parser.expectNoBody(no_body);
  meshd::core::Buffer input;
  Outcome outcome;
  bool stopped = false;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(payload.size());
  for (const size_t end : ends) {
    if (stopped) {
      break;
    }
    input.add(payload.substr(start, end - start));
    start = end;
    bool more = true; // after a message, parse what is left of the buffered input
    while (more && !stopped) {
      more = false;
      const int completedBefore = recorder.completed();
      const auto result = parser.parse(input);
      switch (result) {
      case MessageParser::Result::kNeedMore:
        MESHD_ASSERT(input.empty(), "kNeedMore with input left");
        break;
      case MessageParser::Result::kMessageDone:
        MESHD_ASSERT(recorder.completed() == completedBefore + 1,
                     "kMessageDone without exactly one onComplete");
        MESHD_ASSERT(!recorder.inMessage() && !parser.inMessage(), "kMessageDone mid-message");
        outcome.results.emplace_back("done");
        more = !input.empty();
        break;
      case MessageParser::Result::kUpgrade:
        outcome.results.emplace_back("upgrade");
        stopped = true;
        break;
      case MessageParser::Result::kError: {
        const int status = parser.error().status;
        if (kind == MessageParser::Kind::kRequest) {
          MESHD_ASSERT(status == 400 || status == 431 || status == 501 || status == 505,
                       "unexpected request error status");
        } else {
          // 502 for a bad response; the header limit and field-value checks shared with requests
          // report 431 and 400 (harmless today: HttpClient answers 502 whatever the status).
          MESHD_ASSERT(status == 502 || status == 431 || status == 400,
                       "unexpected response error status");
        }
        MESHD_ASSERT(parser.parse(input) == MessageParser::Result::kError, "error not sticky");
        outcome.errorStatus = status;
        outcome.errorDetail = parser.error().detail;
        stopped = true;
        break;
      }
      }
    }
  }
  if (!stopped) {
    // The connection closes. Note: finish() right after a complete message (nothing pending)
    // reports "connection closed mid-message" too: llhttp's finish state is only reset when the
    // parser runs again after the pause in on_message_complete. HttpClient treats both the same
    // way today, so the outcome is compared between runs but not asserted.
    const int completedBefore = recorder.completed();
    const auto result = parser.finish();
    if (result == MessageParser::Result::kMessageDone) {
      MESHD_ASSERT(recorder.completed() == completedBefore + 1, "finish() done without onComplete");
      outcome.results.emplace_back("done");
    } else if (result == MessageParser::Result::kError) {
      outcome.errorStatus = parser.error().status;
      outcome.errorDetail = parser.error().detail;
    } else {
      MESHD_ASSERT(!recorder.inMessage(), "finish() left a message open without an error");
    }
  }
  outcome.events = std::move(recorder.events());
  return outcome;
}

// The header-size limit is checked as llhttp hands over each span, and where spans end depends on
// how the input was cut: when an input is both over the limit and malformed further on, one cut
// may report 431 and another the syntax error (400, or 502 for a response). Both reject the
// message before its head is delivered (the events are compared too); any other difference is a
// bug.
bool sameError(int a, int b) {
  return a == b || ((a == 431 || b == 431) && a != 0 && b != 0);
}

bool same(const Outcome& a, const Outcome& b) {
  return a.events == b.events && a.results == b.results && sameError(a.errorStatus, b.errorStatus);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) {
    return 0;
  }
  const uint8_t flags = data[0];
  const auto kind =
      (flags & 1) != 0 ? MessageParser::Kind::kResponse : MessageParser::Kind::kRequest;
  const bool noBody = (flags & 2) != 0;
  const size_t splits = (flags >> 2) & 7;
  ParserLimits limits;
  limits.maxHeadersCount = 1 + data[1] % 32;
  limits.maxHeadersBytes = 64 + static_cast<size_t>(data[2]) * 64;
  size_t pos = 3;
  std::vector<size_t> rawCuts;
  for (size_t i = 0; i < splits && pos + 1 < size; ++i, pos += 2) {
    rawCuts.push_back(static_cast<size_t>(data[pos]) << 8 | data[pos + 1]);
  }
  const std::string_view payload(reinterpret_cast<const char*>(data) + pos, size - pos);
  std::vector<size_t> cuts;
  for (const size_t cut : rawCuts) {
    if (!payload.empty()) {
      cuts.push_back(cut % payload.size());
    }
  }
  std::sort(cuts.begin(), cuts.end());

  const Outcome whole = run(kind, limits, noBody, payload, {});
  // Split at the chosen points, and also byte by byte for short inputs.
  const Outcome split = run(kind, limits, noBody, payload, cuts);
  MESHD_ASSERT(same(whole, split), "split input changed what was parsed");
  if (payload.size() <= 512) {
    std::vector<size_t> everyByte;
    for (size_t i = 1; i < payload.size(); ++i) {
      everyByte.push_back(i);
    }
    const Outcome bytewise = run(kind, limits, noBody, payload, everyByte);
    MESHD_ASSERT(same(whole, bytewise), "byte-by-byte input changed what was parsed");
  }
  return 0;
}
