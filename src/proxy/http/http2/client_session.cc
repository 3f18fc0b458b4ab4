// ClientSession (client_session.h).
#include "proxy/http/http2/client_session.h"

#include "fmt/format.h"

namespace meshd::proxy::http::http2 {

ClientSession::ClientSession(SessionCallbacks& callbacks, SessionSettings settings)
    : Session(Role::kClient, callbacks, settings) {}

absl::StatusOr<int32_t> ClientSession::startRequest(const HeaderMap& headers, bool end_stream,
                                                    StreamHandler& handler,
                                                    std::string_view scheme) {
  CallScope scope(*this);
  if (goingAway() || done()) {
    return absl::UnavailableError("the HTTP/2 connection is going away");
  }
  OutgoingHeaders head;
  if (absl::Status status = OutgoingHeaders::build(headers, MessageKind::kRequest, scheme, head);
      !status.ok()) {
    return status;
  }
  const nghttp2_data_provider provider = dataProvider();
  const int32_t id =
      nghttp2_submit_request(raw(), nullptr, head.fields().data(), head.fields().size(),
                             end_stream ? nullptr : &provider, nullptr);
  if (id < 0) {
    return absl::UnavailableError(
        fmt::format("cannot open an HTTP/2 stream: {}", nghttp2_strerror(id)));
  }
  Stream& stream = addStream(id, &handler);
  stream.hasProvider = !end_stream;
  stream.endQueued = end_stream;
  return id;
}

bool ClientSession::canOpenStream() const {
  auto* session = const_cast<ClientSession*>(this)->raw();
  return !goingAway() && !done() && nghttp2_session_check_request_allowed(session) != 0 &&
         activeStreams() < peerMaxConcurrentStreams();
}

} // namespace meshd::proxy::http::http2
