// Unit tests for HeaderMap.
#include "proxy/http/header_map.h"

#include "gtest/gtest.h"

namespace meshd::proxy::http {
namespace {

TEST(HeaderMapTest, NamesAreLowercasedAndOrderKept) {
  HeaderMap headers;
  headers.add("Content-Type", "text/plain");
  headers.add("X-A", "1");
  headers.add("x-a", "2");
  EXPECT_EQ(headers.get("content-type"), "text/plain");
  EXPECT_EQ(headers.get("x-a"), "1");
  EXPECT_EQ(headers.getJoined("x-a"), "1,2");
  EXPECT_EQ(headers.count("x-a"), 2u);
  EXPECT_EQ(headers.entries()[0].first, "content-type");
  EXPECT_EQ(headers.byteSize(), std::string("content-typetext/plainx-a1x-a2").size());
}

TEST(HeaderMapTest, SetReplacesAllAndKeepsOthersIntact) {
  HeaderMap headers;
  headers.add("a", "1");
  headers.add("b", "keep");
  headers.add("a", "2");
  headers.add("c", "also");
  headers.set("A", "3");
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers.getJoined("a"), "3");
  EXPECT_EQ(headers.get("b"), "keep");
  EXPECT_EQ(headers.get("c"), "also");
  headers.set("new", "x");
  EXPECT_EQ(headers.entries().back().first, "new");
}

TEST(HeaderMapTest, RemoveAndPseudoHeaders) {
  HeaderMap headers;
  headers.add(":status", "503");
  headers.add("x", "1");
  headers.add("X", "2");
  EXPECT_EQ(headers.remove("x"), 2u);
  EXPECT_EQ(headers.remove("x"), 0u);
  EXPECT_EQ(headers.status(), 503);
  EXPECT_EQ(headers.method(), "");
  EXPECT_FALSE(headers.get("missing").has_value());
}

} // namespace
} // namespace meshd::proxy::http
