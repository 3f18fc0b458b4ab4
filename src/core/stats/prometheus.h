// Prometheus text exposition (format 0.0.4) of a Store, clean under `promtool check metrics`:
// every family has HELP and TYPE, counters end in `_total`, names and label values are escaped.
#pragma once

#include <string>
#include <string_view>

#include "core/stats/store.h"

namespace meshd::stats {

// Replaces characters Prometheus does not allow in metric names ([a-zA-Z_:][a-zA-Z0-9_:]*).
std::string sanitizeMetricName(std::string_view name);

// The store's metrics, each name prefixed by `prefix` (e.g. "envoy_").
std::string prometheusText(const Store& store, std::string_view prefix = {});

} // namespace meshd::stats
