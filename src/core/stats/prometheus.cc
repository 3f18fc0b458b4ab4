// Prometheus text exposition of a Store (prometheus.h).
#include "core/stats/prometheus.h"

#include <cmath>
#include <iterator>

#include "fmt/format.h"

namespace meshd::stats {
namespace {

std::string sanitizeLabelName(std::string_view name) {
  std::string out = sanitizeMetricName(name);
  for (char& c : out) {
    if (c == ':') {
      c = '_';
    }
  }
  return out;
}

void appendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
    case '\\': out += "\\\\"; break;
    case '"': out += "\\\""; break;
    case '\n': out += "\\n"; break;
    default: out += c;
    }
  }
}

void appendEscapedHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    default: out += c;
    }
  }
}

// `{a="1",b="2"}` with an optional extra label (histogram `le`); empty when there are no labels.
std::string labelSet(const Tags& tags, std::string_view extra_name = {},
                     std::string_view extra_value = {}) {
  if (tags.empty() && extra_name.empty()) {
    return {};
  }
  std::string out = "{";
  bool first = true;
  auto add = [&](std::string_view name, std::string_view value) {
    if (!first) {
      out += ',';
    }
    first = false;
    out.append(sanitizeLabelName(name)).append("=\"");
    appendEscapedLabelValue(out, value);
    out += '"';
  };
  for (const auto& [name, value] : tags) {
    add(name, value);
  }
  if (!extra_name.empty()) {
    add(extra_name, extra_value);
  }
  out += '}';
  return out;
}

std::string formatDouble(double value) {
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  if (std::isnan(value)) {
    return "NaN";
  }
  return fmt::format("{}", value); // shortest text that reads back as the same double
}

std::string familyName(const MetricInfo& info, std::string_view prefix) {
  std::string name = sanitizeMetricName(std::string(prefix).append(info.name));
  if (info.type == MetricType::kCounter && !name.ends_with("_total")) {
    name += "_total";
  }
  return name;
}

std::string_view typeName(MetricType type) {
  switch (type) {
  case MetricType::kCounter: return "counter";
  case MetricType::kGauge: return "gauge";
  case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

} // namespace

std::string sanitizeMetricName(std::string_view name) {
  std::string out(name);
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) {
      out[i] = '_';
    }
  }
  if (out.empty()) {
    out = "_";
  }
  return out;
}

std::string prometheusText(const Store& store, std::string_view prefix) {
  std::string out;
  std::string currentFamily;
  store.forEach([&](const MetricInfo& info) {
    const std::string family = familyName(info, prefix);
    if (family != currentFamily) {
      currentFamily = family;
      fmt::format_to(std::back_inserter(out), "# HELP {} ", family);
      appendEscapedHelp(out, info.help.empty() ? info.name : info.help);
      fmt::format_to(std::back_inserter(out), "\n# TYPE {} {}\n", family, typeName(info.type));
    }
    switch (info.type) {
    case MetricType::kCounter:
      fmt::format_to(std::back_inserter(out), "{}{} {}\n", family, labelSet(info.tags),
                     store.sumSlot(info.slot));
      break;
    case MetricType::kGauge:
      fmt::format_to(std::back_inserter(out), "{}{} {}\n", family, labelSet(info.tags),
                     static_cast<int64_t>(store.sumSlot(info.slot)));
      break;
    case MetricType::kHistogram: {
      const HistogramSnapshot snapshot = store.histogramSnapshot(info.slot, *info.bounds);
      uint64_t cumulative = 0;
      for (size_t i = 0; i < snapshot.counts.size(); ++i) {
        cumulative += snapshot.counts[i];
        const std::string le =
            i < snapshot.bounds.size() ? formatDouble(snapshot.bounds[i]) : "+Inf";
        fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", family,
                       labelSet(info.tags, "le", le), cumulative);
      }
      const std::string labels = labelSet(info.tags);
      fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n{}_count{} {}\n", family, labels,
                     formatDouble(snapshot.sum), family, labels, snapshot.count);
      break;
    }
    }
  });
  return out;
}

} // namespace meshd::stats
