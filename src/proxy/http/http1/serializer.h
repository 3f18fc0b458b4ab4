// Writing HTTP/1.1 messages: request and response heads from a HeaderMap (pseudo-headers become
// the start line and Host), and body framing (content-length passthrough or chunked).
#pragma once

#include <string_view>

#include "core/buffer.h"
#include "proxy/http/header_map.h"

namespace meshd::proxy::http::http1 {

// Appends the request line and headers. Adds `transfer-encoding: chunked` when the request has a
// body of unknown length (`chunked`), which the caller decides.
void encodeRequestHead(const HeaderMap& headers, bool chunked, core::Buffer& out);
// Appends the status line and headers; `chunked` as above.
void encodeResponseHead(const HeaderMap& headers, bool chunked, core::Buffer& out);
// Appends one chunk (nothing for empty data).
void encodeChunk(std::string_view data, core::Buffer& out);
void encodeLastChunk(core::Buffer& out);

std::string_view reasonPhrase(int status);

} // namespace meshd::proxy::http::http1
