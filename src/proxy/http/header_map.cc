// HeaderMap (header_map.h).
#include "proxy/http/header_map.h"

#include <algorithm>
#include <charconv>

namespace meshd::proxy::http {

std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  entries_.emplace_back(toLower(name), std::string(value));
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  const std::string lower = toLower(name);
  bool replaced = false;
  auto out = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == lower) {
      if (replaced) {
        continue; // later duplicates go
      }
      it->second = std::string(value);
      replaced = true;
    }
    if (out != it) {
      *out = std::move(*it); // never self-move: it would empty the strings
    }
    ++out;
  }
  entries_.erase(out, entries_.end());
  if (!replaced) {
    entries_.emplace_back(lower, std::string(value));
  }
}

size_t HeaderMap::remove(std::string_view name) {
  const std::string lower = toLower(name);
  const size_t before = entries_.size();
  std::erase_if(entries_, [&](const Entry& entry) { return entry.first == lower; });
  return before - entries_.size();
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry.first == name) {
      return std::string_view(entry.second);
    }
  }
  return std::nullopt;
}

std::optional<std::string> HeaderMap::getJoined(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& entry : entries_) {
    if (entry.first == name) {
      if (out) {
        *out += ',';
        *out += entry.second;
      } else {
        out = entry.second;
      }
    }
  }
  return out;
}

size_t HeaderMap::count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(
      entries_.begin(), entries_.end(), [&](const Entry& entry) { return entry.first == name; }));
}

size_t HeaderMap::byteSize() const {
  size_t total = 0;
  for (const auto& entry : entries_) {
    total += entry.first.size() + entry.second.size();
  }
  return total;
}

int HeaderMap::status() const {
  const auto value = get(":status");
  int code = 0;
  if (value) {
    std::from_chars(value->data(), value->data() + value->size(), code);
  }
  return code;
}

} // namespace meshd::proxy::http
