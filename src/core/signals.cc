// ShutdownSignals (signals.h), on Asio's signal_set.
#include "core/signals.h"

#include <csignal>
#include <cstdlib>

#include "boost/asio/signal_set.hpp"
#include "core/logging.h"

namespace meshd::core {

struct ShutdownSignals::State {
  explicit State(boost::asio::io_context& context) : signals(context, SIGINT, SIGTERM) {}
  boost::asio::signal_set signals;
};

ShutdownSignals::ShutdownSignals(EventLoop& loop, std::function<void(int)> on_shutdown)
    : state_(std::make_unique<State>(loop.context())), onShutdown_(std::move(on_shutdown)) {
  wait();
}

ShutdownSignals::~ShutdownSignals() {
  boost::system::error_code ignored;
  state_->signals.cancel(ignored);
}

void ShutdownSignals::wait() {
  state_->signals.async_wait([this](const boost::system::error_code& error, int signal) {
    if (error) {
      return; // cancelled
    }
    if (requested_) {
      MESHD_LOG(log::get("main"), warn, "second signal {}: exiting now", signal);
      std::_Exit(128 + signal);
    }
    requested_ = true;
    MESHD_LOG(log::get("main"), info, "signal {}: shutting down gracefully", signal);
    onShutdown_(signal);
    wait();
  });
}

void ignoreSigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

} // namespace meshd::core
