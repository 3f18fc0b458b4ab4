// HeaderMap <-> HTTP/2 header blocks (header_conversion.h).
#include "proxy/http/http2/header_conversion.h"

#include <algorithm>
#include <array>

#include "fmt/format.h"

namespace meshd::proxy::http::http2 {
namespace {

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isAllowedPseudo(std::string_view name, MessageKind kind) {
  static constexpr std::array<std::string_view, 4> kRequestPseudo = {":method", ":scheme",
                                                                     ":authority", ":path"};
  switch (kind) {
  case MessageKind::kRequest:
    // :protocol is extended CONNECT (RFC 8441), which we do not announce.
    return std::find(kRequestPseudo.begin(), kRequestPseudo.end(), name) != kRequestPseudo.end();
  case MessageKind::kResponse: return name == ":status";
  case MessageKind::kTrailers: return false;
  }
  return false;
}

// The field names listed in the Connection header(s): they are hop-by-hop too (RFC 9110 §7.6.1).
std::vector<std::string> connectionOptions(const HeaderMap& headers) {
  std::vector<std::string> options;
  for (const auto& [name, value] : headers.entries()) {
    if (name != "connection") {
      continue;
    }
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) {
        comma = value.size();
      }
      std::string_view option(value.data() + start, comma - start);
      while (!option.empty() && (option.front() == ' ' || option.front() == '\t')) {
        option.remove_prefix(1);
      }
      while (!option.empty() && (option.back() == ' ' || option.back() == '\t')) {
        option.remove_suffix(1);
      }
      if (!option.empty()) {
        options.push_back(toLower(option));
      }
      start = comma + 1;
    }
  }
  return options;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && toLower(a) == toLower(b);
}

nghttp2_nv makeField(const std::string& name, const std::string& value) {
  // nghttp2 takes non-const pointers but only reads them (and copies without NO_COPY flags).
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

} // namespace

bool isConnectionSpecific(std::string_view name, std::string_view value) {
  if (name == "te") {
    return !equalsIgnoreCase(value, "trailers");
  }
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

absl::Status OutgoingHeaders::build(const HeaderMap& source, MessageKind kind,
                                    std::string_view default_scheme, OutgoingHeaders& out) {
  out.headers_ = HeaderMap();
  out.fields_.clear();
  const std::vector<std::string> options = connectionOptions(source);
  HeaderMap regular;
  std::string host;
  for (const auto& [name, value] : source.entries()) {
    if (name.empty()) {
      continue;
    }
    if (name[0] == ':') {
      if (isAllowedPseudo(name, kind) && !out.headers_.has(name)) {
        out.headers_.add(name, value);
      }
      continue;
    }
    if (isConnectionSpecific(name, value) ||
        std::find(options.begin(), options.end(), name) != options.end()) {
      continue;
    }
    if (name == "host" && kind == MessageKind::kRequest) {
      if (host.empty()) {
        host = value;
      }
      continue;
    }
    regular.add(name, value);
  }
  if (kind == MessageKind::kRequest) {
    const std::string_view method = out.headers_.method();
    if (method.empty()) {
      return absl::InvalidArgumentError("request without :method");
    }
    if (!out.headers_.has(":authority") && !host.empty()) {
      out.headers_.add(":authority", host);
    }
    if (method == "CONNECT") {
      out.headers_.remove(":scheme");
      out.headers_.remove(":path");
      if (!out.headers_.has(":authority")) {
        return absl::InvalidArgumentError("CONNECT request without :authority");
      }
    } else {
      if (out.headers_.path().empty()) {
        return absl::InvalidArgumentError("request without :path");
      }
      if (!out.headers_.has(":scheme")) {
        out.headers_.add(":scheme", default_scheme);
      }
    }
  } else if (kind == MessageKind::kResponse) {
    const int status = out.headers_.status();
    if (status < 100 || status > 999) {
      return absl::InvalidArgumentError(fmt::format("response with bad :status {}", status));
    }
  }
  for (const auto& [name, value] : regular.entries()) {
    out.headers_.add(name, value);
  }
  out.fields_.reserve(out.headers_.size());
  for (const auto& [name, value] : out.headers_.entries()) {
    out.fields_.push_back(makeField(name, value));
  }
  return absl::OkStatus();
}

absl::Status checkReceivedField(std::string_view name, std::string_view value, MessageKind kind) {
  if (name.empty()) {
    return absl::InvalidArgumentError("empty header name");
  }
  if (name[0] == ':') {
    if (!isAllowedPseudo(name, kind)) {
      return absl::InvalidArgumentError(fmt::format("pseudo-header {} not allowed here", name));
    }
  } else {
    for (const char c : name) {
      if (!isTokenChar(c)) {
        return absl::InvalidArgumentError(fmt::format("invalid header name '{}'", name));
      }
    }
    if (isConnectionSpecific(name, value)) {
      return absl::InvalidArgumentError(fmt::format("connection-specific header {}", name));
    }
  }
  for (const char c : value) {
    if (c == '\0' || c == '\r' || c == '\n') {
      return absl::InvalidArgumentError(fmt::format("invalid character in {} value", name));
    }
  }
  return absl::OkStatus();
}

void normalizeReceivedHead(HeaderMap& headers, MessageKind kind) {
  if (headers.count("cookie") > 1) {
    std::string joined;
    for (const auto& [name, value] : headers.entries()) {
      if (name == "cookie") {
        if (!joined.empty()) {
          joined.append("; ");
        }
        joined.append(value);
      }
    }
    headers.set("cookie", joined);
  }
  if (kind == MessageKind::kRequest && !headers.has(":authority")) {
    if (const auto host = headers.get("host"); host) {
      const std::string authority(*host);
      headers.remove("host");
      // Pseudo-headers stay in front of the regular fields.
      HeaderMap reordered;
      bool added = false;
      for (const auto& [name, value] : headers.entries()) {
        if (!added && (name.empty() || name[0] != ':')) {
          reordered.add(":authority", authority);
          added = true;
        }
        reordered.add(name, value);
      }
      if (!added) {
        reordered.add(":authority", authority);
      }
      headers = std::move(reordered);
    }
  }
}

} // namespace meshd::proxy::http::http2
