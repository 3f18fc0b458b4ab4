// Process signals: SIGINT/SIGTERM start a graceful shutdown on the main loop (a second one exits
// at once), SIGPIPE is ignored (a closed peer is an error code, not a crash).
#pragma once

#include <functional>
#include <memory>

#include "core/event_loop.h"

namespace meshd::core {

class ShutdownSignals {
public:
  // `on_shutdown` runs on `loop`'s thread at the first SIGINT or SIGTERM.
  ShutdownSignals(EventLoop& loop, std::function<void(int signal)> on_shutdown);
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  bool shutdownRequested() const { return requested_; }

private:
  void wait();

  struct State;
  std::unique_ptr<State> state_;
  std::function<void(int)> onShutdown_;
  bool requested_ = false;
};

// Call once early in main().
void ignoreSigpipe();

} // namespace meshd::core
