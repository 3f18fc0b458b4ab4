// The xDS server's counters (see server_metrics.h).
#include "control/xds/server_metrics.h"

namespace meshd::control::xds {

ServerMetrics::ServerMetrics(stats::Store& store)
    : connectedStreams(store.gauge("xds_server_connected_streams", {}, "Open xDS streams")),
      streamsOpened(store.counter("xds_server_streams_total", {}, "xDS streams opened")),
      pushRequests(
          store.counter("xds_server_push_requests_total", {}, "Push requests before debouncing")),
      pushes(store.counter("xds_server_pushes_total", {}, "Debounced pushes run")),
      responses(store.counter("xds_server_responses_total", {}, "Discovery responses written")),
      acks(store.counter("xds_server_acks_total", {}, "Responses ACKed by clients")),
      nacks(store.counter("xds_server_nacks_total", {}, "Responses NACKed by clients")),
      staleRequests(store.counter("xds_server_stale_requests_total", {},
                                  "Requests answering an older response, ignored")),
      configPropagation(
          store.histogram("config_propagation_seconds", {},
                          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
                          "Time from a config push request to the proxy's ACK of it")) {}

} // namespace meshd::control::xds
