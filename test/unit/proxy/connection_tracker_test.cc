// Tests for closing a drained listener's remaining connections (ConnectionTracker).
#include "proxy/network/connection_tracker.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace meshd::proxy::network {
namespace {

// A connection that counts its closes and, like a real one, leaves the tracker when it goes.
struct FakeConnection {
  int closes = 0;
  ConnectionTracker::Registration registration;
};

TEST(ConnectionTrackerTest, ClosesOnlyOlderConnectionsOfOtherVersions) {
  ConnectionTracker tracker;
  std::vector<std::unique_ptr<FakeConnection>> connections;
  auto add = [&](const std::string& listener, uint64_t version, uint64_t generation) {
    connections.push_back(std::make_unique<FakeConnection>());
    FakeConnection* connection = connections.back().get();
    connection->registration =
        tracker.add(listener, version, generation, [connection] { ++connection->closes; });
    return connection;
  };
  FakeConnection* oldVersion = add("http", 1, 1);
  FakeConnection* sameVersion = add("http", 2, 1);
  FakeConnection* acceptedAfter = add("http", 1, 5);
  FakeConnection* otherListener = add("tcp", 1, 1);
  EXPECT_EQ(tracker.closeStale("http", 3, 2), 1u);
  EXPECT_EQ(oldVersion->closes, 1);
  EXPECT_EQ(sameVersion->closes, 0);
  EXPECT_EQ(acceptedAfter->closes, 0) << "accepted after the change that drains the listener";
  EXPECT_EQ(otherListener->closes, 0);
  // Removed listener: every older connection goes.
  EXPECT_EQ(tracker.closeStale("http", 3, std::nullopt), 2u);
  EXPECT_EQ(sameVersion->closes, 1);
}

TEST(ConnectionTrackerTest, ConnectionsLeaveWhenDestroyedEvenWhileClosing) {
  ConnectionTracker tracker;
  auto first = std::make_unique<FakeConnection>();
  auto second = std::make_unique<FakeConnection>();
  // Closing the first destroys both (as a close that tears down a whole session could).
  first->registration = tracker.add("l", 1, 1, [&] {
    first.reset();
    second.reset();
  });
  second->registration = tracker.add("l", 1, 1, [] {});
  EXPECT_EQ(tracker.size(), 2u);
  tracker.closeStale("l", 2, std::nullopt);
  EXPECT_EQ(tracker.size(), 0u);
  ConnectionTracker::Registration moved;
  {
    auto third = tracker.add("l", 1, 1, [] {});
    moved = std::move(third);
  }
  EXPECT_EQ(tracker.size(), 1u) << "the moved-from registration left nothing behind";
}

} // namespace
} // namespace meshd::proxy::network
