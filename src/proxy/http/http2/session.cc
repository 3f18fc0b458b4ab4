// Session (session.h): the nghttp2 callbacks, input, output and per-stream send queues.
#include "proxy/http/http2/session.h"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include "core/assert.h"

namespace meshd::proxy::http::http2 {
namespace {

// Streams a client may open before the server's SETTINGS arrive (RFC 9113 leaves it unlimited;
// nghttp2 and Envoy assume 100).
constexpr uint32_t kAssumedPeerMaxConcurrentStreams = 100;

std::string_view asView(const uint8_t* data, size_t length) {
  return {reinterpret_cast<const char*>(data), length};
}

} // namespace

Session::Session(Role role, SessionCallbacks& callbacks, SessionSettings settings)
    : role_(role), callbacks_(callbacks), settings_(settings) {
  nghttp2_session_callbacks* cbs = nullptr;
  MESHD_ASSERT(nghttp2_session_callbacks_new(&cbs) == 0, "nghttp2 callbacks allocation");
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Session::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Session::onHeader);
  nghttp2_session_callbacks_set_on_invalid_header_callback(cbs, &Session::onInvalidHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Session::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Session::onDataChunkRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Session::onStreamClose);

  nghttp2_option* options = nullptr;
  MESHD_ASSERT(nghttp2_option_new(&options) == 0, "nghttp2 option allocation");
  // Windows open only for what the owner consumed: back-pressure towards the peer.
  nghttp2_option_set_no_auto_window_update(options, 1);
  nghttp2_option_set_peer_max_concurrent_streams(options, kAssumedPeerMaxConcurrentStreams);
  // The flood limits (max_outbound_ack, max_settings, stream reset rate, continuations) keep
  // nghttp2's defaults.
  const int rv = role == Role::kClient ? nghttp2_session_client_new2(&session_, cbs, this, options)
                                       : nghttp2_session_server_new2(&session_, cbs, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(cbs);
  MESHD_ASSERT(rv == 0, "nghttp2 session allocation");
}

Session::~Session() {
  nghttp2_session_del(session_);
}

void Session::start() {
  if (started_) {
    return;
  }
  started_ = true;
  CallScope scope(*this);
  std::vector<nghttp2_settings_entry> entries = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.maxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initialStreamWindowSize},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.maxHeaderListSize},
  };
  if (role_ == Role::kClient) {
    entries.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries.data(), entries.size()) != 0) {
    fail(NGHTTP2_ERR_INVALID_ARGUMENT);
    return;
  }
  // The connection window starts at 65535 (RFC 9113 §6.9.2); this raises it with WINDOW_UPDATE.
  nghttp2_session_set_local_window_size(
      session_, NGHTTP2_FLAG_NONE, 0,
      static_cast<int32_t>(
          std::min<uint32_t>(settings_.initialConnectionWindowSize, NGHTTP2_MAX_WINDOW_SIZE)));
}

bool Session::receive(core::Buffer& input) {
  if (failed_ || done_) {
    input.clear();
    return !failed_;
  }
  CallScope scope(*this);
  std::array<std::span<const uint8_t>, 16> slices;
  while (!input.empty() && !failed_) {
    const size_t count = input.slices(slices);
    size_t taken = 0;
    for (size_t i = 0; i < count && !failed_; ++i) {
      const ssize_t rv = nghttp2_session_mem_recv(session_, slices[i].data(), slices[i].size());
      if (rv < 0) {
        fail(static_cast<int>(rv));
        break;
      }
      taken += slices[i].size();
    }
    input.drain(failed_ ? input.length() : taken);
  }
  return !failed_;
}

bool Session::sendData(int32_t stream_id, core::Buffer& data, bool end_stream) {
  CallScope scope(*this);
  Stream* stream = findStream(stream_id);
  if (stream == nullptr || !stream->hasProvider || stream->endQueued) {
    data.clear();
    return false;
  }
  stream->sendQueue.move(data);
  stream->endQueued = end_stream;
  resumeIfDeferred(*stream);
  return true;
}

bool Session::sendData(int32_t stream_id, std::string_view data, bool end_stream) {
  core::Buffer buffer(data);
  return sendData(stream_id, buffer, end_stream);
}

bool Session::sendTrailers(int32_t stream_id, const HeaderMap& trailers) {
  CallScope scope(*this);
  Stream* stream = findStream(stream_id);
  if (stream == nullptr || !stream->hasProvider || stream->endQueued) {
    return false;
  }
  stream->endQueued = true;
  if (!trailers.empty()) {
    stream->trailers = trailers;
  }
  resumeIfDeferred(*stream);
  return true;
}

size_t Session::queuedBytes(int32_t stream_id) const {
  const auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : it->second->sendQueue.length();
}

void Session::resetStream(int32_t stream_id, uint32_t error_code) {
  CallScope scope(*this);
  Stream* stream = findStream(stream_id);
  if (stream == nullptr) {
    return;
  }
  if (stream == nullptr) {
    discard(stream_id);
    return;
  }
  stream->handler = nullptr;
  discard(stream_id);
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void Session::consume(int32_t stream_id, size_t length) {
  CallScope scope(*this);
  if (Stream* stream = findStream(stream_id); stream != nullptr) {
    const size_t amount = std::min(length, stream->unconsumed);
    if (amount > 0) {
      stream->unconsumed -= amount;
      unconsumed_ -= amount;
      nghttp2_session_consume(session_, stream_id, amount);
    }
    return;
  }
  const auto it = retained_.find(stream_id);
  if (it == retained_.end()) {
    return;
  }
  const size_t amount = std::min(length, it->second);
  it->second -= amount;
  unconsumed_ -= amount;
  nghttp2_session_consume_connection(session_, amount);
  if (it->second == 0) {
    retained_.erase(it);
  }
}

void Session::discard(int32_t stream_id) {
  CallScope scope(*this);
  if (Stream* stream = findStream(stream_id); stream != nullptr) {
    consume(stream_id, stream->unconsumed);
  } else if (const auto it = retained_.find(stream_id); it != retained_.end()) {
    consume(stream_id, it->second);
  }
}

void Session::goAway(uint32_t error_code) {
  CallScope scope(*this);
  if (failed_ || done_) {
    return;
  }
  if (error_code != NGHTTP2_NO_ERROR) {
    nghttp2_session_terminate_session(session_, error_code);
    failed_ = true;
    return;
  }
  if (goAwaySent_) {
    return;
  }
  goAwaySent_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void Session::resumeOutput() {
  if (!outputPaused_) {
    return;
  }
  CallScope scope(*this);
  outputPaused_ = false;
}

void Session::closeAllStreams() {
  done_ = true;
  auto streams = std::move(streams_);
  streams_.clear();
  retained_.clear();
  unconsumed_ = 0;
  for (auto& [id, stream] : streams) {
    if (stream->handler != nullptr) {
      StreamClose close;
      close.resetByPeer = stream->resetByPeer;
      close.connectionLost = true;
      stream->handler->onClose(close);
    }
  }
}

uint32_t Session::peerMaxConcurrentStreams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

Session::Stream& Session::addStream(int32_t stream_id, StreamHandler* handler) {
  auto stream = std::make_unique<Stream>();
  stream->id = stream_id;
  stream->handler = handler;
  Stream& ref = *stream;
  streams_[stream_id] = std::move(stream);
  return ref;
}

Session::Stream* Session::findStream(int32_t stream_id) {
  const auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

nghttp2_data_provider Session::dataProvider() {
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = &Session::readData;
  return provider;
}

void Session::resumeIfDeferred(Stream& stream) {
  if (stream.deferred) {
    stream.deferred = false;
    nghttp2_session_resume_data(session_, stream.id);
  }
}

void Session::fail(int nghttp2_error) {
  if (failed_) {
    return;
  }
  failed_ = true;
  // After a flood nghttp2 must not queue more; otherwise tell the peer why we close.
  if (nghttp2_error != NGHTTP2_ERR_FLOODED) {
    const uint32_t code = nghttp2_error == NGHTTP2_ERR_FLOW_CONTROL ? NGHTTP2_FLOW_CONTROL_ERROR
                                                                    : NGHTTP2_PROTOCOL_ERROR;
    nghttp2_session_terminate_session(session_, code);
  } else {
    floodDetected_ = true;
  }
}

void Session::flush() {
  if (flushing_ || done_) {
    return;
  }
  flushing_ = true;
  ++depth_; // calls made from callbacks below do not flush recursively
  core::Buffer out;
  // After a connection error the GOAWAY goes out even while paused: the session ends with it.
  while (!floodDetected_ && (!outputPaused_ || failed_)) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      fail(static_cast<int>(n));
      break;
    }
    if (n > 0) {
      out.add(asView(data, static_cast<size_t>(n)));
      continue;
    }
    if (drained_.empty()) {
      break;
    }
    // Handlers told their queue drained may queue more: loop to send it.
    const std::vector<int32_t> drained = std::exchange(drained_, {});
    for (const int32_t id : drained) {
      Stream* stream = findStream(id);
      if (stream != nullptr && stream->handler != nullptr && stream->sendQueue.empty()) {
        stream->handler->onSendDrained();
      }
    }
  }
  --depth_;
  flushing_ = false;
  if (!out.empty()) {
    callbacks_.onOutput(out);
  }
  if (!done_ && (failed_ || (nghttp2_session_want_read(session_) == 0 &&
                             nghttp2_session_want_write(session_) == 0))) {
    done_ = true;
    callbacks_.onSessionDone();
  }
}

int Session::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  Session& session = self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  Stream* stream = session.findStream(frame->hd.stream_id);
  if (stream == nullptr) {
    if (session.role_ != Role::kServer || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    stream = &session.addStream(frame->hd.stream_id, nullptr);
  }
  stream->pending = HeaderMap();
  stream->pendingBytes = 0;
  return 0;
}

int Session::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                      void* user_data) {
  Session& session = self(user_data);
  Stream* stream = session.findStream(frame->hd.stream_id);
  if (stream == nullptr || stream->malformed) {
    return 0;
  }
  const MessageKind kind = stream->headReceived             ? MessageKind::kTrailers
                           : session.role_ == Role::kServer ? MessageKind::kRequest
                                                            : MessageKind::kResponse;
  const std::string_view field_name = asView(name, namelen);
  const std::string_view field_value = asView(value, valuelen);
  stream->pendingBytes += namelen + valuelen + 32;
  if (stream->pendingBytes > session.settings_.maxHeaderListSize ||
      stream->pending.size() >= session.settings_.maxHeaderCount ||
      !checkReceivedField(field_name, field_value, kind).ok()) {
    stream->malformed = true;
    return 0;
  }
  stream->pending.add(field_name, field_value);
  return 0;
}

int Session::onInvalidHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t*, size_t,
                             const uint8_t*, size_t, uint8_t, void* user_data) {
  // nghttp2 would drop the field silently; a field it cannot accept makes the message malformed.
  if (Stream* stream = self(user_data).findStream(frame->hd.stream_id); stream != nullptr) {
    stream->malformed = true;
  }
  return 0;
}

int Session::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  Session& session = self(user_data);
  switch (frame->hd.type) {
  case NGHTTP2_HEADERS:
    if (Stream* stream = session.findStream(frame->hd.stream_id); stream != nullptr) {
      session.headersComplete(*stream, *frame);
    }
    break;
  case NGHTTP2_DATA:
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      Stream* stream = session.findStream(frame->hd.stream_id);
      if (stream != nullptr && stream->handler != nullptr) {
        stream->handler->onData({}, true);
      }
    }
    break;
  case NGHTTP2_RST_STREAM:
    if (Stream* stream = session.findStream(frame->hd.stream_id); stream != nullptr) {
      stream->resetByPeer = true;
    }
    break;
  case NGHTTP2_SETTINGS:
    if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      session.peerSettings_ = true;
      session.callbacks_.onPeerSettings();
    }
    break;
  case NGHTTP2_GOAWAY:
    session.goAwayReceived_ = true;
    session.callbacks_.onGoAway(frame->goaway.last_stream_id, frame->goaway.error_code);
    break;
  default: break;
  }
  return 0;
}

void Session::headersComplete(Stream& stream, const nghttp2_frame& frame) {
  HeaderMap headers = std::exchange(stream.pending, HeaderMap());
  stream.pendingBytes = 0;
  const bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (stream.malformed) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (stream.headReceived) {
    if (stream.handler != nullptr) {
      stream.handler->onTrailers(std::move(headers));
    }
    return;
  }
  if (role_ == Role::kClient) {
    const int status = headers.status();
    if (status >= 100 && status < 200) {
      return; // interim response (nghttp2 rejects one that ends the stream)
    }
  }
  stream.headReceived = true;
  normalizeReceivedHead(headers,
                        role_ == Role::kServer ? MessageKind::kRequest : MessageKind::kResponse);
  if (role_ == Role::kServer) {
    stream.handler = acceptStream(stream.id);
    if (stream.handler == nullptr) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_REFUSED_STREAM);
      return;
    }
  }
  if (stream.handler != nullptr) {
    stream.handler->onHead(std::move(headers), end_stream);
  }
}

int Session::onDataChunkRecv(nghttp2_session* raw_session, uint8_t /*flags*/, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data) {
  Session& session = self(user_data);
  Stream* stream = session.findStream(stream_id);
  if (stream == nullptr || stream->handler == nullptr) {
    nghttp2_session_consume(raw_session, stream_id, len); // nobody will read it
    return 0;
  }
  stream->unconsumed += len;
  session.unconsumed_ += len;
  stream->handler->onData(asView(data, len), false);
  return 0;
}

int Session::onStreamClose(nghttp2_session* raw_session, int32_t stream_id, uint32_t error_code,
                           void* user_data) {
  Session& session = self(user_data);
  const auto it = session.streams_.find(stream_id);
  if (it == session.streams_.end()) {
    return 0;
  }
  std::unique_ptr<Stream> stream = std::move(it->second);
  session.streams_.erase(it);
  if (stream->unconsumed > 0) {
    if (stream->handler != nullptr) {
      session.retained_[stream_id] = stream->unconsumed; // the owner still holds them
    } else {
      nghttp2_session_consume_connection(raw_session, stream->unconsumed);
      session.unconsumed_ -= stream->unconsumed;
    }
  }
  if (stream->handler != nullptr) {
    StreamClose close;
    // A malformed message whose END_STREAM closed the stream before our RST_STREAM went out is
    // still a protocol error for the owner.
    close.errorCode = stream->malformed && error_code == NGHTTP2_NO_ERROR
                          ? static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)
                          : error_code;
    close.resetByPeer = stream->resetByPeer;
    stream->handler->onClose(close);
  }
  return 0;
}

ssize_t Session::readData(nghttp2_session* raw_session, int32_t stream_id, uint8_t* buf,
                          size_t length, uint32_t* data_flags, nghttp2_data_source*,
                          void* user_data) {
  Session& session = self(user_data);
  Stream* stream = session.findStream(stream_id);
  if (stream == nullptr) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  const size_t n = std::min(length, stream->sendQueue.length());
  if (n > 0) {
    stream->sendQueue.copyOut(0, n, buf);
    stream->sendQueue.drain(n);
  }
  if (!stream->sendQueue.empty()) {
    return static_cast<ssize_t>(n);
  }
  if (stream->endQueued) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (stream->trailers) {
      OutgoingHeaders trailers;
      if (OutgoingHeaders::build(*stream->trailers, MessageKind::kTrailers, "", trailers).ok() &&
          !trailers.fields().empty() &&
          nghttp2_submit_trailer(raw_session, stream_id, trailers.fields().data(),
                                 trailers.fields().size()) == 0) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      stream->trailers.reset();
    }
  } else if (n == 0) {
    stream->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (stream->handler != nullptr) {
    session.drained_.push_back(stream_id);
  }
  return static_cast<ssize_t>(n);
}

} // namespace meshd::proxy::http::http2
