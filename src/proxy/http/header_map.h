// HeaderMap: an ordered list of HTTP header fields with lowercase names, as HTTP/2 requires and
// as Envoy presents HTTP/1 headers to filters. Requests carry the pseudo-headers :method, :path,
// :authority and :scheme; responses carry :status. Lookups are linear: a message has tens of
// headers, and a flat vector beats a hash map at that size.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshd::proxy::http {

class HeaderMap {
public:
  using Entry = std::pair<std::string, std::string>;

  // `name` is lowercased.
  void add(std::string_view name, std::string_view value);
  // Replaces every field named `name` with one (added at the end when absent).
  void set(std::string_view name, std::string_view value);
  // Removes every field named `name`; returns how many were removed.
  size_t remove(std::string_view name);

  // The first value of `name` (lowercase), if any.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // All values of `name` joined with ",", as RFC 9110 allows for list-valued fields.
  std::optional<std::string> getJoined(std::string_view name) const;
  size_t count(std::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Sum of name and value lengths (for header-size limits).
  size_t byteSize() const;

  // Convenience accessors for pseudo-headers ("" when absent).
  std::string_view method() const { return get(":method").value_or(""); }
  std::string_view path() const { return get(":path").value_or(""); }
  std::string_view authority() const { return get(":authority").value_or(""); }
  int status() const;

private:
  std::vector<Entry> entries_;
};

std::string toLower(std::string_view text);

} // namespace meshd::proxy::http
