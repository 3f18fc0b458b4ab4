// StreamSocket: a connected TCP socket with its input and output buffers, for protocol code that
// works on bytes (the HTTP codecs). It reads continuously into `input` unless reading is paused,
// writes whatever is queued in order, and reports through a Handler. It is shared-owned: pending
// operations keep it alive, and the owner detaches (close()) when it goes away, so no callback
// reaches a destroyed owner.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/buffer.h"

namespace meshd::proxy::network {

class StreamSocket : public std::enable_shared_from_this<StreamSocket> {
public:
  class Handler {
  public:
    virtual ~Handler() = default;
    // New bytes are in `input` (the handler drains what it consumed); `eof` once the peer has
    // half-closed. Called again only after more data arrives.
    virtual void onReadable(core::Buffer& input, bool eof) = 0;
    // Every queued byte has been written (used to finish a close or to resume a paused peer).
    virtual void onWriteDrained() {}
    // A read or write failed (reset, timeout...); the socket is closed already.
    virtual void onSocketError() = 0;
  };

  StreamSocket(boost::asio::ip::tcp::socket socket, Handler* handler);
  ~StreamSocket();

  // Starts reading. `owner` (usually the handler) is kept alive until the socket closes, so a
  // connection lives as long as its socket is open.
  void start(std::shared_ptr<void> owner = nullptr);
  void pauseReading();
  void resumeReading();

  // Queues `data` (moved out) for writing.
  void write(core::Buffer& data);
  size_t bytesQueued() const { return output_.length(); }

  // Closes at once, dropping queued output; the handler is never called again.
  void close();
  // Writes what is queued, then closes.
  void closeAfterFlush();
  bool open() const { return handler_ != nullptr; }
  // The peer half-closed: it will send nothing more.
  bool peerClosed() const { return eof_; }

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  uint64_t bytesRead() const { return bytesRead_; }
  uint64_t bytesWritten() const { return bytesWritten_; }

private:
  void read();
  void flush();
  void fail();
  // Drops the owner reference after the current callback (the owner may be running it).
  void releaseOwner();
  // After our last byte: half-close, then discard input until the peer closes or a deadline, so
  // unread request bytes do not turn our close into a reset that destroys the response in flight.
  void lingerThenClose();
  void discardInput();

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::steady_timer> lingerTimer_;
  Handler* handler_;
  std::shared_ptr<void> owner_;
  core::Buffer input_;
  core::Buffer output_;
  std::array<boost::asio::const_buffer, 16> writing_;
  uint64_t bytesRead_ = 0;
  uint64_t bytesWritten_ = 0;
  bool reading_ = false;
  bool paused_ = false;
  bool writeInFlight_ = false;
  bool flushScheduled_ = false;
  bool eof_ = false;
  bool closeWhenFlushed_ = false;
};

} // namespace meshd::proxy::network
