// ServerSession (server_session.h).
#include "proxy/http/http2/server_session.h"

#include "fmt/format.h"

namespace meshd::proxy::http::http2 {

ServerSession::ServerSession(Callbacks& callbacks, SessionSettings settings)
    : Session(Role::kServer, callbacks, settings), serverCallbacks_(callbacks) {}

absl::Status ServerSession::respond(int32_t stream_id, const HeaderMap& headers, bool end_stream) {
  CallScope scope(*this);
  Stream* stream = findStream(stream_id);
  if (stream == nullptr) {
    return absl::NotFoundError(fmt::format("HTTP/2 stream {} is gone", stream_id));
  }
  if (stream->hasProvider || stream->endQueued) {
    return absl::FailedPreconditionError("response head already sent");
  }
  OutgoingHeaders head;
  if (absl::Status status = OutgoingHeaders::build(headers, MessageKind::kResponse, "", head);
      !status.ok()) {
    return status;
  }
  if (const int status = head.headers().status(); status >= 100 && status < 200) {
    const int rv = nghttp2_submit_headers(raw(), NGHTTP2_FLAG_NONE, stream_id, nullptr,
                                          head.fields().data(), head.fields().size(), nullptr);
    return rv == 0 ? absl::OkStatus() : absl::InternalError(nghttp2_strerror(rv));
  }
  const nghttp2_data_provider provider = dataProvider();
  const int rv = nghttp2_submit_response(raw(), stream_id, head.fields().data(),
                                         head.fields().size(), end_stream ? nullptr : &provider);
  if (rv != 0) {
    return absl::InternalError(fmt::format("HTTP/2 response: {}", nghttp2_strerror(rv)));
  }
  stream->hasProvider = !end_stream;
  stream->endQueued = end_stream;
  return absl::OkStatus();
}

} // namespace meshd::proxy::http::http2
