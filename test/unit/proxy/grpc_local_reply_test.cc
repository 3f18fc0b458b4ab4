// Unit tests for gRPC local replies (grpc_local_reply.h) and the hop-by-hop field rules
// (hop_by_hop.h) that HTTP/2 requests share with HTTP/1.1 ones.
#include "proxy/http/grpc_local_reply.h"
#include "proxy/http/hop_by_hop.h"

#include "gtest/gtest.h"

namespace meshd::proxy::http {
namespace {

TEST(GrpcLocalReplyTest, HttpStatusesMapAsEnvoyDoes) {
  EXPECT_EQ(grpcStatusFromHttp(400), 13u); // INTERNAL
  EXPECT_EQ(grpcStatusFromHttp(401), 16u); // UNAUTHENTICATED
  EXPECT_EQ(grpcStatusFromHttp(403), 7u);  // PERMISSION_DENIED
  EXPECT_EQ(grpcStatusFromHttp(404), 12u); // UNIMPLEMENTED
  for (const int unavailable : {429, 502, 503, 504}) {
    EXPECT_EQ(grpcStatusFromHttp(unavailable), 14u) << unavailable;
  }
  for (const int unknown : {200, 408, 418, 431, 500}) {
    EXPECT_EQ(grpcStatusFromHttp(unknown), 2u) << unknown;
  }
}

TEST(GrpcLocalReplyTest, TrailersOnlyHeadCarriesTheStatusAndTheMessage) {
  const HeaderMap headers = grpcLocalReplyHeaders(503, "no healthy upstream", std::nullopt);
  EXPECT_EQ(headers.get(":status"), "200");
  EXPECT_EQ(headers.get("content-type"), "application/grpc");
  EXPECT_EQ(headers.get("grpc-status"), "14");
  EXPECT_EQ(headers.get("grpc-message"), "no healthy upstream");
  EXPECT_FALSE(headers.has("content-length"));

  const HeaderMap overridden = grpcLocalReplyHeaders(200, "fault filter abort", 8u);
  EXPECT_EQ(overridden.get("grpc-status"), "8");
  // No body text: no grpc-message.
  EXPECT_FALSE(grpcLocalReplyHeaders(404, "", std::nullopt).has("grpc-message"));
}

TEST(GrpcLocalReplyTest, MessageIsPercentEncoded) {
  EXPECT_EQ(percentEncodeGrpcMessage("plain text: ok"), "plain text: ok");
  EXPECT_EQ(percentEncodeGrpcMessage("100% sure\r\n"), "100%25 sure%0D%0A");
  EXPECT_EQ(percentEncodeGrpcMessage("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(HopByHopTest, ConnectionSpecificFieldsGoAndTeTrailersStaysOnlyWhenAsked) {
  HeaderMap headers;
  headers.add("connection", "keep-alive, x-private");
  headers.add("x-private", "1");
  headers.add("keep-alive", "timeout=5");
  headers.add("te", "trailers");
  headers.add("x-request-id", "abc");
  HeaderMap http2 = headers;
  removeHopByHop(headers);
  EXPECT_FALSE(headers.has("x-private"));
  EXPECT_FALSE(headers.has("keep-alive"));
  EXPECT_FALSE(headers.has("te"));
  EXPECT_EQ(headers.get("x-request-id"), "abc");
  removeHopByHop(http2, true);
  EXPECT_EQ(http2.get("te"), "trailers");
  EXPECT_FALSE(http2.has("connection"));

  HeaderMap other;
  other.add("te", "gzip");
  removeHopByHop(other, true);
  EXPECT_FALSE(other.has("te"));
}

} // namespace
} // namespace meshd::proxy::http
