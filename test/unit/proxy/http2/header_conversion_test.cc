// Unit tests for HeaderMap -> HTTP/2 header block conversion and the received-field checks.
#include "proxy/http/http2/header_conversion.h"

#include <string>

#include "gtest/gtest.h"

namespace meshd::proxy::http::http2 {
namespace {

std::vector<std::string> names(const OutgoingHeaders& headers) {
  std::vector<std::string> out;
  for (const auto& field : headers.fields()) {
    out.emplace_back(reinterpret_cast<const char*>(field.name), field.namelen);
  }
  return out;
}

TEST(Http2HeaderConversionTest, Http1RequestBecomesValidHttp2) {
  HeaderMap source;
  source.add("x-first", "1");
  source.add(":method", "POST");
  source.add(":path", "/p");
  source.add("host", "svc.test");
  source.add("connection", "keep-alive, x-hop");
  source.add("keep-alive", "timeout=5");
  source.add("x-hop", "dropped");
  source.add("transfer-encoding", "chunked");
  source.add("upgrade", "h2c");
  source.add("proxy-connection", "x");
  source.add("te", "gzip");
  source.add("content-type", "a/b");
  OutgoingHeaders out;
  ASSERT_TRUE(OutgoingHeaders::build(source, MessageKind::kRequest, "http", out).ok());
  EXPECT_EQ(names(out), (std::vector<std::string>{":method", ":path", ":authority", ":scheme",
                                                  "x-first", "content-type"}));
  EXPECT_EQ(out.headers().authority(), "svc.test");
  EXPECT_EQ(out.headers().get(":scheme"), "http");
}

TEST(Http2HeaderConversionTest, TeTrailersIsKept) {
  HeaderMap source;
  source.add(":method", "POST");
  source.add(":path", "/");
  source.add(":authority", "a");
  source.add(":scheme", "https");
  source.add("te", "Trailers");
  OutgoingHeaders out;
  ASSERT_TRUE(OutgoingHeaders::build(source, MessageKind::kRequest, "http", out).ok());
  EXPECT_EQ(out.headers().get("te"), "Trailers");
  EXPECT_EQ(out.headers().get(":scheme"), "https");
}

TEST(Http2HeaderConversionTest, ConnectHasNoSchemeOrPath) {
  HeaderMap source;
  source.add(":method", "CONNECT");
  source.add(":authority", "db:5432");
  source.add(":path", "db:5432");
  OutgoingHeaders out;
  ASSERT_TRUE(OutgoingHeaders::build(source, MessageKind::kRequest, "http", out).ok());
  EXPECT_EQ(names(out), (std::vector<std::string>{":method", ":authority"}));
}

TEST(Http2HeaderConversionTest, MissingPseudoHeadersFail) {
  HeaderMap no_path;
  no_path.add(":method", "GET");
  OutgoingHeaders out;
  EXPECT_FALSE(OutgoingHeaders::build(no_path, MessageKind::kRequest, "http", out).ok());
  HeaderMap no_status;
  no_status.add("x", "1");
  EXPECT_FALSE(OutgoingHeaders::build(no_status, MessageKind::kResponse, "", out).ok());
}

TEST(Http2HeaderConversionTest, ResponseAndTrailersKeepOnlyTheirPseudoHeaders) {
  HeaderMap source;
  source.add("server", "x");
  source.add(":status", "200");
  source.add(":path", "/not-here");
  OutgoingHeaders out;
  ASSERT_TRUE(OutgoingHeaders::build(source, MessageKind::kResponse, "", out).ok());
  EXPECT_EQ(names(out), (std::vector<std::string>{":status", "server"}));
  ASSERT_TRUE(OutgoingHeaders::build(source, MessageKind::kTrailers, "", out).ok());
  EXPECT_EQ(names(out), (std::vector<std::string>{"server"}));
}

TEST(Http2HeaderConversionTest, ReceivedFieldChecks) {
  EXPECT_TRUE(checkReceivedField("x-a", "v", MessageKind::kRequest).ok());
  EXPECT_TRUE(checkReceivedField(":path", "/", MessageKind::kRequest).ok());
  EXPECT_TRUE(checkReceivedField("te", "trailers", MessageKind::kRequest).ok());
  EXPECT_FALSE(checkReceivedField("X-A", "v", MessageKind::kRequest).ok());
  EXPECT_FALSE(checkReceivedField("", "v", MessageKind::kRequest).ok());
  EXPECT_FALSE(checkReceivedField(":status", "200", MessageKind::kRequest).ok());
  EXPECT_FALSE(checkReceivedField(":path", "/", MessageKind::kResponse).ok());
  EXPECT_FALSE(checkReceivedField(":status", "200", MessageKind::kTrailers).ok());
  EXPECT_FALSE(checkReceivedField("connection", "close", MessageKind::kResponse).ok());
  EXPECT_FALSE(checkReceivedField("te", "gzip", MessageKind::kRequest).ok());
  EXPECT_FALSE(checkReceivedField("x-a", std::string("a\0b", 3), MessageKind::kRequest).ok());
  EXPECT_FALSE(checkReceivedField("x-a", "a\rb", MessageKind::kRequest).ok());
}

TEST(Http2HeaderConversionTest, ReceivedCookieCrumbsAreJoinedAndHostBecomesAuthority) {
  HeaderMap head;
  head.add(":method", "GET");
  head.add(":path", "/");
  head.add(":scheme", "http");
  head.add("cookie", "a=1");
  head.add("host", "svc.test");
  head.add("cookie", "b=2");
  normalizeReceivedHead(head, MessageKind::kRequest);
  EXPECT_EQ(head.count("cookie"), 1u);
  EXPECT_EQ(head.get("cookie"), "a=1; b=2");
  EXPECT_EQ(head.authority(), "svc.test");
  EXPECT_FALSE(head.has("host"));
  EXPECT_EQ(head.entries()[3].first, ":authority"); // with the other pseudo-headers
  HeaderMap with_authority;
  with_authority.add(":authority", "a.test");
  with_authority.add("host", "b.test");
  normalizeReceivedHead(with_authority, MessageKind::kRequest);
  EXPECT_EQ(with_authority.authority(), "a.test");
}

} // namespace
} // namespace meshd::proxy::http::http2
