// Sticky sessions by a generated cookie (a RING_HASH cluster and a route cookie hash policy with a
// ttl, what meshd generates for consistentHash.httpCookie): a client without the cookie gets one in
// set-cookie, and sending it back keeps every request on one backend, whatever the source.
#include <set>
#include <string>

#include "http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

TEST(StickyCookieTest, GeneratedCookieKeepsTheClientOnOneBackend) {
  HttpBackend first("first");
  HttpBackend second("second");
  HttpBackend third("third");
  MeshProxy proxy(httpBootstrap(
      catchAllRoutes("backend",
                     "hash_policy: [ { cookie: { name: sticky, ttl: 600s, path: / } } ]"),
      {{"backend", {first.port(), second.port(), third.port()}, "lb_policy: RING_HASH"}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");

  const auto fresh = fetchGet(port, "/");
  ASSERT_EQ(fresh.status, 200);
  const auto setCookie = fresh.header("set-cookie");
  ASSERT_TRUE(setCookie.has_value()) << "no cookie was made up";
  EXPECT_EQ(setCookie->rfind("sticky=\"", 0), 0u) << *setCookie;
  EXPECT_NE(setCookie->find("; Max-Age=600; Path=/; HttpOnly"), std::string::npos) << *setCookie;
  const std::string cookie = setCookie->substr(0, setCookie->find(';'));

  // With the cookie: always the backend the first request went to, and no new cookie.
  for (int i = 0; i < 10; ++i) {
    const auto again = fetchGet(port, "/", {{"cookie", "other=1; " + cookie}});
    ASSERT_EQ(again.status, 200);
    EXPECT_EQ(again.header("x-backend"), fresh.header("x-backend")) << i;
    EXPECT_FALSE(again.has("set-cookie")) << i;
  }
  // Other cookie values spread over the backends (the hash does not ignore the value).
  std::set<std::string> backends;
  for (int i = 0; i < 30; ++i) {
    const auto other = fetchGet(port, "/", {{"cookie", "sticky=client-" + std::to_string(i)}});
    backends.insert(other.header("x-backend").value_or("?"));
  }
  EXPECT_GT(backends.size(), 1u);
}

} // namespace
} // namespace meshd::testing
