// Unit tests for Buffer and WatermarkBuffer.
#include "core/buffer.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace meshd::core {
namespace {

TEST(BufferTest, AddDrainAndToString) {
  Buffer buffer;
  EXPECT_TRUE(buffer.empty());
  buffer.add("hello ");
  buffer.add("world");
  EXPECT_EQ(buffer.length(), 11u);
  EXPECT_EQ(buffer.toString(), "hello world");
  buffer.drain(6);
  EXPECT_EQ(buffer.toString(), "world");
  buffer.drain(5);
  EXPECT_TRUE(buffer.empty());
}

TEST(BufferTest, LargeAddsSpanSlices) {
  Buffer buffer;
  const std::string big(Buffer::kDefaultSliceSize * 3 + 17, 'x');
  buffer.add("a");
  buffer.add(big);
  buffer.add("b");
  EXPECT_EQ(buffer.length(), big.size() + 2);
  EXPECT_EQ(buffer.toString(), "a" + big + "b");
  buffer.drain(Buffer::kDefaultSliceSize + 5);
  EXPECT_EQ(buffer.length(), big.size() + 2 - Buffer::kDefaultSliceSize - 5);
}

TEST(BufferTest, PrependUsesHeadroomOrNewSlice) {
  Buffer drained("hello world");
  drained.drain(6);
  drained.prepend("HELLO "); // fits in the headroom the drain left
  EXPECT_EQ(drained.toString(), "HELLO world");
  EXPECT_EQ(drained.sliceCount(), 1u);

  Buffer fresh("world");
  fresh.prepend("hello ");
  EXPECT_EQ(fresh.sliceCount(), 2u);
  fresh.prepend(">"); // the new front slice keeps headroom for more
  EXPECT_EQ(fresh.sliceCount(), 2u);
  EXPECT_EQ(fresh.toString(), ">hello world");
}

TEST(BufferTest, MoveWholeAndPartial) {
  Buffer source("0123456789");
  Buffer target("ab");
  target.move(source, 4);
  EXPECT_EQ(target.toString(), "ab0123");
  EXPECT_EQ(source.toString(), "456789");
  target.move(source);
  EXPECT_EQ(target.toString(), "ab0123456789");
  EXPECT_TRUE(source.empty());
}

TEST(BufferTest, MovePartialAcrossSlices) {
  Buffer source;
  const std::string first(Buffer::kDefaultSliceSize, 'a');
  source.add(first);
  source.add(std::string(100, 'b')); // second slice
  Buffer target;
  target.move(source, first.size() + 10);
  EXPECT_EQ(target.toString(), first + std::string(10, 'b'));
  EXPECT_EQ(source.toString(), std::string(90, 'b'));
}

TEST(BufferTest, CopyOutAcrossSlices) {
  Buffer buffer;
  buffer.add(std::string(Buffer::kDefaultSliceSize, 'a'));
  buffer.add(std::string(10, 'b'));
  char out[6];
  buffer.copyOut(Buffer::kDefaultSliceSize - 3, 6, out);
  EXPECT_EQ(std::string(out, 6), "aaabbb");
}

TEST(BufferTest, LinearizeMergesFrontSlices) {
  Buffer buffer;
  buffer.add(std::string(Buffer::kDefaultSliceSize, 'a'));
  buffer.add("bcd");
  const std::string_view front = buffer.linearize(Buffer::kDefaultSliceSize + 2);
  EXPECT_EQ(front.size(), Buffer::kDefaultSliceSize + 2);
  EXPECT_EQ(front.substr(front.size() - 3), "abc");
  EXPECT_EQ(buffer.toString(), std::string(Buffer::kDefaultSliceSize, 'a') + "bcd");
}

TEST(BufferTest, SearchFindsMatchesSpanningSlices) {
  Buffer buffer;
  buffer.add(std::string(Buffer::kDefaultSliceSize - 2, 'x'));
  buffer.add("\r\n\r\nbody"); // "\r\n" then a slice boundary then "\r\nbody"
  EXPECT_EQ(buffer.search("\r\n\r\n"), Buffer::kDefaultSliceSize - 2);
  EXPECT_EQ(buffer.search("body"), Buffer::kDefaultSliceSize + 2);
  EXPECT_EQ(buffer.search("nope"), Buffer::npos);
  EXPECT_EQ(buffer.search("x", Buffer::kDefaultSliceSize), Buffer::npos);
  EXPECT_EQ(buffer.search("", 3), 3u);
}

TEST(BufferTest, StartsWith) {
  Buffer buffer("GET / HTTP/1.1\r\n");
  EXPECT_TRUE(buffer.startsWith("GET "));
  EXPECT_FALSE(buffer.startsWith("POST"));
  EXPECT_FALSE(buffer.startsWith(std::string(100, 'G')));
}

TEST(BufferTest, ReserveAndCommit) {
  Buffer buffer("head:");
  auto space = buffer.reserve(64);
  ASSERT_GE(space.size(), 64u);
  std::memcpy(space.data(), "payload", 7);
  buffer.commit(7);
  EXPECT_EQ(buffer.toString(), "head:payload");
  // A reservation that reads nothing leaves no empty slice behind.
  const size_t slices = buffer.sliceCount();
  buffer.reserve(Buffer::kDefaultSliceSize * 2);
  buffer.commit(0);
  EXPECT_EQ(buffer.sliceCount(), slices);
}

TEST(BufferTest, SlicesForWritev) {
  Buffer buffer;
  buffer.add(std::string(Buffer::kDefaultSliceSize, 'a'));
  buffer.add("tail");
  std::span<const uint8_t> spans[4];
  const size_t n = buffer.slices(spans);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(spans[0].size() + spans[1].size(), buffer.length());
  std::span<const uint8_t> one[1];
  EXPECT_EQ(buffer.slices(one), 1u);
}

TEST(WatermarkBufferTest, CallbacksFireOncePerCrossing) {
  int above = 0;
  int below = 0;
  WatermarkBuffer buffer([&] { ++above; }, [&] { ++below; });
  buffer.setWatermarks(10, 20);
  buffer.add(std::string(20, 'a')); // at the high mark, not above
  EXPECT_EQ(above, 0);
  buffer.add("b");
  EXPECT_EQ(above, 1);
  EXPECT_TRUE(buffer.aboveHighWatermark());
  buffer.add(std::string(50, 'c'));
  EXPECT_EQ(above, 1);
  buffer.drain(55); // 16 left: between the marks
  EXPECT_EQ(below, 0);
  buffer.drain(6);
  EXPECT_EQ(below, 1);
  EXPECT_FALSE(buffer.aboveHighWatermark());
  buffer.drain(10);
  EXPECT_EQ(below, 1);
}

TEST(WatermarkBufferTest, MoveOutOfAFullBufferReleasesBackPressure) {
  int above = 0;
  int below = 0;
  WatermarkBuffer buffer([&] { ++above; }, [&] { ++below; });
  buffer.setWatermarks(100);
  buffer.add(std::string(150, 'x'));
  Buffer sink;
  sink.move(buffer);
  EXPECT_EQ(above, 1);
  EXPECT_EQ(below, 1);
}

TEST(WatermarkBufferTest, DisablingWhileAboveReleases) {
  int below = 0;
  WatermarkBuffer buffer([] {}, [&] { ++below; });
  buffer.setWatermarks(4);
  buffer.add("123456");
  buffer.setWatermarks(0);
  EXPECT_EQ(below, 1);
}

} // namespace
} // namespace meshd::core
