// The gRPC retry conditions of a route's retry_on (cancelled, deadline-exceeded,
// resource-exhausted, internal, unavailable; Istio's default policy has unavailable and
// cancelled): a trailers-only response whose grpc-status matches is retried, as Envoy does; other
// statuses, and HTTP 200 answers without a gRPC status, are not.
#include <string>

#include "http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

// The backend answers 200 with `grpc-status: CODE` in the head (what a trailers-only gRPC error
// looks like on HTTP/1.1).
HttpResponse grpcFailure(uint16_t port, int code) {
  return fetchGet(port, "/",
                  {{"x-backend-respond-header", "grpc-status: " + std::to_string(code)}});
}

TEST(GrpcRetryTest, MatchingGrpcStatusIsRetriedUntilTheRetriesRunOut) {
  HttpBackend backend("grpc");
  MeshProxy proxy(httpBootstrap(
      catchAllRoutes("backend", "retry_policy: { retry_on: \"unavailable,cancelled\", "
                                "num_retries: 2, retry_back_off: { base_interval: 0.002s } }"),
      {{"backend", {backend.port()}}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");

  const auto unavailable = grpcFailure(port, 14);
  EXPECT_EQ(unavailable.status, 200);
  EXPECT_EQ(unavailable.header("grpc-status"), "14") << "the last attempt's answer";
  EXPECT_EQ(backend.requestCount(), 3u) << "one attempt and two retries";
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_rq_retry"), "2");
  EXPECT_EQ(statOf(proxy, "cluster.backend.upstream_rq_retry_limit_exceeded"), "1");

  EXPECT_EQ(grpcFailure(port, 1).header("grpc-status"), "1");
  EXPECT_EQ(backend.requestCount(), 6u) << "cancelled is retried too";
  EXPECT_EQ(grpcFailure(port, 5).header("grpc-status"), "5");
  EXPECT_EQ(backend.requestCount(), 7u) << "NOT_FOUND is not a retry condition";
  EXPECT_EQ(fetchGet(port, "/").status, 200);
  EXPECT_EQ(backend.requestCount(), 8u) << "no grpc-status: nothing to retry";
}

TEST(GrpcRetryTest, GrpcStatusIsNotRetriedWithoutItsCondition) {
  HttpBackend backend("grpc");
  MeshProxy proxy(httpBootstrap(
      catchAllRoutes("backend", "retry_policy: { retry_on: \"5xx,internal\", num_retries: 2 }"),
      {{"backend", {backend.port()}}}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  EXPECT_EQ(grpcFailure(port, 14).header("grpc-status"), "14");
  EXPECT_EQ(backend.requestCount(), 1u);
  EXPECT_EQ(grpcFailure(port, 13).header("grpc-status"), "13");
  EXPECT_EQ(backend.requestCount(), 4u) << "internal (13) is listed";
}

} // namespace
} // namespace meshd::testing
