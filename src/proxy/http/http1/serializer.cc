// HTTP/1.1 serialization (serializer.h).
#include "proxy/http/http1/serializer.h"

#include "fmt/format.h"

namespace meshd::proxy::http::http1 {
namespace {

void appendFields(const HeaderMap& headers, bool chunked, std::string& out) {
  for (const auto& [name, value] : headers.entries()) {
    if (name.empty() || name[0] == ':') {
      continue;
    }
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (chunked) {
    out.append("transfer-encoding: chunked\r\n");
  }
  out.append("\r\n");
}

} // namespace

void encodeRequestHead(const HeaderMap& headers, bool chunked, core::Buffer& out) {
  std::string head;
  head.reserve(256 + headers.byteSize());
  head.append(headers.method()).append(" ").append(headers.path()).append(" HTTP/1.1\r\n");
  if (const auto authority = headers.get(":authority"); authority && !authority->empty()) {
    head.append("host: ").append(*authority).append("\r\n");
  }
  appendFields(headers, chunked, head);
  out.add(head);
}

void encodeResponseHead(const HeaderMap& headers, bool chunked, core::Buffer& out) {
  std::string head;
  head.reserve(128 + headers.byteSize());
  const int status = headers.status();
  head.append(fmt::format("HTTP/1.1 {} {}\r\n", status, reasonPhrase(status)));
  appendFields(headers, chunked, head);
  out.add(head);
}

void encodeChunk(std::string_view data, core::Buffer& out) {
  if (data.empty()) {
    return;
  }
  out.add(fmt::format("{:x}\r\n", data.size()));
  out.add(data);
  out.add("\r\n");
}

void encodeLastChunk(core::Buffer& out) {
  out.add("0\r\n\r\n");
}

std::string_view reasonPhrase(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

} // namespace meshd::proxy::http::http1
