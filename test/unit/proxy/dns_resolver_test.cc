// DnsResolver (c-ares on the event loop) against the test DNS server: families and fallback,
// NXDOMAIN, IP literals, TTL, and destruction with a lookup in flight.
#include "proxy/upstream/dns_resolver.h"

#include <chrono>
#include <optional>

#include "core/event_loop.h"
#include "test/support/dns_server.h"
#include "gtest/gtest.h"

namespace meshd::proxy::upstream {
namespace {

using namespace std::chrono_literals;
using config::DnsLookupFamily;

class DnsResolverTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto created = DnsResolver::create(
        loop_,
        {boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), dns_.port())});
    ASSERT_TRUE(created.ok()) << created.status();
    resolver_ = std::move(*created);
  }

  // Resolves and runs the loop until the answer arrives (bounded).
  absl::StatusOr<DnsAnswer> resolve(const std::string& name, DnsLookupFamily family) {
    std::optional<absl::StatusOr<DnsAnswer>> result;
    resolver_->resolve(name, family, [&](absl::StatusOr<DnsAnswer> answer) { result = answer; });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!result && std::chrono::steady_clock::now() < deadline) {
      loop_.context().run_for(10ms);
      loop_.context().restart();
    }
    if (!result) {
      return absl::DeadlineExceededError("no answer in 10 s");
    }
    return *result;
  }

  static std::vector<std::string> text(const DnsAnswer& answer) {
    std::vector<std::string> out;
    for (const auto& address : answer.addresses) {
      out.push_back(address.to_string());
    }
    return out;
  }

  testing::DnsServer dns_;
  core::EventLoop loop_{"test"};
  std::unique_ptr<DnsResolver> resolver_;
};

TEST_F(DnsResolverTest, ResolvesEveryAddressOfAFamily) {
  dns_.set("svc.test", {"127.0.0.2", "127.0.0.3", "::2"}, 30);
  const auto v4 = resolve("svc.test", DnsLookupFamily::kV4Only);
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(text(*v4), (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  EXPECT_EQ(v4->ttl, 30s);
  const auto v6 = resolve("svc.test", DnsLookupFamily::kV6Only);
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(text(*v6), (std::vector<std::string>{"::2"}));
  const auto all = resolve("svc.test", DnsLookupFamily::kAll);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->addresses.size(), 3u);
}

TEST_F(DnsResolverTest, AutoPrefersIpv6AndFallsBackToIpv4) {
  dns_.set("both.test", {"127.0.0.2", "::3"});
  dns_.set("v4only.test", {"127.0.0.4"});
  EXPECT_EQ(text(*resolve("both.test", DnsLookupFamily::kAuto)), std::vector<std::string>{"::3"});
  EXPECT_EQ(text(*resolve("v4only.test", DnsLookupFamily::kAuto)),
            std::vector<std::string>{"127.0.0.4"});
  EXPECT_EQ(text(*resolve("both.test", DnsLookupFamily::kV4Preferred)),
            std::vector<std::string>{"127.0.0.2"});
}

TEST_F(DnsResolverTest, UnknownNameAndMissingFamilyAreNotFound) {
  dns_.set("v4only.test", {"127.0.0.4"});
  EXPECT_EQ(resolve("nowhere.test", DnsLookupFamily::kV4Only).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(resolve("v4only.test", DnsLookupFamily::kV6Only).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DnsResolverTest, IpLiteralAnswersItselfWithoutAQuery) {
  const auto answer = resolve("127.0.0.9", DnsLookupFamily::kV4Only);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(text(*answer), std::vector<std::string>{"127.0.0.9"});
  EXPECT_EQ(dns_.queries("127.0.0.9"), 0u);
}

TEST_F(DnsResolverTest, AnswersFollowTheServer) {
  dns_.set("moving.test", {"127.0.0.2"});
  EXPECT_EQ(text(*resolve("moving.test", DnsLookupFamily::kV4Only)),
            std::vector<std::string>{"127.0.0.2"});
  dns_.set("moving.test", {"127.0.0.3"});
  EXPECT_EQ(text(*resolve("moving.test", DnsLookupFamily::kV4Only)),
            std::vector<std::string>{"127.0.0.3"});
  EXPECT_EQ(dns_.queries("moving.test"), 2u);
}

TEST_F(DnsResolverTest, DestroyedWithALookupInFlightNeverCallsBack) {
  dns_.set("svc.test", {"127.0.0.2"});
  bool called = false;
  resolver_->resolve("svc.test", DnsLookupFamily::kV4Only,
                     [&](absl::StatusOr<DnsAnswer>) { called = true; });
  resolver_.reset();
  loop_.context().run_for(200ms);
  EXPECT_FALSE(called);
}

} // namespace
} // namespace meshd::proxy::upstream
