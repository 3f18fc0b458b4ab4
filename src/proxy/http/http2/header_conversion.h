// Conversion between HeaderMap and HTTP/2 header blocks, with the field rules of RFC 9113
// §8.2-8.3: names are lowercase, pseudo-headers come first and only the ones defined for the
// message kind, and no connection-specific fields (Connection and what it lists, Keep-Alive,
// Proxy-Connection, Transfer-Encoding, Upgrade; TE only as "trailers").
//
// Sending: a message that came over HTTP/1 is normalised (connection-specific fields stripped,
// Host turned into :authority, :scheme supplied) so that it is valid HTTP/2. Receiving: nghttp2
// already enforces these rules; checkReceivedField repeats the per-field part so that a violation
// is a malformed stream whatever nghttp2 version runs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nghttp2/nghttp2.h"
#include "proxy/http/header_map.h"

namespace meshd::proxy::http::http2 {

enum class MessageKind { kRequest, kResponse, kTrailers };

// A header block ready for nghttp2_submit_*: `fields` point into `headers`, so keep the object
// alive (and unmoved) until the submit call returned; nghttp2 copies them.
class OutgoingHeaders {
public:
  OutgoingHeaders(const OutgoingHeaders&) = delete;
  OutgoingHeaders& operator=(const OutgoingHeaders&) = delete;

  // Normalises `source` for sending. Requests get :scheme `default_scheme` when they have none
  // (CONNECT requests carry neither :scheme nor :path). Fails when a required pseudo-header is
  // missing (:method/:path for requests, a 3-digit :status for responses).
  static absl::Status build(const HeaderMap& source, MessageKind kind,
                            std::string_view default_scheme, OutgoingHeaders& out);
  OutgoingHeaders() = default;

  const std::vector<nghttp2_nv>& fields() const { return fields_; }
  const HeaderMap& headers() const { return headers_; }

private:
  HeaderMap headers_;
  std::vector<nghttp2_nv> fields_;
};

// True for fields that only have meaning for one HTTP/1 connection (RFC 9113 §8.2.2), given the
// field's value (TE is allowed with the value "trailers").
bool isConnectionSpecific(std::string_view name, std::string_view value);

// Checks one received field: a lowercase token name (or an allowed pseudo-header for `kind`),
// a value without NUL, CR or LF, and no connection-specific field. An error means the stream
// is malformed (reset with PROTOCOL_ERROR).
absl::Status checkReceivedField(std::string_view name, std::string_view value, MessageKind kind);

// Prepares a received, valid head for the rest of the proxy: cookie crumbs (HTTP/2 may split
// Cookie into several fields, RFC 9113 §8.2.3) are joined into one field with "; ", as an
// HTTP/1.1 hop needs; a request without :authority takes it from Host (§8.3.1).
void normalizeReceivedHead(HeaderMap& headers, MessageKind kind);

} // namespace meshd::proxy::http::http2
