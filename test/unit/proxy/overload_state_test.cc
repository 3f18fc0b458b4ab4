// The overload manager's monitor and action logic, driven by an injected heap measurement: which
// triggers turn which actions on and off, the gauges Envoy names, and the global connection count.
#include <optional>

#include "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.pb.h"
#include "proxy/config/overload_config.h"
#include "proxy/server/overload_manager.h"
#include "gtest/gtest.h"

namespace meshd::proxy::server {
namespace {

constexpr uint64_t kMaxHeap = 1000;

config::OverloadTriggerConfig threshold(std::string_view monitor, double value) {
  return {std::string(monitor), value, std::nullopt};
}

config::OverloadTriggerConfig scaled(std::string_view monitor, double scaling, double saturation) {
  return {std::string(monitor), saturation, scaling};
}

class OverloadManagerTest : public testing::Test {
protected:
  void make(std::vector<config::OverloadActionConfig> actions,
            std::optional<int64_t> max_connections = std::nullopt) {
    config::OverloadConfig config;
    config.maxHeapSizeBytes = kMaxHeap;
    config.maxActiveDownstreamConnections = max_connections;
    config.actions = std::move(actions);
    manager_ =
        std::make_unique<OverloadManager>(std::move(config), store_, [this] { return heapInUse_; });
    manager_->onActionChange(
        [this](OverloadAction action, bool active) { changes_.emplace_back(action, active); });
  }
  int64_t gauge(const std::string& name) { return store_.setGauge(name).value(); }

  stats::Store store_;
  std::optional<uint64_t> heapInUse_ = 0;
  std::unique_ptr<OverloadManager> manager_;
  std::vector<std::pair<OverloadAction, bool>> changes_;
};

TEST_F(OverloadManagerTest, ThresholdTriggerTurnsTheActionOnAtAndAboveItsValueAndOffBelow) {
  make(
      {{std::string(config::kStopAcceptingRequests), {threshold(config::kFixedHeapMonitor, 0.9)}}});
  heapInUse_ = 899;
  manager_->refresh();
  EXPECT_FALSE(manager_->active(OverloadAction::kStopAcceptingRequests));
  // The gauge rounds (89.9%); the trigger compares the exact pressure.
  EXPECT_EQ(gauge("overload.envoy.resource_monitors.fixed_heap.pressure"), 90);
  EXPECT_EQ(gauge("overload.envoy.overload_actions.stop_accepting_requests.active"), 0);

  heapInUse_ = 900;
  manager_->refresh();
  EXPECT_TRUE(manager_->active(OverloadAction::kStopAcceptingRequests));
  EXPECT_EQ(gauge("overload.envoy.overload_actions.stop_accepting_requests.active"), 1);
  EXPECT_EQ(gauge("overload.envoy.overload_actions.stop_accepting_requests.scale_percent"), 100);
  // Other actions were not configured: never on.
  EXPECT_FALSE(manager_->active(OverloadAction::kStopAcceptingConnections));

  heapInUse_ = 2000; // over the maximum: pressure reads 100%
  manager_->refresh();
  EXPECT_EQ(gauge("overload.envoy.resource_monitors.fixed_heap.pressure"), 100);
  EXPECT_TRUE(manager_->active(OverloadAction::kStopAcceptingRequests));

  heapInUse_ = 100;
  manager_->refresh();
  EXPECT_FALSE(manager_->active(OverloadAction::kStopAcceptingRequests));
  EXPECT_EQ(gauge("overload.envoy.overload_actions.stop_accepting_requests.active"), 0);
  // One notification per transition, none for refreshes that changed nothing.
  const std::vector<std::pair<OverloadAction, bool>> expected = {
      {OverloadAction::kStopAcceptingRequests, true},
      {OverloadAction::kStopAcceptingRequests, false}};
  EXPECT_EQ(changes_, expected);
}

TEST_F(OverloadManagerTest, ScaledTriggerScalesBetweenItsThresholdsAndSaturatesAtTheTop) {
  make({{std::string(config::kDisableHttpKeepalive),
         {scaled(config::kFixedHeapMonitor, 0.5, 0.9)}}});
  const std::string scale = "overload.envoy.overload_actions.disable_http_keepalive.scale_percent";
  heapInUse_ = 400;
  manager_->refresh();
  EXPECT_EQ(gauge(scale), 0);
  heapInUse_ = 700; // halfway from 0.5 to 0.9
  manager_->refresh();
  EXPECT_EQ(gauge(scale), 50);
  EXPECT_FALSE(manager_->active(OverloadAction::kDisableHttpKeepalive));
  heapInUse_ = 900;
  manager_->refresh();
  EXPECT_EQ(gauge(scale), 100);
  EXPECT_TRUE(manager_->active(OverloadAction::kDisableHttpKeepalive));
}

TEST_F(OverloadManagerTest, AFailedMeasurementKeepsTheStateAndIsCounted) {
  make(
      {{std::string(config::kStopAcceptingRequests), {threshold(config::kFixedHeapMonitor, 0.5)}}});
  heapInUse_ = 800;
  manager_->refresh();
  ASSERT_TRUE(manager_->active(OverloadAction::kStopAcceptingRequests));
  heapInUse_ = std::nullopt;
  manager_->refresh();
  EXPECT_TRUE(manager_->active(OverloadAction::kStopAcceptingRequests));
  EXPECT_EQ(store_.counter("overload.envoy.resource_monitors.fixed_heap.failed_updates").value(),
            1u);
}

TEST_F(OverloadManagerTest, GlobalConnectionSlotsStopAtTheLimitAndComeBackWhenReleased) {
  make({{std::string(config::kStopAcceptingConnections),
         {threshold(config::kGlobalConnectionsMonitor, 1.0)}}},
       /*max_connections=*/2);
  auto first = manager_->tryAcquireConnection();
  auto second = manager_->tryAcquireConnection();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_FALSE(manager_->tryAcquireConnection());
  EXPECT_EQ(manager_->activeConnections(), 2);
  // The connections monitor can drive an action too: at the limit it is saturated.
  manager_->refresh();
  EXPECT_TRUE(manager_->active(OverloadAction::kStopAcceptingConnections));
  EXPECT_EQ(gauge("overload.envoy.resource_monitors.global_downstream_max_connections.pressure"),
            100);
  first.reset();
  EXPECT_EQ(manager_->activeConnections(), 1);
  EXPECT_TRUE(manager_->tryAcquireConnection()); // released again at once (temporary)
  manager_->refresh();
  EXPECT_FALSE(manager_->active(OverloadAction::kStopAcceptingConnections));
}

TEST_F(OverloadManagerTest, WithoutTheConnectionsMonitorEveryConnectionIsGranted) {
  make({});
  std::vector<std::shared_ptr<void>> held;
  for (int i = 0; i < 100; ++i) {
    held.push_back(manager_->tryAcquireConnection());
    ASSERT_TRUE(held.back());
  }
}

TEST(OverloadConfigTest, RejectsUnknownNamesAndTriggersOnUnconfiguredMonitors) {
  envoy::config::overload::v3::OverloadManager proto;
  auto* monitor = proto.add_resource_monitors();
  monitor->set_name("envoy.resource_monitors.fixed_heap");
  envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig heap;
  heap.set_max_heap_size_bytes(1 << 20);
  monitor->mutable_typed_config()->PackFrom(heap);
  auto* action = proto.add_actions();
  action->set_name("envoy.overload_actions.stop_accepting_requests");
  auto* trigger = action->add_triggers();
  trigger->set_name("envoy.resource_monitors.fixed_heap");
  trigger->mutable_threshold()->set_value(0.95);
  auto built = config::buildOverloadConfig(proto);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->maxHeapSizeBytes, 1u << 20);
  EXPECT_EQ(built->refreshInterval, std::chrono::milliseconds(1000));
  ASSERT_EQ(built->actions.size(), 1u);
  EXPECT_DOUBLE_EQ(built->actions[0].triggers[0].threshold, 0.95);

  auto unknownMonitor = proto;
  unknownMonitor.mutable_actions(0)->mutable_triggers(0)->set_name(
      "envoy.resource_monitors.global_downstream_max_connections");
  EXPECT_FALSE(config::buildOverloadConfig(unknownMonitor).ok());

  auto unknownAction = proto;
  unknownAction.mutable_actions(0)->set_name("envoy.overload_actions.shrink_heap");
  EXPECT_FALSE(config::buildOverloadConfig(unknownAction).ok());

  auto outOfRange = proto;
  outOfRange.mutable_actions(0)->mutable_triggers(0)->mutable_threshold()->set_value(1.5);
  EXPECT_FALSE(config::buildOverloadConfig(outOfRange).ok());

  auto zeroHeap = proto;
  heap.set_max_heap_size_bytes(0);
  zeroHeap.mutable_resource_monitors(0)->mutable_typed_config()->PackFrom(heap);
  EXPECT_FALSE(config::buildOverloadConfig(zeroHeap).ok());
}

} // namespace
} // namespace meshd::proxy::server
