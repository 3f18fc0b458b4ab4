// The idle timeouts of one downstream HTTP connection, on one lazily re-armed timer: the
// connection's idle_timeout (no active stream for that long: close) and the stream idle timeout
// (stream_idle_timeout, or the route's idle_timeout: no activity on the active stream for that
// long). Activity only records a time; the timer is re-armed when it fires early or when a
// nearer deadline appears, so a busy connection costs no timer operation per request.
#pragma once

#include <chrono>
#include <memory>

#include "core/time_source.h"
#include "core/timer.h"

namespace meshd::proxy::http {

class IdleTimers {
public:
  class Callbacks {
  public:
    virtual ~Callbacks() = default;
    virtual void onConnectionIdleTimeout() = 0;
    virtual void onStreamIdleTimeout() = 0;
  };

  // A zero timeout disables that timeout.
  IdleTimers(core::TimerFactory& timers, const core::TimeSource& time, Callbacks& callbacks,
             std::chrono::milliseconds connection_idle_timeout);

  // Starts counting connection idleness (the connection is open and has no stream).
  void connectionIdle();
  // A stream started, with this idle timeout; ends the connection's idleness.
  void streamStarted(std::chrono::milliseconds stream_idle_timeout);
  // The route chose another idle timeout for the active stream.
  void setStreamIdleTimeout(std::chrono::milliseconds timeout);
  // Bytes moved for the active stream. Without one (bytes of a head not complete yet) this is no
  // reason to keep an idle connection longer.
  void streamActivity() {
    if (streamActive_) {
      lastActivity_ = time_.monotonicNow();
    }
  }
  // Stops both timeouts (the connection is closing).
  void stop();

private:
  using Duration = std::chrono::steady_clock::duration;
  std::chrono::steady_clock::time_point deadline() const;
  void rearm();
  void onTimer();

  const core::TimeSource& time_;
  Callbacks& callbacks_;
  std::unique_ptr<core::Timer> timer_;
  std::chrono::milliseconds connectionIdleTimeout_;
  std::chrono::milliseconds streamIdleTimeout_{0};
  bool streamActive_ = false;
  bool stopped_ = false;
  core::MonotonicTime lastActivity_; // stream activity, or when the connection became idle
  core::MonotonicTime armedFor_;     // when the timer fires; meaningful while it is enabled
};

} // namespace meshd::proxy::http
