// ConnectionTracker (connection_tracker.h).
#include "proxy/network/connection_tracker.h"

#include <vector>

namespace meshd::proxy::network {

ConnectionTracker::Registration&
ConnectionTracker::Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    reset();
    entries_ = std::move(other.entries_);
    entry_ = other.entry_;
    other.entries_.reset();
  }
  return *this;
}

void ConnectionTracker::Registration::reset() {
  if (auto entries = entries_.lock()) {
    entries->erase(entry_);
  }
  entries_.reset();
}

ConnectionTracker::Registration ConnectionTracker::add(std::string listener, uint64_t version,
                                                       uint64_t generation,
                                                       std::function<void()> close) {
  entries_->push_back(Entry{std::move(listener), version, generation, std::move(close)});
  return Registration(entries_, std::prev(entries_->end()));
}

size_t ConnectionTracker::closeStale(const std::string& listener, uint64_t generation,
                                     std::optional<uint64_t> keep) {
  // Collected first: closing a connection may remove its entry from the list.
  std::vector<std::function<void()>> closes;
  for (const Entry& entry : *entries_) {
    if (entry.listener == listener && entry.generation < generation && entry.version != keep) {
      closes.push_back(entry.close);
    }
  }
  for (auto& close : closes) {
    close();
  }
  return closes.size();
}

} // namespace meshd::proxy::network
