// A tiny authoritative DNS server for tests of DNS-based clusters (STRICT_DNS): UDP on
// 127.0.0.1 only, one thread, answering A and AAAA queries from a table the test edits at any time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace meshd::testing {

// Binds 127.0.0.1 UDP port 0 on construction and serves until destroyed. Names are compared
// case-insensitively, with or without a trailing dot. A known name gets its IPv4 addresses for
// QTYPE A, its IPv6 addresses for QTYPE AAAA (NOERROR with no answers when it has none of that
// family, or for any other QTYPE); an unknown name gets NXDOMAIN. Malformed packets are dropped.
// Responses larger than 512 bytes are cut to whole records with TC set (there is no TCP).
class DnsServer {
public:
  DnsServer(); // throws std::runtime_error when the socket cannot be set up
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  uint16_t port() const { return port_; }
  // Sets the addresses (IPv4 and/or IPv6 literals) `name` resolves to, with this TTL, replacing
  // the previous set. Throws std::invalid_argument for a literal that is neither.
  void set(const std::string& name, std::vector<std::string> addresses, uint32_t ttl_seconds = 1);
  // Forgets `name`: it then gets NXDOMAIN.
  void remove(const std::string& name);
  // Queries received so far for `name` (any type, answered or not).
  size_t queries(const std::string& name) const;

private:
  struct Entry {
    std::vector<std::array<uint8_t, 4>> v4;
    std::vector<std::array<uint8_t, 16>> v6;
    uint32_t ttl = 1;
  };

  void run();
  // Builds the response to one datagram; empty when the datagram is to be ignored.
  std::string answer(const uint8_t* data, size_t len);

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, Entry> table_;   // guarded by mu_; keys normalised
  std::map<std::string, size_t> counts_; // guarded by mu_; keys normalised
  std::thread thread_;
};

} // namespace meshd::testing
