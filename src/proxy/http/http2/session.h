// Session: one HTTP/2 connection over nghttp2, without I/O of its own. The owner feeds the bytes
// it read from the socket (receive) and writes what the session produces (SessionCallbacks::
// onOutput); streams report through their StreamHandler. ClientSession and ServerSession add
// opening streams and answering them.
//
// Output is produced at the end of every public call (not while nghttp2 is running a callback),
// so the owner never has to ask for it. Flow control is back-pressure: WINDOW_UPDATEs are only
// sent for bytes the owner consume()d, so at most the receive windows of SessionSettings are
// buffered for a slow reader. Send queues are per stream and unbounded here: the owner bounds
// them (queuedBytes, onSendDrained). nghttp2's flood protections stay on (outbound control frame
// queue, SETTINGS and PING floods, rapid resets, CONTINUATION floods); a connection-level error
// sends GOAWAY and ends the session.
//
// Lifetime: callbacks run inside Session calls; none may destroy the Session (defer it to the
// event loop). When the session is done (onSessionDone) the owner writes the remaining output,
// closes the socket and destroys the session. When the socket fails first, closeAllStreams()
// ends the open streams with connectionLost. A handler must outlive its stream: an owner that
// goes away first calls resetStream (which detaches the handler).
//
// Typical use on a server (the downstream connection):
//   ServerSession session(callbacks, settings);   // callbacks: ServerSession::Callbacks
//   session.start();                               // our SETTINGS go out through onOutput
//   StreamSocket::Handler::onReadable(input) -> session.receive(input)
//   Callbacks::onNewStream(id) -> a StreamHandler, which gets onHead(request), onData, ...
//   session.respond(id, headers, end_stream); session.sendData(id, body, end_stream);
//   after relaying request bytes upstream: session.consume(id, n)
//   drain: session.shutdownGracefully(); onSessionDone -> socket->closeAfterFlush()
//   socket error: session.closeAllStreams(), then destroy the session (outside callbacks).
// A client (the upstream connection) does the same with ClientSession::startRequest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/buffer.h"
#include "nghttp2/nghttp2.h"
#include "proxy/http/header_map.h"
#include "proxy/http/http2/header_conversion.h"
#include "proxy/http/http2/settings.h"
#include "proxy/http/http2/stream_handler.h"

namespace meshd::proxy::http::http2 {

class SessionCallbacks {
public:
  virtual ~SessionCallbacks() = default;
  // Bytes to write to the socket, in order; move them out of `data`.
  virtual void onOutput(core::Buffer& data) = 0;
  // The peer sent GOAWAY: streams above `last_stream_id` were not processed (they are closed
  // with REFUSED_STREAM); no new streams may be opened on this connection.
  virtual void onGoAway(int32_t /*last_stream_id*/, uint32_t /*error_code*/) {}
  // The peer's SETTINGS arrived (its limits, e.g. peerMaxConcurrentStreams, are known now).
  virtual void onPeerSettings() {}
  // The session will do nothing more: after a connection error (GOAWAY sent), after a graceful
  // shutdown whose streams ended, or when both sides are done. Write the output, then close.
  virtual void onSessionDone() = 0;
};

class Session {
public:
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  virtual ~Session();

  // Sends our connection preface (client magic, SETTINGS, the connection window). Call once,
  // before anything else.
  void start();

  // Feeds bytes read from the socket (drained from `input`). False on a connection error (bad
  // preface, protocol violation, flood): GOAWAY is queued if possible and onSessionDone follows.
  bool receive(core::Buffer& input);

  // Queues body bytes for a stream whose head was sent without end_stream (moved out of `data`).
  // `end_stream` ends it (without trailers). False when the stream is gone or already ended.
  bool sendData(int32_t stream_id, core::Buffer& data, bool end_stream);
  bool sendData(int32_t stream_id, std::string_view data, bool end_stream);
  // Ends the stream with trailers after the queued data.
  bool sendTrailers(int32_t stream_id, const HeaderMap& trailers);
  // Bytes queued for a stream that nghttp2 has not taken yet (window closed or not written).
  size_t queuedBytes(int32_t stream_id) const;

  // Resets the stream (RST_STREAM with `error_code`) and detaches its handler: it gets no more
  // callbacks, not even onClose.
  void resetStream(int32_t stream_id, uint32_t error_code);
  // The owner passed on `length` bytes it received for the stream: open the windows again.
  // Bytes a stream received stay charged to the connection window after the stream closed, until
  // they are consumed or discarded, so the owner consumes them when it really passed them on.
  void consume(int32_t stream_id, size_t length);
  // The owner drops what it still holds of the stream's received bytes (it will not consume
  // them): they stop counting against the windows. resetStream does this too.
  void discard(int32_t stream_id);

  // Socket back-pressure: while paused no frames are produced (onOutput is not called), so DATA
  // stays in the streams' send queues (queuedBytes, onSendDrained tell the stream owners) instead
  // of piling up in the socket's buffer. Pause above the socket's high watermark, resume when
  // it drained.
  void pauseOutput() { outputPaused_ = true; }
  void resumeOutput();
  bool outputPaused() const { return outputPaused_; }

  // GOAWAY with the last stream we processed; no new streams are accepted, the open ones finish,
  // then the session is done. With an error code (connection error) the session ends at once.
  void goAway(uint32_t error_code = NGHTTP2_NO_ERROR);
  // The connection is gone: every open stream gets onClose with connectionLost.
  void closeAllStreams();

  size_t activeStreams() const { return streams_.size(); }
  bool hasStream(int32_t stream_id) const { return streams_.count(stream_id) != 0; }
  // We sent or received GOAWAY (or failed): no new streams.
  bool goingAway() const { return goAwaySent_ || goAwayReceived_ || failed_; }
  bool goAwayReceived() const { return goAwayReceived_; }
  bool done() const { return done_; }
  // The peer's SETTINGS_MAX_CONCURRENT_STREAMS (nghttp2's assumption before its SETTINGS came).
  uint32_t peerMaxConcurrentStreams() const;
  bool peerSettingsReceived() const { return peerSettings_; }
  const SessionSettings& settings() const { return settings_; }
  // Bytes received on streams (open or closed) and not consumed or discarded yet (bounded by the
  // connection window).
  size_t unconsumedBytes() const { return unconsumed_; }

protected:
  enum class Role { kClient, kServer };
  Session(Role role, SessionCallbacks& callbacks, SessionSettings settings);

  struct Stream {
    int32_t id = 0;
    StreamHandler* handler = nullptr;
    HeaderMap pending;         // header block being received
    size_t pendingBytes = 0;   // its size as RFC 9113 §6.5.2 counts it
    bool headReceived = false; // the final head was reported (the next block is trailers)
    bool resetByPeer = false;
    bool malformed = false;   // a field broke the rules: reset when the block ends
    size_t unconsumed = 0;    // reported to the handler, not consumed yet
    core::Buffer sendQueue;   // body bytes nghttp2 has not taken yet
    bool hasProvider = false; // a data provider is attached (the head did not end the stream)
    bool deferred = false;    // the provider returned NGHTTP2_ERR_DEFERRED
    bool endQueued = false;   // the local side ends after the queue
    std::optional<HeaderMap> trailers;
    bool drainNotify = false; // tell the handler once the queue emptied
  };

  // Opens the stream record for a stream we are creating or accepting.
  Stream& addStream(int32_t stream_id, StreamHandler* handler);
  Stream* findStream(int32_t stream_id);
  nghttp2_session* raw() { return session_; }
  // Data provider for a head that does not end the stream.
  static nghttp2_data_provider dataProvider();
  // Writes what nghttp2 has to send when no nghttp2 call is running; reports the session's end.
  void flush();

  // Depth guard: output is produced when the outermost public call returns.
  class CallScope {
  public:
    explicit CallScope(Session& session) : session_(session) { ++session_.depth_; }
    ~CallScope() {
      if (--session_.depth_ == 0) {
        session_.flush();
      }
    }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

  private:
    Session& session_;
  };

  // Server: a new stream's request head arrived; return its handler or nullptr to refuse it.
  virtual StreamHandler* acceptStream(int32_t stream_id) = 0;

  Role role_;
  SessionCallbacks& callbacks_;
  SessionSettings settings_;

private:
  static Session& self(void* user_data) { return *static_cast<Session*>(user_data); }
  // nghttp2 callbacks.
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user_data);
  static int onInvalidHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                             void* user_data);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int onDataChunkRecv(nghttp2_session*, uint8_t flags, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data);
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data);
  static ssize_t readData(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void* user_data);

  void headersComplete(Stream& stream, const nghttp2_frame& frame);
  void resumeIfDeferred(Stream& stream);
  // A connection error: GOAWAY (when nghttp2 can still send) and the end of the session.
  void fail(int nghttp2_error);

  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<int32_t> drained_;       // streams whose onSendDrained is due after this flush
  std::map<int32_t, size_t> retained_; // closed streams' bytes the owner has not consumed yet
  size_t unconsumed_ = 0;
  int depth_ = 0;
  bool started_ = false;
  bool goAwaySent_ = false;
  bool goAwayReceived_ = false;
  bool failed_ = false;
  bool done_ = false;
  bool peerSettings_ = false;
  bool outputPaused_ = false;
  bool flushing_ = false;
  bool floodDetected_ = false; // nghttp2 must not be asked to send anything more
};

} // namespace meshd::proxy::http::http2
