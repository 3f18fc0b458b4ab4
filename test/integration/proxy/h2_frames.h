// HTTP/2 frames written and read by hand, for the tests that need what curl and nghttp cannot be
// made to do (a stream reset mid-request, a connection kept open across a config change).
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "test/support/http_backend.h"

namespace meshd::testing {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id,
                         const std::string& payload) {
  std::string out;
  out += static_cast<char>((payload.size() >> 16) & 0xff);
  out += static_cast<char>((payload.size() >> 8) & 0xff);
  out += static_cast<char>(payload.size() & 0xff);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  for (const int shift : {24, 16, 8, 0}) {
    out += static_cast<char>((stream_id >> shift) & 0xff);
  }
  return out + payload;
}

constexpr uint8_t kHeadersFrame = 0x1;
constexpr uint8_t kRstStreamFrame = 0x3;
constexpr uint8_t kSettingsFrame = 0x4;
constexpr uint8_t kGoAwayFrame = 0x7;
constexpr uint8_t kEndStream = 0x1;
constexpr uint8_t kEndHeaders = 0x4;

constexpr uint8_t kDataFrame = 0x0;

// A request head as one HEADERS frame of HPACK literal fields (no indexing, no Huffman; short
// strings); `end_stream`: no body follows.
inline std::string requestHead(uint32_t stream_id, const std::string& method,
                               const std::string& path, uint16_t port, bool end_stream) {
  std::string block;
  for (const auto& [name, value] : HeaderList{{":method", method},
                                              {":scheme", "http"},
                                              {":path", path},
                                              {":authority", fmt::format("127.0.0.1:{}", port)}}) {
    block += '\0';
    block += static_cast<char>(name.size());
    block += name;
    block += static_cast<char>(value.size());
    block += value;
  }
  return frame(kHeadersFrame, end_stream ? kEndHeaders | kEndStream : kEndHeaders, stream_id,
               block);
}

inline std::string getRequest(uint32_t stream_id, const std::string& path, uint16_t port) {
  return requestHead(stream_id, "GET", path, port, true);
}

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t streamId = 0;
};

// Reads frames until `until` says stop, the peer closes, or 10 s pass; the frames read.
inline std::vector<Frame> readFrames(int fd, const std::function<bool(const Frame&)>& until) {
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string bytes;
  std::vector<Frame> frames;
  char buffer[4096];
  while (true) {
    while (bytes.size() >= 9) {
      const size_t length = (static_cast<size_t>(static_cast<uint8_t>(bytes[0])) << 16) |
                            (static_cast<size_t>(static_cast<uint8_t>(bytes[1])) << 8) |
                            static_cast<uint8_t>(bytes[2]);
      if (bytes.size() < 9 + length) {
        break;
      }
      Frame next{.type = static_cast<uint8_t>(bytes[3]), .flags = static_cast<uint8_t>(bytes[4])};
      for (size_t i = 5; i < 9; ++i) {
        next.streamId = (next.streamId << 8) | static_cast<uint8_t>(bytes[i]);
      }
      next.streamId &= 0x7fffffff;
      frames.push_back(next);
      bytes.erase(0, 9 + length);
      if (until(next)) {
        return frames;
      }
    }
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      return frames;
    }
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

inline bool hasFrame(const std::vector<Frame>& frames, uint8_t type, uint32_t stream_id = 0) {
  return std::any_of(frames.begin(), frames.end(), [&](const Frame& seen) {
    return seen.type == type && seen.streamId == stream_id;
  });
}

} // namespace meshd::testing
