// Per worker: the downstream connections open on each listener with the listener version they
// were accepted under. When LDS changes or removes a listener, the connections of the old version
// drain (HTTP ones end after their next response); once the drain time is over, the ones still
// open are closed here, as Envoy closes a draining listener's connections. Worker thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

namespace meshd::proxy::network {

class ConnectionTracker {
  struct Entry {
    std::string listener;
    uint64_t version;
    uint64_t generation; // of the runtime the connection was accepted under
    std::function<void()> close;
  };
  using Entries = std::list<Entry>;

public:
  // Held by the connection: leaving the tracker when it is destroyed.
  class Registration {
  public:
    Registration() = default;
    Registration(std::weak_ptr<Entries> entries, Entries::iterator entry)
        : entries_(std::move(entries)), entry_(entry) {}
    Registration(Registration&& other) noexcept { *this = std::move(other); }
    Registration& operator=(Registration&& other) noexcept;
    ~Registration() { reset(); }

  private:
    void reset();
    std::weak_ptr<Entries> entries_;
    Entries::iterator entry_;
  };

  // `close` ends the connection (it may destroy it, and so its registration, at once).
  Registration add(std::string listener, uint64_t version, uint64_t generation,
                   std::function<void()> close);

  // Closes the connections of `listener` accepted under a runtime older than `generation` (before
  // the change that drains them) and a listener version other than `keep` (any version without
  // one). Returns how many were closed.
  size_t closeStale(const std::string& listener, uint64_t generation, std::optional<uint64_t> keep);

  size_t size() const { return entries_->size(); }

private:
  std::shared_ptr<Entries> entries_ = std::make_shared<Entries>();
};

} // namespace meshd::proxy::network
