// Tests of DnsServer (test/support/dns_server.h): hand-built queries over UDP with a small response
// parser, plus one resolution through c-ares to show a real resolver accepts the answers.
#include "test/support/dns_server.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace meshd::testing {
namespace {

constexpr uint16_t kA = 1;
constexpr uint16_t kAaaa = 28;
constexpr uint16_t kMx = 15;

struct Record {
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string address; // inet_ntop of the RDATA for A / AAAA
};

struct Response {
  uint16_t id = 0;
  bool qr = false, aa = false, rd = false, ra = false, tc = false;
  uint8_t rcode = 0;
  uint16_t qdcount = 0;
  std::string qname;
  uint16_t qtype = 0;
  std::vector<Record> answers;
};

std::string buildQuery(uint16_t id, const std::string& name, uint16_t qtype, bool rd = true) {
  std::string q;
  auto put16 = [&](uint16_t v) {
    q.push_back(static_cast<char>(v >> 8));
    q.push_back(static_cast<char>(v & 0xff));
  };
  put16(id);
  put16(rd ? 0x0100 : 0);
  put16(1); // QDCOUNT
  put16(0);
  put16(0);
  put16(0);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) {
      dot = name.size();
    }
    q.push_back(static_cast<char>(dot - start));
    q.append(name, start, dot - start);
    start = dot + 1;
  }
  q.push_back('\0');
  put16(qtype);
  put16(1); // IN
  return q;
}

// Parses a response; nullopt when it is malformed or uses anything but the 0xC00C answer pointer.
std::optional<Response> parse(const std::string& s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t len = s.size();
  auto get16 = [&](size_t at) { return static_cast<uint16_t>((p[at] << 8) | p[at + 1]); };
  if (len < 12) {
    return std::nullopt;
  }
  Response r;
  r.id = get16(0);
  r.qr = (p[2] & 0x80) != 0;
  r.aa = (p[2] & 0x04) != 0;
  r.tc = (p[2] & 0x02) != 0;
  r.rd = (p[2] & 0x01) != 0;
  r.ra = (p[3] & 0x80) != 0;
  r.rcode = p[3] & 0x0f;
  r.qdcount = get16(4);
  const uint16_t ancount = get16(6);
  size_t pos = 12;
  while (pos < len && p[pos] != 0) {
    const size_t l = p[pos];
    if (pos + 1 + l > len) {
      return std::nullopt;
    }
    if (!r.qname.empty()) {
      r.qname.push_back('.');
    }
    r.qname.append(s, pos + 1, l);
    pos += 1 + l;
  }
  if (pos + 5 > len) {
    return std::nullopt;
  }
  r.qtype = get16(pos + 1);
  pos += 5;
  for (uint16_t i = 0; i < ancount; ++i) {
    if (pos + 12 > len || get16(pos) != 0xc00c) {
      return std::nullopt;
    }
    Record rec;
    rec.type = get16(pos + 2);
    rec.klass = get16(pos + 4);
    rec.ttl = (static_cast<uint32_t>(get16(pos + 6)) << 16) | get16(pos + 8);
    const uint16_t rdlen = get16(pos + 10);
    pos += 12;
    if (pos + rdlen > len) {
      return std::nullopt;
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (rec.type == kA && rdlen == 4) {
      ::inet_ntop(AF_INET, p + pos, text, sizeof(text));
    } else if (rec.type == kAaaa && rdlen == 16) {
      ::inet_ntop(AF_INET6, p + pos, text, sizeof(text));
    }
    rec.address = text;
    r.answers.push_back(rec);
    pos += rdlen;
  }
  return pos == len ? std::optional<Response>(r) : std::nullopt;
}

// A UDP client socket with a receive timeout, talking to the server.
class Client {
public:
  explicit Client(uint16_t port) : port_(port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& packet) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::sendto(fd_, packet.data(), packet.size(), 0,
                       reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)),
              static_cast<ssize_t>(packet.size()));
  }
  // The next datagram, or empty after the timeout.
  std::string receive() {
    char buf[2048];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  Response ask(const std::string& name, uint16_t qtype, uint16_t id = 0x1234, bool rd = true) {
    send(buildQuery(id, name, qtype, rd));
    auto r = parse(receive());
    EXPECT_TRUE(r.has_value()) << "no or malformed response for " << name;
    return r.value_or(Response{});
  }

private:
  uint16_t port_;
  int fd_ = -1;
};

std::multiset<std::string> addresses(const Response& r) {
  std::multiset<std::string> out;
  for (const auto& rec : r.answers) {
    out.insert(rec.address);
  }
  return out;
}

TEST(DnsServerTest, AnswersAWithEveryIpv4Address) {
  DnsServer dns;
  ASSERT_NE(dns.port(), 0);
  dns.set("svc.test", {"10.0.0.1", "10.0.0.2", "::1", "10.0.0.3"}, 30);
  Client client(dns.port());
  Response r = client.ask("svc.test", kA, 0xbeef);
  EXPECT_EQ(r.id, 0xbeef);
  EXPECT_TRUE(r.qr);
  EXPECT_TRUE(r.aa);
  EXPECT_TRUE(r.rd);
  EXPECT_FALSE(r.ra);
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_EQ(r.qdcount, 1);
  EXPECT_EQ(r.qname, "svc.test");
  EXPECT_EQ(r.qtype, kA);
  ASSERT_EQ(r.answers.size(), 3u);
  for (const auto& rec : r.answers) {
    EXPECT_EQ(rec.type, kA);
    EXPECT_EQ(rec.klass, 1);
    EXPECT_EQ(rec.ttl, 30u);
  }
  EXPECT_EQ(addresses(r), (std::multiset<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
}

TEST(DnsServerTest, AnswersAaaaAndCopiesRdClear) {
  DnsServer dns;
  dns.set("v6.test.", {"10.0.0.1", "fd00::1", "fd00::2"}, 7);
  Client client(dns.port());
  Response r = client.ask("V6.Test", kAaaa, 1, /*rd=*/false);
  EXPECT_FALSE(r.rd);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_EQ(r.qname, "V6.Test"); // the question is echoed as sent
  ASSERT_EQ(r.answers.size(), 2u);
  EXPECT_EQ(r.answers[0].type, kAaaa);
  EXPECT_EQ(r.answers[0].ttl, 7u);
  EXPECT_EQ(addresses(r), (std::multiset<std::string>{"fd00::1", "fd00::2"}));
}

TEST(DnsServerTest, NodataForMissingFamilyOrOtherType) {
  DnsServer dns;
  dns.set("only4.test", {"10.1.1.1"});
  Client client(dns.port());
  Response aaaa = client.ask("only4.test", kAaaa);
  EXPECT_EQ(aaaa.rcode, 0);
  EXPECT_TRUE(aaaa.aa);
  EXPECT_TRUE(aaaa.answers.empty());
  Response mx = client.ask("only4.test", kMx);
  EXPECT_EQ(mx.rcode, 0);
  EXPECT_TRUE(mx.answers.empty());
  Response a = client.ask("only4.test", kA);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].ttl, 1u); // the default TTL
}

TEST(DnsServerTest, NxdomainForUnknownAndRemovedNames) {
  DnsServer dns;
  Client client(dns.port());
  Response unknown = client.ask("nope.test", kA);
  EXPECT_EQ(unknown.rcode, 3);
  EXPECT_TRUE(unknown.answers.empty());
  dns.set("gone.test", {"10.2.2.2"});
  EXPECT_EQ(client.ask("gone.test", kA).answers.size(), 1u);
  dns.remove("GONE.test.");
  Response removed = client.ask("gone.test", kA);
  EXPECT_EQ(removed.rcode, 3);
  EXPECT_TRUE(removed.answers.empty());
}

TEST(DnsServerTest, ChangingTheSetTakesEffect) {
  DnsServer dns;
  dns.set("svc.test", {"10.0.0.1"}, 5);
  Client client(dns.port());
  EXPECT_EQ(addresses(client.ask("svc.test", kA)), (std::multiset<std::string>{"10.0.0.1"}));
  dns.set("svc.test", {"10.0.0.8", "10.0.0.9"}, 60);
  Response r = client.ask("svc.test", kA);
  EXPECT_EQ(addresses(r), (std::multiset<std::string>{"10.0.0.8", "10.0.0.9"}));
  ASSERT_FALSE(r.answers.empty());
  EXPECT_EQ(r.answers[0].ttl, 60u);
  dns.set("svc.test", {});
  Response empty = client.ask("svc.test", kA);
  EXPECT_EQ(empty.rcode, 0);
  EXPECT_TRUE(empty.answers.empty());
}

TEST(DnsServerTest, CountsQueriesPerName) {
  DnsServer dns;
  dns.set("count.test", {"10.0.0.1", "fd00::1"});
  Client client(dns.port());
  EXPECT_EQ(dns.queries("count.test"), 0u);
  client.ask("count.test", kA);
  client.ask("COUNT.test.", kAaaa);
  client.ask("count.test", kMx);
  client.ask("other.test", kA);
  EXPECT_EQ(dns.queries("count.test"), 3u);
  EXPECT_EQ(dns.queries("Count.Test."), 3u);
  EXPECT_EQ(dns.queries("other.test"), 1u);
  EXPECT_EQ(dns.queries("never.test"), 0u);
}

TEST(DnsServerTest, IgnoresMalformedPacketsAndKeepsServing) {
  DnsServer dns;
  dns.set("svc.test", {"10.0.0.1"});
  Client client(dns.port());
  const std::string good = buildQuery(7, "svc.test", kA);
  std::vector<std::string> garbage = {
      std::string("\x01", 1),
      std::string(12, '\0'),           // QDCOUNT 0
      good.substr(0, good.size() - 3), // question cut short
      good.substr(0, 17),              // label runs past the end
      std::string(300, '\x3f'),        // labels and nothing else
      std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
                  18), // compression pointer in the question
  };
  std::string response = good;
  response[2] = static_cast<char>(response[2] | 0x80); // a response, not a query
  garbage.push_back(response);
  for (const auto& packet : garbage) {
    client.send(packet);
  }
  Response r = client.ask("svc.test", kA, 0x4242);
  EXPECT_EQ(r.id, 0x4242); // the first datagram back answers the good query
  EXPECT_EQ(addresses(r), (std::multiset<std::string>{"10.0.0.1"}));
}

TEST(DnsServerTest, InvalidLiteralThrows) {
  DnsServer dns;
  EXPECT_THROW(dns.set("bad.test", {"not-an-ip"}), std::invalid_argument);
}

TEST(DnsServerTest, CaresResolvesThroughIt) {
  DnsServer dns;
  dns.set("cares.meshd.test", {"127.0.0.5"});
  ASSERT_EQ(ares_library_init(ARES_LIB_INIT_ALL), ARES_SUCCESS);
  ares_options options{};
  char lookups[] = "b"; // DNS only, no hosts file
  options.lookups = lookups;
  options.flags = ARES_FLAG_NOSEARCH;
  options.timeout = 1000;
  options.tries = 2;
  ares_channel channel = nullptr;
  ASSERT_EQ(
      ares_init_options(&channel, &options,
                        ARES_OPT_LOOKUPS | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES),
      ARES_SUCCESS);
  const std::string server = "127.0.0.1:" + std::to_string(dns.port());
  ASSERT_EQ(ares_set_servers_ports_csv(channel, server.c_str()), ARES_SUCCESS);

  struct Result {
    bool done = false;
    int status = -1;
    std::vector<std::string> addresses;
  } result;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  ares_getaddrinfo(
      channel, "cares.meshd.test", nullptr, &hints,
      [](void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
        auto* res = static_cast<Result*>(arg);
        res->done = true;
        res->status = status;
        for (ares_addrinfo_node* n = info ? info->nodes : nullptr; n; n = n->ai_next) {
          char text[INET6_ADDRSTRLEN] = {};
          if (n->ai_family == AF_INET) {
            ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr, text,
                        sizeof(text));
          }
          res->addresses.emplace_back(text);
        }
        ares_freeaddrinfo(info);
      },
      &result);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!result.done && std::chrono::steady_clock::now() < deadline) {
    fd_set readers, writers;
    FD_ZERO(&readers);
    FD_ZERO(&writers);
    const int nfds = ares_fds(channel, &readers, &writers);
    if (nfds == 0) {
      break;
    }
    timeval cap{0, 100000};
    timeval tv{};
    ares_timeout(channel, &cap, &tv);
    ::select(nfds, &readers, &writers, nullptr, &tv);
    ares_process(channel, &readers, &writers);
  }
  ares_destroy(channel);
  ares_library_cleanup();

  ASSERT_TRUE(result.done);
  EXPECT_EQ(result.status, ARES_SUCCESS) << ares_strerror(result.status);
  EXPECT_EQ(result.addresses, (std::vector<std::string>{"127.0.0.5"}));
  EXPECT_GE(dns.queries("cares.meshd.test"), 1u);
}

} // namespace
} // namespace meshd::testing
