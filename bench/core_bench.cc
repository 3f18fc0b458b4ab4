// Micro-benchmarks of the core primitives on the request path: buffer operations and stats
// updates. Reports medians over repetitions (see bench/README.md); never a pass/fail test.
#include <cstring>
#include <string>
#include <thread>

#include "benchmark/benchmark.h"
#include "core/buffer.h"
#include "core/stats/prometheus.h"
#include "core/stats/store.h"

namespace meshd {
namespace {

// A typical small request head moved from a read buffer to a write buffer, then drained.
void BM_BufferAddMoveDrain(benchmark::State& state) {
  const std::string chunk(static_cast<size_t>(state.range(0)), 'x');
  core::Buffer read;
  core::Buffer write;
  for (auto _ : state) {
    read.add(chunk);
    write.move(read);
    write.drain(write.length());
    benchmark::DoNotOptimize(write);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_BufferAddMoveDrain)->Arg(64)->Arg(1024)->Arg(16 * 1024)->Arg(256 * 1024);

// Zero-copy socket-style reads: reserve, fill, commit, then search for the end of headers.
void BM_BufferReserveCommitSearch(benchmark::State& state) {
  std::string head = "GET /productpage HTTP/1.1\r\nHost: bookinfo\r\nUser-Agent: bench\r\n";
  head.append(static_cast<size_t>(state.range(0)), 'h');
  head += "\r\n\r\n";
  core::Buffer buffer;
  for (auto _ : state) {
    auto space = buffer.reserve(head.size());
    std::memcpy(space.data(), head.data(), head.size());
    buffer.commit(head.size());
    benchmark::DoNotOptimize(buffer.search("\r\n\r\n"));
    buffer.drain(buffer.length());
  }
}
BENCHMARK(BM_BufferReserveCommitSearch)->Arg(0)->Arg(512)->Arg(4096);

void BM_CounterIncBoundThread(benchmark::State& state) {
  static stats::Store store(8);
  static stats::Counter counter = store.counter("bench_requests");
  store.bindCurrentThread();
  for (auto _ : state) {
    counter.inc();
  }
  benchmark::DoNotOptimize(counter.value());
}
BENCHMARK(BM_CounterIncBoundThread)->Threads(1)->Threads(2);

void BM_CounterIncSharedArena(benchmark::State& state) {
  static stats::Store store(0); // no arenas to bind: every thread shares one
  static stats::Counter counter = store.counter("bench_requests");
  for (auto _ : state) {
    counter.inc();
  }
}
BENCHMARK(BM_CounterIncSharedArena)->Threads(1)->Threads(2);

void BM_HistogramRecord(benchmark::State& state) {
  static stats::Store store(8);
  static stats::Histogram histogram =
      store.histogram("bench_duration_ms", {}, stats::defaultDurationBucketsMs());
  store.bindCurrentThread();
  double value = 0;
  for (auto _ : state) {
    histogram.record(value);
    value = value > 5000 ? 0 : value + 7.3;
  }
}
BENCHMARK(BM_HistogramRecord);

// A scrape of a proxy with N clusters' worth of metrics (8 counters, 2 gauges, 1 histogram each).
void BM_PrometheusScrape(benchmark::State& state) {
  stats::Store store(2);
  for (int c = 0; c < state.range(0); ++c) {
    const stats::Tags tags = {{"cluster_name", "outbound|9080||svc" + std::to_string(c)}};
    for (const char* name : {"upstream_rq_total", "upstream_rq_2xx", "upstream_rq_5xx",
                             "upstream_cx_total", "upstream_rq_timeout", "upstream_rq_retry",
                             "upstream_cx_connect_fail", "upstream_rq_pending_overflow"}) {
      store.counter(name, tags).inc(static_cast<uint64_t>(c));
    }
    store.gauge("upstream_cx_active", tags).inc();
    store.gauge("upstream_rq_active", tags).inc();
    store.histogram("upstream_rq_time", tags, stats::defaultDurationBucketsMs()).record(c);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = stats::prometheusText(store, "envoy_");
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PrometheusScrape)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

} // namespace
} // namespace meshd

BENCHMARK_MAIN();
