// Fuzz target for the HTTP/2 ServerSession: feeds arbitrary bytes (after an optional valid client
// preface, so the fuzzer spends its time on frames) in fuzzer-chosen chunks to a server whose
// streams answer every request, echo bodies and consume or hold received bytes. Checks what the
// owner relies on: every request head reaching it is valid HTTP/2 (lowercase names, the required
// pseudo-headers, no connection-specific fields, within the header limits), a stream is reported
// closed at most once and nothing arrives after, and unconsumed bytes never exceed the window.
//
// Input layout: byte 0 flags (bit 0: prepend the preface and an empty SETTINGS frame; bit 1: the
// handlers do not consume received bytes), byte 1 chunk size (0: all at once), then the bytes.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/buffer.h"
#include "proxy/http/http2/header_conversion.h"
#include "proxy/http/http2/server_session.h"

namespace {

using meshd::core::Buffer;
using meshd::proxy::http::HeaderMap;
using namespace meshd::proxy::http::http2;

SessionSettings fuzzSettings() {
  SessionSettings settings;
  settings.maxConcurrentStreams = 16;
  settings.initialStreamWindowSize = 65535;
  settings.initialConnectionWindowSize = 128 * 1024;
  settings.maxHeaderListSize = 8 * 1024;
  settings.maxHeaderCount = 32;
  return settings;
}

void checkRequestHead(const HeaderMap& headers, const SessionSettings& settings) {
  MESHD_ASSERT(headers.size() <= settings.maxHeaderCount, "too many fields reached the owner");
  MESHD_ASSERT(headers.byteSize() <= settings.maxHeaderListSize, "header list above the limit");
  MESHD_ASSERT(!headers.method().empty(), "request without :method");
  if (headers.method() != "CONNECT") {
    MESHD_ASSERT(!headers.path().empty(), "request without :path");
  }
  bool regular_seen = false;
  for (const auto& [name, value] : headers.entries()) {
    MESHD_ASSERT(!name.empty(), "empty header name");
    if (name[0] == ':') {
      MESHD_ASSERT(!regular_seen, "pseudo-header after a regular field");
    } else {
      regular_seen = true;
    }
    MESHD_ASSERT(checkReceivedField(name, value, MessageKind::kRequest).ok(),
                 "an invalid field reached the owner");
  }
}

class FuzzServer;

class EchoStream : public StreamHandler {
public:
  EchoStream(FuzzServer& server, int32_t id) : server_(server), id_(id) {}
  void onHead(HeaderMap&& headers, bool end_stream) override;
  void onData(std::string_view data, bool end_stream) override;
  void onTrailers(HeaderMap&& trailers) override;
  void onClose(const StreamClose&) override {
    MESHD_ASSERT(!closed_, "stream closed twice");
    closed_ = true;
  }

private:
  FuzzServer& server_;
  int32_t id_;
  bool headSeen_ = false;
  bool ended_ = false;
  bool closed_ = false;
};

class FuzzServer : public ServerSession::Callbacks {
public:
  explicit FuzzServer(bool consume_received)
      : consume(consume_received), session(*this, fuzzSettings()) {}
  void onOutput(Buffer& data) override {
    outputBytes += data.length();
    data.clear();
  }
  void onSessionDone() override { done = true; }
  StreamHandler* onNewStream(int32_t stream_id) override {
    auto& stream = streams[stream_id];
    MESHD_ASSERT(stream == nullptr, "stream announced twice");
    stream = std::make_unique<EchoStream>(*this, stream_id);
    return stream.get();
  }

  bool consume;
  ServerSession session;
  std::map<int32_t, std::unique_ptr<EchoStream>> streams;
  size_t outputBytes = 0;
  bool done = false;
};

void EchoStream::onHead(HeaderMap&& headers, bool end_stream) {
  MESHD_ASSERT(!closed_ && !headSeen_, "head after close or twice");
  headSeen_ = true;
  checkRequestHead(headers, server_.session.settings());
  HeaderMap response;
  response.add(":status", "200");
  response.add("x-path", headers.path());
  (void)server_.session.respond(id_, response, false);
  server_.session.sendData(id_, headers.path(), end_stream);
  ended_ = end_stream;
}

void EchoStream::onData(std::string_view data, bool end_stream) {
  MESHD_ASSERT(!closed_ && headSeen_ && !ended_, "data outside the body");
  if (!data.empty()) {
    server_.session.sendData(id_, data, false);
    if (server_.consume) {
      server_.session.consume(id_, data.size());
    }
  }
  if (end_stream) {
    ended_ = true;
    server_.session.sendData(id_, std::string_view(), true);
  }
}

void EchoStream::onTrailers(HeaderMap&& trailers) {
  MESHD_ASSERT(!closed_ && headSeen_ && !ended_, "trailers outside the stream");
  for (const auto& [name, value] : trailers.entries()) {
    MESHD_ASSERT(checkReceivedField(name, value, MessageKind::kTrailers).ok(),
                 "an invalid trailer reached the owner");
  }
  ended_ = true;
  HeaderMap answer;
  answer.add("x-trailers", std::to_string(trailers.size()));
  server_.session.sendTrailers(id_, answer);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t flags = data[0];
  const size_t chunk = data[1];
  std::string input;
  if ((flags & 1) != 0) {
    input.append("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    input.append(std::string_view("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9));
  }
  input.append(reinterpret_cast<const char*>(data + 2), size - 2);

  FuzzServer server((flags & 2) == 0);
  server.session.start();
  size_t pos = 0;
  while (pos < input.size() && !server.done) {
    const size_t n = chunk == 0 ? input.size() - pos : std::min(chunk, input.size() - pos);
    Buffer piece(std::string_view(input).substr(pos, n));
    pos += n;
    if (!server.session.receive(piece)) {
      break;
    }
    MESHD_ASSERT(server.session.unconsumedBytes() <= fuzzSettings().initialConnectionWindowSize,
                 "more unconsumed bytes than the connection window");
  }
  server.session.closeAllStreams();
  return 0;
}
