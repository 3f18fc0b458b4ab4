// WorkerAcceptor's pause (the overload manager's stop_accepting_connections): nothing is accepted
// while paused, connections wait in the backlog and are accepted once it resumes, also when the
// pause is lifted before the cancelled accept has reported back.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include "core/event_loop.h"
#include "proxy/network/listener.h"
#include "gtest/gtest.h"

namespace meshd::proxy::network {
namespace {

using namespace std::chrono_literals;

class WorkerAcceptorTest : public testing::Test {
protected:
  void SetUp() override {
    auto bound = bindReusePort(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0), 1);
    ASSERT_TRUE(bound.ok()) << bound.status();
    endpoint_ = bound->endpoint;
    acceptor_ = std::make_unique<WorkerAcceptor>(loop_, bound->fds[0], endpoint_,
                                                 [this](boost::asio::ip::tcp::socket socket) {
                                                   ++accepted_;
                                                   accepted_sockets_.push_back(std::move(socket));
                                                 });
  }
  void TearDown() override {
    for (const int fd : clients_) {
      ::close(fd);
    }
  }
  // A client connection; the kernel completes it from the backlog whether accepted or not.
  void connectClient() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    clients_.push_back(fd);
    ASSERT_EQ(::connect(fd, endpoint_.data(), static_cast<socklen_t>(endpoint_.size())), 0);
  }
  // Runs the loop until `done` or `limit` passes; returns `done()`.
  bool pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      loop_.context().run_for(10ms);
      loop_.context().restart();
    }
    return done();
  }

  core::EventLoop loop_{"test"};
  boost::asio::ip::tcp::endpoint endpoint_;
  std::unique_ptr<WorkerAcceptor> acceptor_;
  int accepted_ = 0;
  std::vector<boost::asio::ip::tcp::socket> accepted_sockets_;
  std::vector<int> clients_;
};

TEST_F(WorkerAcceptorTest, PausedAcceptsNothingAndResumingAcceptsTheWaitingConnection) {
  acceptor_->setPaused(true);
  ASSERT_NO_FATAL_FAILURE(connectClient());
  // Bounded look for an accept that must not come (an unpaused acceptor takes well under this).
  EXPECT_FALSE(pumpUntil([&] { return accepted_ > 0; }, 300ms));
  acceptor_->setPaused(false);
  EXPECT_TRUE(pumpUntil([&] { return accepted_ == 1; }, 5s));
  ASSERT_NO_FATAL_FAILURE(connectClient());
  EXPECT_TRUE(pumpUntil([&] { return accepted_ == 2; }, 5s));
}

TEST_F(WorkerAcceptorTest, PauseLiftedBeforeTheCancelledAcceptReportsStillAccepts) {
  acceptor_->setPaused(true);
  acceptor_->setPaused(false); // the cancelled accept has not run its handler yet
  ASSERT_NO_FATAL_FAILURE(connectClient());
  EXPECT_TRUE(pumpUntil([&] { return accepted_ == 1; }, 5s));
}

} // namespace
} // namespace meshd::proxy::network
