// Unit tests for the stats store: handles, per-thread arenas merged on read (concurrently, under
// ThreadSanitizer in `make test`), histograms and the Prometheus exposition.
#include "core/stats/store.h"

#include <thread>

#include "core/stats/prometheus.h"
#include "gtest/gtest.h"

namespace meshd::stats {
namespace {

TEST(StatsTest, CountersAndGaugesByNameAndTags) {
  Store store;
  Counter a = store.counter("upstream_rq_total", {{"cluster", "a"}});
  Counter b = store.counter("upstream_rq_total", {{"cluster", "b"}});
  a.inc();
  a.inc(4);
  b.inc();
  EXPECT_EQ(a.value(), 5u);
  EXPECT_EQ(store.counter("upstream_rq_total", {{"cluster", "a"}}).value(), 5u);
  EXPECT_EQ(b.value(), 1u);

  Gauge active = store.gauge("upstream_cx_active");
  active.inc();
  active.inc();
  active.dec();
  EXPECT_EQ(active.value(), 1);
  active.sub(3);
  EXPECT_EQ(active.value(), -2);

  SetGauge version = store.setGauge("config_version");
  version.set(42);
  version.set(7);
  EXPECT_EQ(version.value(), 7);
}

TEST(StatsTest, ConcurrentWritersOnBoundAndUnboundThreadsWithAConcurrentReader) {
  Store store(2);
  Counter requests = store.counter("requests");
  Gauge active = store.gauge("active");
  Histogram latency = store.histogram("latency", {}, {1, 10, 100});
  constexpr int kPerThread = 20000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done) {
      const uint64_t now = requests.value();
      EXPECT_GE(now, last); // merged counters never go backwards
      last = now;
      (void)latency.snapshot();
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> bound{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      // Only 2 arenas: the first two threads get one, the others share the common arena.
      if (store.bindCurrentThread()) {
        ++bound;
      }
      for (int i = 0; i < kPerThread; ++i) {
        requests.inc();
        active.inc();
        latency.record(i % 200);
        active.dec();
      }
    });
  }
  for (auto& writer : writers) {
    writer.join();
  }
  done = true;
  reader.join();
  EXPECT_EQ(bound, 2);
  EXPECT_EQ(requests.value(), 4u * kPerThread);
  EXPECT_EQ(active.value(), 0);
  const HistogramSnapshot snapshot = latency.snapshot();
  EXPECT_EQ(snapshot.count, 4u * kPerThread);
  // Per thread: values 0..199 a hundred times each; 0,1 -> le 1; 2..10 -> le 10; 11..100; rest.
  EXPECT_EQ(snapshot.counts,
            (std::vector<uint64_t>{4 * 100 * 2, 4 * 100 * 9, 4 * 100 * 90, 4 * 100 * 99}));
  EXPECT_DOUBLE_EQ(snapshot.sum, 4.0 * 100 * (199.0 * 200 / 2));
}

TEST(StatsTest, MetricsCreatedAfterThreadsBoundStillWork) {
  Store store(1);
  std::thread([&] {
    ASSERT_TRUE(store.bindCurrentThread());
    // Enough metrics to need several chunks in every arena.
    for (int i = 0; i < 2000; ++i) {
      store.counter("c" + std::to_string(i)).inc(i);
    }
  }).join();
  EXPECT_EQ(store.counter("c1999").value(), 1999u);
  EXPECT_EQ(store.counter("c0").value(), 0u);
}

TEST(StatsTest, HistogramQuantilesInterpolateWithinBuckets) {
  Store store;
  Histogram h = store.histogram("h", {}, {10, 20, 30});
  for (int i = 0; i < 100; ++i) {
    h.record(15); // all in (10, 20]
  }
  const HistogramSnapshot snapshot = h.snapshot();
  EXPECT_DOUBLE_EQ(snapshot.quantile(0.5), 15);
  EXPECT_DOUBLE_EQ(snapshot.quantile(1.0), 20);
  EXPECT_DOUBLE_EQ(snapshot.quantile(0.0), 10);
  h.record(1000); // +Inf bucket reports the largest finite bound
  EXPECT_DOUBLE_EQ(h.snapshot().quantile(1.0), 30);
  EXPECT_EQ(store.histogram("empty", {}, {1}).snapshot().quantile(0.5), 0);
}

TEST(PrometheusTest, ExpositionFormat) {
  Store store;
  store.counter("upstream_rq", {{"cluster_name", "outbound|9080||reviews"}}, "Requests sent")
      .inc(3);
  store.counter("istio_requests_total", {{"response_code", "200"}, {"odd", "a\"b\\c\nd"}}).inc();
  store.gauge("cx.active").inc();
  Histogram h = store.histogram("duration_ms", {{"k", "v"}}, {1, 5}, "Latency");
  h.record(0.5);
  h.record(3);
  h.record(9);
  const std::string text = prometheusText(store, "envoy_");
  EXPECT_NE(text.find("# HELP envoy_upstream_rq_total Requests sent\n"
                      "# TYPE envoy_upstream_rq_total counter\n"
                      "envoy_upstream_rq_total{cluster_name=\"outbound|9080||reviews\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("envoy_istio_requests_total{response_code=\"200\",odd=\"a\\\"b\\\\c\\nd\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE envoy_cx_active gauge\nenvoy_cx_active 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("envoy_duration_ms_bucket{k=\"v\",le=\"1\"} 1\n"
                      "envoy_duration_ms_bucket{k=\"v\",le=\"5\"} 2\n"
                      "envoy_duration_ms_bucket{k=\"v\",le=\"+Inf\"} 3\n"
                      "envoy_duration_ms_sum{k=\"v\"} 12.5\n"
                      "envoy_duration_ms_count{k=\"v\"} 3\n"),
            std::string::npos)
      << text;
}

TEST(PrometheusTest, SanitizesNames) {
  EXPECT_EQ(sanitizeMetricName("cluster.outbound|80||x.y"), "cluster_outbound_80__x_y");
  EXPECT_EQ(sanitizeMetricName("9lives"), "_lives");
  EXPECT_EQ(sanitizeMetricName("ok:name_1"), "ok:name_1");
  EXPECT_EQ(sanitizeMetricName(""), "_");
}

} // namespace
} // namespace meshd::stats
