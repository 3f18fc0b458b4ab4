// DnsServer (dns_server.h): a poll()-driven UDP loop on 127.0.0.1 that parses one question per
// datagram (every read bounded by the datagram length) and answers it from the table.
#include "test/support/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <stdexcept>

namespace meshd::testing {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxUdpResponse = 512;
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint8_t kRcodeNxDomain = 3;

std::string normalise(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  return out;
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

} // namespace

DnsServer::DnsServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    throw std::runtime_error("DnsServer: socket() failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t addrLen = sizeof(addr);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &addrLen) != 0) {
    ::close(fd_);
    throw std::runtime_error("DnsServer: cannot bind 127.0.0.1 UDP");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

DnsServer::~DnsServer() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join(); // the loop polls with a short timeout, so this returns within ~20 ms
  }
  ::close(fd_);
}

void DnsServer::set(const std::string& name, std::vector<std::string> addresses,
                    uint32_t ttl_seconds) {
  Entry entry;
  entry.ttl = ttl_seconds;
  for (const std::string& literal : addresses) {
    std::array<uint8_t, 4> v4{};
    std::array<uint8_t, 16> v6{};
    if (::inet_pton(AF_INET, literal.c_str(), v4.data()) == 1) {
      entry.v4.push_back(v4);
    } else if (::inet_pton(AF_INET6, literal.c_str(), v6.data()) == 1) {
      entry.v6.push_back(v6);
    } else {
      throw std::invalid_argument("DnsServer::set: not an IP literal: " + literal);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  table_[normalise(name)] = std::move(entry);
}

void DnsServer::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  table_.erase(normalise(name));
}

size_t DnsServer::queries(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(normalise(name));
  return it == counts_.end() ? 0 : it->second;
}

void DnsServer::run() {
  uint8_t buf[4096];
  while (!stop_) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 20) <= 0) {
      continue;
    }
    sockaddr_in peer{};
    socklen_t peerLen = sizeof(peer);
    ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer),
                           &peerLen);
    if (n <= 0) {
      continue;
    }
    std::string response = answer(buf, static_cast<size_t>(n));
    if (!response.empty()) {
      ::sendto(fd_, response.data(), response.size(), 0, reinterpret_cast<const sockaddr*>(&peer),
               peerLen);
    }
  }
}

std::string DnsServer::answer(const uint8_t* data, size_t len) {
  if (len < kHeaderSize) {
    return {};
  }
  const bool isResponse = (data[2] & 0x80) != 0;
  const uint8_t opcode = (data[2] >> 3) & 0x0f;
  if (isResponse || opcode != 0 || get16(data + 4) != 1) {
    return {}; // only standard queries with exactly one question
  }
  // The question name: uncompressed labels, bounded by the datagram and by 255 bytes.
  std::string name;
  size_t pos = kHeaderSize;
  for (;;) {
    if (pos >= len) {
      return {};
    }
    const uint8_t labelLen = data[pos];
    if (labelLen == 0) {
      ++pos;
      break;
    }
    if ((labelLen & 0xc0) != 0 || pos + 1 + labelLen > len || pos - kHeaderSize + labelLen > 254) {
      return {};
    }
    if (!name.empty()) {
      name.push_back('.');
    }
    name.append(reinterpret_cast<const char*>(data + pos + 1), labelLen);
    pos += 1 + labelLen;
  }
  if (pos + 4 > len) {
    return {};
  }
  const uint16_t qtype = get16(data + pos);
  const size_t questionEnd = pos + 4;
  name = normalise(name);

  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[name];
  auto it = table_.find(name);
  const bool known = it != table_.end();

  std::string out;
  out.append(reinterpret_cast<const char*>(data), 2);               // ID
  out.push_back(static_cast<char>(0x80 | 0x04 | (data[2] & 0x01))); // QR, AA, RD
  out.push_back(static_cast<char>(known ? 0 : kRcodeNxDomain));     // RA=0, RCODE
  put16(out, 1);                                                    // QDCOUNT
  put16(out, 0);                                                    // ANCOUNT, below
  put16(out, 0);                                                    // NSCOUNT
  put16(out, 0);                                                    // ARCOUNT
  out.append(reinterpret_cast<const char*>(data + kHeaderSize), questionEnd - kHeaderSize);
  if (!known) {
    return out;
  }
  auto addRecord = [&](uint16_t type, const uint8_t* rdata, uint16_t rdlen) {
    if (out.size() + 12 + rdlen > kMaxUdpResponse) {
      out[2] = static_cast<char>(out[2] | 0x02); // TC
      return;
    }
    put16(out, 0xc00c); // pointer to the question name
    put16(out, type);
    put16(out, 1); // IN
    put32(out, it->second.ttl);
    put16(out, rdlen);
    out.append(reinterpret_cast<const char*>(rdata), rdlen);
    const uint16_t count = static_cast<uint16_t>(get16(reinterpret_cast<uint8_t*>(&out[6])) + 1);
    out[6] = static_cast<char>(count >> 8);
    out[7] = static_cast<char>(count & 0xff);
  };
  if (qtype == kTypeA) {
    for (const auto& a : it->second.v4) {
      addRecord(kTypeA, a.data(), 4);
    }
  } else if (qtype == kTypeAaaa) {
    for (const auto& a : it->second.v6) {
      addRecord(kTypeAaaa, a.data(), 16);
    }
  }
  return out;
}

} // namespace meshd::testing
