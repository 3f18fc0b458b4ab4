// The xDS server's counters, in a stats::Store (exposed by meshd's Prometheus endpoint).
#pragma once

#include <cstdint>

#include "core/stats/store.h"

namespace meshd::control::xds {

struct ServerMetrics {
  explicit ServerMetrics(stats::Store& store);

  stats::Gauge connectedStreams;
  stats::Counter streamsOpened;
  stats::Counter pushRequests; // push() calls
  stats::Counter pushes;       // debounced pushes actually run
  stats::Counter responses;    // responses written
  stats::Counter acks;
  stats::Counter nacks;
  stats::Counter staleRequests;
  // Seconds from a push request to the ACK of the response that carried it (DESIGN.md §2.6).
  stats::Histogram configPropagation;
};

// A plain copy of the counters, for tests and debug output.
struct ServerCounters {
  int64_t connectedStreams = 0;
  uint64_t streamsOpened = 0;
  uint64_t pushRequests = 0;
  uint64_t pushes = 0;
  uint64_t responses = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  uint64_t staleRequests = 0;
  uint64_t propagationSamples = 0; // ACKs that measured a config propagation
};

} // namespace meshd::control::xds
