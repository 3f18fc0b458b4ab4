// StreamSocket (stream_socket.h).
#include "proxy/network/stream_socket.h"

#include <span>

#include "boost/asio/post.hpp"

namespace meshd::proxy::network {
namespace {
constexpr size_t kReadSize = 16 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(1);
} // namespace

StreamSocket::StreamSocket(boost::asio::ip::tcp::socket socket, Handler* handler)
    : socket_(std::move(socket)), handler_(handler) {
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

StreamSocket::~StreamSocket() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void StreamSocket::start(std::shared_ptr<void> owner) {
  owner_ = std::move(owner);
  read();
}

void StreamSocket::releaseOwner() {
  if (owner_) {
    boost::asio::post(socket_.get_executor(), [owner = std::move(owner_)] {});
  }
}

void StreamSocket::pauseReading() {
  paused_ = true;
}

void StreamSocket::resumeReading() {
  paused_ = false;
  // Data may already be waiting from before the pause: hand it over first.
  if (handler_ != nullptr && !input_.empty()) {
    handler_->onReadable(input_, eof_);
  }
  read();
}

void StreamSocket::read() {
  if (reading_ || paused_ || eof_ || handler_ == nullptr) {
    return;
  }
  reading_ = true;
  const auto space = input_.reserve(kReadSize);
  socket_.async_read_some(
      boost::asio::buffer(space.data(), space.size()),
      [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
        self->reading_ = false;
        if (self->handler_ == nullptr) {
          return;
        }
        self->input_.commit(n);
        self->bytesRead_ += n;
        if (error == boost::asio::error::eof) {
          self->eof_ = true;
        } else if (error) {
          self->fail();
          return;
        }
        if (!self->paused_) {
          self->handler_->onReadable(self->input_, self->eof_);
        }
        self->read();
      });
}

void StreamSocket::write(core::Buffer& data) {
  if (handler_ == nullptr) {
    data.clear();
    return;
  }
  output_.move(data);
  // Writes made during one callback (a response head, then its body) leave in one writev.
  if (!flushScheduled_ && !writeInFlight_) {
    flushScheduled_ = true;
    boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->flushScheduled_ = false;
      self->flush();
    });
  }
}

void StreamSocket::flush() {
  if (writeInFlight_ || output_.empty()) {
    return;
  }
  writeInFlight_ = true;
  std::array<std::span<const uint8_t>, std::tuple_size_v<decltype(writing_)>> spans;
  const size_t count = output_.slices(spans);
  for (size_t i = 0; i < count; ++i) {
    writing_[i] = boost::asio::const_buffer(spans[i].data(), spans[i].size());
  }
  socket_.async_write_some(
      std::span<const boost::asio::const_buffer>(writing_.data(), count),
      [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
        self->writeInFlight_ = false;
        if (self->handler_ == nullptr && !self->closeWhenFlushed_) {
          return;
        }
        if (error) {
          self->fail();
          return;
        }
        self->output_.drain(n);
        self->bytesWritten_ += n;
        if (!self->output_.empty()) {
          self->flush();
          return;
        }
        if (self->closeWhenFlushed_) {
          self->lingerThenClose();
          return;
        }
        if (self->handler_ != nullptr) {
          self->handler_->onWriteDrained();
        }
      });
}

void StreamSocket::close() {
  handler_ = nullptr;
  releaseOwner();
  closeWhenFlushed_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void StreamSocket::closeAfterFlush() {
  handler_ = nullptr;
  releaseOwner();
  closeWhenFlushed_ = true;
  if (!writeInFlight_ && output_.empty()) {
    lingerThenClose();
  } else {
    flush();
  }
}

void StreamSocket::lingerThenClose() {
  closeWhenFlushed_ = false;
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  if (eof_) {
    socket_.close(ignored);
    return;
  }
  lingerTimer_ = std::make_unique<boost::asio::steady_timer>(socket_.get_executor(), kLingerTime);
  lingerTimer_->async_wait([self = shared_from_this()](const boost::system::error_code&) {
    boost::system::error_code closeError;
    self->socket_.close(closeError);
  });
  discardInput();
}

void StreamSocket::discardInput() {
  const auto space = input_.reserve(kReadSize);
  socket_.async_read_some(
      boost::asio::buffer(space.data(), space.size()),
      [self = shared_from_this()](const boost::system::error_code& error, size_t) {
        self->input_.commit(0);
        if (error) {
          boost::system::error_code ignored;
          self->lingerTimer_->cancel();
          self->socket_.close(ignored);
          return;
        }
        self->discardInput();
      });
}

void StreamSocket::fail() {
  Handler* handler = handler_;
  close();
  if (handler != nullptr) {
    handler->onSocketError();
  }
}

} // namespace meshd::proxy::network
