// Typed reading of an API object's JSON with every problem reported at its JSON pointer: fields of
// the wrong type, unknown fields ("did you mean"), missing required fields, out-of-range numbers,
// bad enums, durations and oneofs. The per-kind parsers (networking/, security/, ...) are written
// with it so that each of them only says which fields a message has and what they mean.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "nlohmann/json.hpp"

namespace meshd::control::config {

// Durations in the typed model ("1.5s" → 1500 ms).
using Duration = std::chrono::nanoseconds;

// Where the diagnostics about one object go while it is read.
class ReadContext {
public:
  ReadContext(const ConfigObject& object, std::vector<Diagnostic>& out)
      : object_(object), out_(out), errorsBefore_(countErrors()) {}

  void error(const std::string& pointer, std::string message);
  void warning(const std::string& pointer, std::string message);
  // True when an error was reported through this context (or into `out` since it was made).
  bool failed() const { return countErrors() != errorsBefore_; }
  const ConfigObject& object() const { return object_; }

private:
  size_t countErrors() const;

  const ConfigObject& object_;
  std::vector<Diagnostic>& out_;
  size_t errorsBefore_;
};

// A name an enum value is spelled with in YAML, e.g. {"ISTIO_MUTUAL", TlsMode::kIstioMutual}.
template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

// The value as JSON text for messages; invalid UTF-8 is replaced (plain dump() would throw).
std::string jsonText(const nlohmann::json& value);
// "a string", "a number", "an object", ... for messages.
std::string_view jsonTypeName(const nlohmann::json& value);
// The known name closest to `name` by edit distance when it is plausibly a typo, else "".
std::string closestName(std::string_view name, std::span<const std::string_view> known);
// Go-style durations as Istio accepts them: "1.5s", "100ms", "1h30m", "250us". nullopt when bad.
std::optional<Duration> parseDuration(std::string_view text);
// "/spec/http" + "0" → "/spec/http/0" (escaping '~' and '/' in the token).
std::string childPointer(const std::string& pointer, std::string_view token);

// One JSON object (a protobuf message or a Kubernetes struct): checks on construction that it is
// an object and has only `fields`; each accessor then reads one field, reports what is wrong with
// it and yields nothing (nullopt/empty) when the field is absent or bad.
class MessageReader {
public:
  MessageReader(ReadContext& ctx, const nlohmann::json& value, std::string pointer,
                std::initializer_list<std::string_view> fields);

  bool ok() const { return object_ != nullptr; }
  bool has(std::string_view field) const;
  // The field's JSON value (null when absent or null), for checks the accessors do not cover.
  const nlohmann::json* raw(std::string_view field) const { return find(field); }
  const std::string& pointer() const { return pointer_; }
  std::string pointer(std::string_view field) const { return childPointer(pointer_, field); }
  ReadContext& context() const { return ctx_; }
  void error(std::string_view field, std::string message) const;
  void warning(std::string_view field, std::string message) const;

  // Reports "required field is missing" unless the field is present; returns whether it is.
  bool require(std::string_view field) const;
  // At most one of `fields` may be set (exactly one when `required`); returns the one set, or "".
  std::string_view oneOf(std::initializer_list<std::string_view> fields,
                         bool required = false) const;
  // Warns that a deprecated field is used, naming its replacement when there is one.
  void deprecated(std::string_view field, std::string_view replacement = "") const;

  std::optional<std::string> string(std::string_view field) const;
  // A non-empty string.
  std::optional<std::string> nonEmpty(std::string_view field) const;
  std::optional<bool> boolean(std::string_view field) const;
  std::optional<int64_t> integer(std::string_view field, int64_t min, int64_t max) const;
  std::optional<uint32_t> port(std::string_view field) const; // 1..65535
  std::optional<double> number(std::string_view field, double min, double max) const;
  // A duration string of at least 1ms in whole milliseconds (Istio's ValidateDuration); "0s" too
  // when `zeroAllowed` (a route timeout of 0s disables the timeout).
  std::optional<Duration> duration(std::string_view field, bool zeroAllowed = false) const;
  std::vector<std::string> strings(std::string_view field) const;
  std::map<std::string, std::string> stringMap(std::string_view field) const;

  template <class E>
  std::optional<E> enumeration(std::string_view field, std::span<const EnumName<E>> names) const {
    const std::optional<std::string> text = string(field);
    if (!text) {
      return std::nullopt;
    }
    for (const EnumName<E>& entry : names) {
      if (entry.name == *text) {
        return entry.value;
      }
    }
    std::vector<std::string_view> known;
    for (const EnumName<E>& entry : names) {
      known.push_back(entry.name);
    }
    reportBadEnum(field, *text, known);
    return std::nullopt;
  }

  // A nested message read by `read(ctx, json, pointer) -> std::optional<T>`.
  template <class F>
  auto message(std::string_view field, F&& read) const
      -> decltype(read(std::declval<ReadContext&>(), nlohmann::json(), std::string())) {
    const nlohmann::json* value = find(field);
    if (value == nullptr) {
      return std::nullopt;
    }
    return read(ctx_, *value, pointer(field));
  }

  // A list of messages; elements that fail to read are left out (their errors are reported).
  template <class F>
  auto list(std::string_view field, F&& read) const {
    using Optional = decltype(read(std::declval<ReadContext&>(), nlohmann::json(), std::string()));
    std::vector<typename Optional::value_type> out;
    const nlohmann::json* value = find(field);
    if (value == nullptr || !expect(field, *value, nlohmann::json::value_t::array)) {
      return out;
    }
    const std::string base = pointer(field);
    for (size_t i = 0; i < value->size(); ++i) {
      if (Optional element = read(ctx_, (*value)[i], childPointer(base, std::to_string(i)))) {
        out.push_back(std::move(*element));
      }
    }
    return out;
  }

  // A map of string → message.
  template <class F>
  auto map(std::string_view field, F&& read) const {
    using Optional = decltype(read(std::declval<ReadContext&>(), nlohmann::json(), std::string()));
    std::map<std::string, typename Optional::value_type> out;
    const nlohmann::json* value = find(field);
    if (value == nullptr || !expect(field, *value, nlohmann::json::value_t::object)) {
      return out;
    }
    const std::string base = pointer(field);
    for (const auto& [key, element] : value->items()) {
      if (Optional read_value = read(ctx_, element, childPointer(base, key))) {
        out.emplace(key, std::move(*read_value));
      }
    }
    return out;
  }

private:
  const nlohmann::json* find(std::string_view field) const;
  // Reports a type error unless `value` has `type` (any number type for number_float).
  bool expect(std::string_view field, const nlohmann::json& value,
              nlohmann::json::value_t type) const;
  void reportBadEnum(std::string_view field, std::string_view value,
                     const std::vector<std::string_view>& known) const;

  ReadContext& ctx_;
  const nlohmann::json* object_ = nullptr;
  std::string pointer_;
};

// Reads a scalar list element or map value that is not a message: a string.
std::optional<std::string> readString(ReadContext& ctx, const nlohmann::json& value,
                                      const std::string& pointer);

} // namespace meshd::control::config
