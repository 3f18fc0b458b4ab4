// The Prometheus exposition checked by the real `promtool check metrics` (lint included).
#include <fstream>

#include "core/stats/prometheus.h"
#include "core/stats/store.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::stats {
namespace {

using namespace std::chrono_literals;

struct PromtoolResult {
  int status;
  std::string output;
};

PromtoolResult promtoolCheck(const std::string& exposition) {
  testing::TempDir dir;
  const auto file = dir.write("metrics.txt", exposition);
  testing::Process promtool(
      {.argv = {"sh", "-c", "promtool check metrics < \"$0\" 2>&1", file.string()}});
  const auto status = promtool.wait(60s);
  return {status.value_or(-1), promtool.output()};
}

TEST(PromtoolTest, ExpositionPassesPromtoolCheckMetrics) {
  Store store;
  // Names as the proxy will use them: Envoy-style counters without `_total`, dots and pipes in
  // cluster names, label values with characters that need escaping, all three metric types.
  store
      .counter("cluster.upstream_rq", {{"cluster_name", "outbound|9080|v1|reviews.default"}},
               "Requests sent upstream")
      .inc(12);
  store
      .counter("cluster.upstream_rq", {{"cluster_name", "inbound|9080||"}},
               "Requests sent upstream")
      .inc(3);
  store
      .counter("istio_requests_total",
               {{"response_code", "200"}, {"source_workload", "a \"quoted\\ name\nx"}},
               "Requests handled")
      .inc();
  store.gauge("cluster.upstream_cx_active", {{"cluster_name", "x"}}, "Open connections").inc();
  store.setGauge("server.live", {}, "1 when the server is live").set(1);
  Histogram size = store.histogram("istio_request_bytes", {{"response_code", "200"}},
                                   defaultSizeBuckets(), "Request sizes");
  for (double v : {0.0, 3.0, 4200.0, 1e12}) {
    size.record(v);
  }
  store.counter("no_help_given").inc();

  const std::string text = prometheusText(store, "envoy_");
  const PromtoolResult result = promtoolCheck(text);
  EXPECT_EQ(result.status, 0) << result.output << text;
  EXPECT_EQ(result.output, "");
}

// Istio's standard duration metric is named in milliseconds; users' dashboards depend on the name,
// so it is kept even though promtool's lint prefers base units. That is its only complaint.
TEST(PromtoolTest, IstioDurationNameOnlyTripsTheBaseUnitLint) {
  Store store;
  Histogram duration =
      store.histogram("istio_request_duration_milliseconds", {{"response_code", "200"}},
                      defaultDurationBucketsMs(), "Request duration");
  for (double v : {0.2, 3.0, 42.0, 2500.0, 1e7}) {
    duration.record(v);
  }
  const PromtoolResult result = promtoolCheck(prometheusText(store));
  EXPECT_EQ(result.output, "istio_request_duration_milliseconds use base unit \"seconds\" "
                           "instead of \"milliseconds\"\n");
}

} // namespace
} // namespace meshd::stats
