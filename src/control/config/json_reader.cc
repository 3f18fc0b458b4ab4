// Typed JSON field access with diagnostics (json_reader.h).
#include "control/config/json_reader.h"

#include <algorithm>
#include <cmath>

#include "core/yaml_json.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace meshd::control::config {

void ReadContext::error(const std::string& pointer, std::string message) {
  out_.push_back(errorAt(object_, pointer, std::move(message)));
}

void ReadContext::warning(const std::string& pointer, std::string message) {
  out_.push_back(warningAt(object_, pointer, std::move(message)));
}

size_t ReadContext::countErrors() const {
  return static_cast<size_t>(std::count_if(out_.begin(), out_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  }));
}

std::string jsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view jsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
  case nlohmann::json::value_t::null: return "null";
  case nlohmann::json::value_t::object: return "an object";
  case nlohmann::json::value_t::array: return "a list";
  case nlohmann::json::value_t::string: return "a string";
  case nlohmann::json::value_t::boolean: return "a boolean";
  case nlohmann::json::value_t::number_integer:
  case nlohmann::json::value_t::number_unsigned:
  case nlohmann::json::value_t::number_float: return "a number";
  default: return "binary data";
  }
}

namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view typeNameOf(nlohmann::json::value_t type) {
  switch (type) {
  case nlohmann::json::value_t::object: return "an object";
  case nlohmann::json::value_t::array: return "a list";
  case nlohmann::json::value_t::string: return "a string";
  case nlohmann::json::value_t::boolean: return "a boolean";
  default: return "a number";
  }
}

std::string quotedList(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    out += fmt::format("{}'{}'", out.empty() ? "" : ", ", name);
  }
  return out;
}

} // namespace

std::string closestName(std::string_view name, std::span<const std::string_view> known) {
  std::string_view best;
  size_t bestDistance = std::max<size_t>(1, std::min<size_t>(3, name.size() / 3));
  for (std::string_view candidate : known) {
    const size_t distance = editDistance(name, candidate);
    if (distance <= bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return std::string(best);
}

std::optional<Duration> parseDuration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    double nanos;
  };
  // Longest suffixes first so that "ms" is not read as "m".
  static constexpr Unit kUnits[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
                                    {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  if (text.empty()) {
    return std::nullopt;
  }
  double total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    bool dot = false;
    while (pos < text.size() &&
           ((text[pos] >= '0' && text[pos] <= '9') || (text[pos] == '.' && !dot))) {
      dot = dot || text[pos] == '.';
      ++pos;
    }
    const std::string number(text.substr(start, pos - start));
    if (number.empty() || number == ".") {
      return std::nullopt;
    }
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.substr(pos).starts_with(candidate.suffix)) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      return std::nullopt;
    }
    pos += unit->suffix.size();
    total += std::strtod(number.c_str(), nullptr) * unit->nanos;
  }
  if (!(total < 9.2e18)) { // ~292 years: beyond what nanoseconds in an int64 hold
    return std::nullopt;
  }
  return Duration(static_cast<int64_t>(std::llround(total)));
}

std::string childPointer(const std::string& pointer, std::string_view token) {
  return pointer + "/" + core::jsonPointerToken(token);
}

MessageReader::MessageReader(ReadContext& ctx, const nlohmann::json& value, std::string pointer,
                             std::initializer_list<std::string_view> fields)
    : ctx_(ctx), pointer_(std::move(pointer)) {
  if (!value.is_object()) {
    ctx_.error(pointer_, fmt::format("must be an object (got {})", jsonTypeName(value)));
    return;
  }
  object_ = &value;
  const std::span<const std::string_view> known(fields.begin(), fields.size());
  for (const auto& [name, unused] : value.items()) {
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      continue;
    }
    const std::string suggestion = closestName(name, known);
    ctx_.error(childPointer(pointer_, name),
               suggestion.empty()
                   ? fmt::format("unknown field '{}'", name)
                   : fmt::format("unknown field '{}' (did you mean '{}'?)", name, suggestion));
  }
}

const nlohmann::json* MessageReader::find(std::string_view field) const {
  if (object_ == nullptr) {
    return nullptr;
  }
  auto it = object_->find(field);
  // An explicit null is what YAML writes for "key:" with nothing after it: treat it as absent.
  return it == object_->end() || it->is_null() ? nullptr : &*it;
}

bool MessageReader::has(std::string_view field) const {
  return find(field) != nullptr;
}

void MessageReader::error(std::string_view field, std::string message) const {
  ctx_.error(pointer(field), std::move(message));
}

void MessageReader::warning(std::string_view field, std::string message) const {
  ctx_.warning(pointer(field), std::move(message));
}

bool MessageReader::require(std::string_view field) const {
  if (object_ != nullptr && !has(field)) {
    error(field, "required field is missing");
  }
  return has(field);
}

std::string_view MessageReader::oneOf(std::initializer_list<std::string_view> fields,
                                      bool required) const {
  std::vector<std::string_view> set;
  for (std::string_view field : fields) {
    if (has(field)) {
      set.push_back(field);
    }
  }
  const std::span<const std::string_view> all(fields.begin(), fields.size());
  if (set.size() > 1) {
    error(set[1],
          fmt::format("only one of {} may be set (found {})", quotedList(all), quotedList(set)));
  } else if (set.empty() && required && object_ != nullptr) {
    ctx_.error(pointer_, fmt::format("one of {} is required", quotedList(all)));
  }
  return set.empty() ? std::string_view() : set[0];
}

void MessageReader::deprecated(std::string_view field, std::string_view replacement) const {
  if (!has(field)) {
    return;
  }
  warning(field, replacement.empty()
                     ? fmt::format("'{}' is deprecated", field)
                     : fmt::format("'{}' is deprecated; use '{}'", field, replacement));
}

bool MessageReader::expect(std::string_view field, const nlohmann::json& value,
                           nlohmann::json::value_t type) const {
  const bool matches =
      type == nlohmann::json::value_t::number_float ? value.is_number() : value.type() == type;
  if (!matches) {
    error(field, fmt::format("must be {} (got {})", typeNameOf(type), jsonTypeName(value)));
  }
  return matches;
}

void MessageReader::reportBadEnum(std::string_view field, std::string_view value,
                                  const std::vector<std::string_view>& known) const {
  error(field, fmt::format("'{}' is not one of {}", value, fmt::join(known, ", ")));
}

std::optional<std::string> MessageReader::string(std::string_view field) const {
  const nlohmann::json* value = find(field);
  if (value == nullptr || !expect(field, *value, nlohmann::json::value_t::string)) {
    return std::nullopt;
  }
  return value->get<std::string>();
}

std::optional<std::string> MessageReader::nonEmpty(std::string_view field) const {
  std::optional<std::string> value = string(field);
  if (value && value->empty()) {
    error(field, "must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> MessageReader::boolean(std::string_view field) const {
  const nlohmann::json* value = find(field);
  if (value == nullptr || !expect(field, *value, nlohmann::json::value_t::boolean)) {
    return std::nullopt;
  }
  return value->get<bool>();
}

std::optional<int64_t> MessageReader::integer(std::string_view field, int64_t min,
                                              int64_t max) const {
  const nlohmann::json* value = find(field);
  if (value == nullptr || !expect(field, *value, nlohmann::json::value_t::number_float)) {
    return std::nullopt;
  }
  const double asDouble = value->get<double>();
  if (value->is_number_float() && std::trunc(asDouble) != asDouble) {
    error(field, fmt::format("must be a whole number (got {})", jsonText(*value)));
    return std::nullopt;
  }
  if (asDouble < static_cast<double>(min) || asDouble > static_cast<double>(max) ||
      (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(max))) {
    error(field, fmt::format("must be between {} and {} (got {})", min, max, jsonText(*value)));
    return std::nullopt;
  }
  return value->is_number_float() ? static_cast<int64_t>(asDouble) : value->get<int64_t>();
}

std::optional<uint32_t> MessageReader::port(std::string_view field) const {
  std::optional<int64_t> value = integer(field, 1, 65535);
  return value ? std::optional<uint32_t>(static_cast<uint32_t>(*value)) : std::nullopt;
}

std::optional<double> MessageReader::number(std::string_view field, double min, double max) const {
  const nlohmann::json* value = find(field);
  if (value == nullptr || !expect(field, *value, nlohmann::json::value_t::number_float)) {
    return std::nullopt;
  }
  const double result = value->get<double>();
  if (!(result >= min && result <= max)) {
    error(field, fmt::format("must be between {} and {} (got {})", min, max, jsonText(*value)));
    return std::nullopt;
  }
  return result;
}

std::optional<Duration> MessageReader::duration(std::string_view field, bool zeroAllowed) const {
  const std::optional<std::string> text = string(field);
  if (!text) {
    return std::nullopt;
  }
  const std::optional<Duration> value = parseDuration(*text);
  if (!value) {
    error(field, fmt::format("'{}' is not a duration (write it like 1.5s, 100ms or 1h)", *text));
    return std::nullopt;
  }
  if (*value < std::chrono::milliseconds(1) && !(zeroAllowed && value->count() == 0)) {
    error(field, fmt::format("duration must be at least 1ms (got {})", *text));
    return std::nullopt;
  }
  if (value->count() % 1000000 != 0) {
    error(field, fmt::format("only durations to ms precision are supported (got {})", *text));
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> MessageReader::strings(std::string_view field) const {
  return list(field, readString);
}

std::map<std::string, std::string> MessageReader::stringMap(std::string_view field) const {
  return map(field, readString);
}

std::optional<std::string> readString(ReadContext& ctx, const nlohmann::json& value,
                                      const std::string& pointer) {
  if (!value.is_string()) {
    ctx.error(pointer, fmt::format("must be a string (got {})", jsonTypeName(value)));
    return std::nullopt;
  }
  return value.get<std::string>();
}

} // namespace meshd::control::config
