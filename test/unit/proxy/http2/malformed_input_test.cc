// Unit tests for what a ServerSession does with input a well-behaved client never sends:
// malformed request heads (stream reset with PROTOCOL_ERROR, the connection lives on), a bad
// preface or a connection-level protocol error (GOAWAY and the end of the session), oversized
// header blocks. The misbehaving client is a raw nghttp2 session, which sends what it is given.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nghttp2/nghttp2.h"
#include "proxy/http/http2/server_session.h"
#include "session_pair.h"
#include "gtest/gtest.h"

namespace meshd::proxy::http::http2 {
namespace {

using testing::ServerEndpoint;

// A bare nghttp2 client: submits header blocks verbatim and records stream closes and GOAWAY.
class RawClient {
public:
  RawClient() {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_stream_close_callback(
        callbacks, [](nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self) {
          static_cast<RawClient*>(self)->closed[stream_id] = error_code;
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        callbacks, [](nghttp2_session*, const nghttp2_frame* frame, void* self) {
          auto& client = *static_cast<RawClient*>(self);
          if (frame->hd.type == NGHTTP2_GOAWAY) {
            client.goAwayError = frame->goaway.error_code;
          }
          if (frame->hd.type == NGHTTP2_HEADERS) {
            client.headers.push_back(frame->hd.stream_id);
          }
          return 0;
        });
    nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawClient() { nghttp2_session_del(session_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // `verbatim`: the names are sent as given (nghttp2 lowercases copied names); they must then
  // stay alive until exchange() sent them.
  int32_t submit(const std::vector<std::pair<std::string, std::string>>& fields,
                 bool verbatim = false) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
      nva.push_back(
          {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
           reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
           static_cast<uint8_t>(verbatim ? NGHTTP2_NV_FLAG_NO_COPY_NAME : NGHTTP2_NV_FLAG_NONE)});
    }
    return nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr, nullptr);
  }

  // Runs both sides until quiet.
  void exchange(ServerSession& server, ServerEndpoint& end) {
    for (int round = 0; round < 100; ++round) {
      core::Buffer out;
      const uint8_t* data = nullptr;
      ssize_t n = 0;
      while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
        out.add(std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
      }
      if (out.empty() && end.output.empty()) {
        return;
      }
      if (!out.empty()) {
        server.receive(out);
      }
      if (!end.output.empty()) {
        const std::string bytes = end.output.toString();
        end.output.clear();
        nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                 bytes.size());
      }
    }
  }

  nghttp2_session* raw() { return session_; }
  // Appends what the client has to send to `out` without delivering it.
  void collect(core::Buffer& out) {
    const uint8_t* data = nullptr;
    ssize_t n = 0;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out.add(std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
    }
  }

  std::map<int32_t, uint32_t> closed;
  std::vector<int32_t> headers;
  std::optional<uint32_t> goAwayError;

private:
  nghttp2_session* session_ = nullptr;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields validRequest(std::string path = "/") {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", path}};
}

class MalformedInputTest : public ::testing::Test {
protected:
  MalformedInputTest() : server(end) {
    end.session = &server;
    server.start();
  }

  // Sends one bad request and one good one after it: the bad stream is reset with
  // PROTOCOL_ERROR and never reaches the owner; the good one does, on the same connection.
  static void expectStreamReset(const Fields& bad) {
    ServerEndpoint end;
    ServerSession server(end);
    end.session = &server;
    server.start();
    RawClient client;
    const int32_t bad_id = client.submit(bad, true);
    const int32_t good_id = client.submit(validRequest("/after"));
    client.exchange(server, end);
    ASSERT_EQ(client.closed.count(bad_id), 1u);
    EXPECT_EQ(client.closed[bad_id], NGHTTP2_PROTOCOL_ERROR);
    EXPECT_EQ(end.streams.count(bad_id), 0u);
    ASSERT_EQ(end.streams.count(good_id), 1u);
    EXPECT_EQ(end.stream(good_id).head->path(), "/after");
    EXPECT_FALSE(end.done);
    EXPECT_FALSE(client.goAwayError);
  }

  ServerEndpoint end;
  ServerSession server;
};

TEST_F(MalformedInputTest, UppercaseHeaderName) {
  Fields fields = validRequest();
  fields.emplace_back("X-Upper", "1");
  expectStreamReset(fields);
}

TEST_F(MalformedInputTest, ConnectionSpecificHeaders) {
  for (const auto& [name, value] : Fields{{"connection", "close"},
                                          {"keep-alive", "5"},
                                          {"transfer-encoding", "chunked"},
                                          {"upgrade", "websocket"},
                                          {"proxy-connection", "x"},
                                          {"te", "gzip"}}) {
    SCOPED_TRACE(name);
    Fields fields = validRequest();
    fields.emplace_back(name, value);
    expectStreamReset(fields);
  }
}

TEST_F(MalformedInputTest, MissingOrUnknownPseudoHeaders) {
  expectStreamReset({{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}});
  expectStreamReset({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":status", "200"}});
  // Pseudo-headers after a regular field.
  expectStreamReset({{":method", "GET"}, {":scheme", "http"}, {"x-a", "1"}, {":path", "/"}});
}

TEST_F(MalformedInputTest, InvalidCharacters) {
  Fields name_with_space = validRequest();
  name_with_space.emplace_back("bad name", "1");
  expectStreamReset(name_with_space);
  Fields value_with_newline = validRequest();
  value_with_newline.emplace_back("x-a", "one\ntwo");
  expectStreamReset(value_with_newline);
}

TEST_F(MalformedInputTest, HeaderListAboveTheLimits) {
  Fields many = validRequest();
  for (int i = 0; i < 120; ++i) {
    many.emplace_back("x-h" + std::to_string(i), "v");
  }
  expectStreamReset(many);
  Fields big = validRequest();
  // 62 KiB: above our 60 KiB limit, below the 64 KiB nghttp2 would send.
  big.emplace_back("x-big-1", std::string(31 * 1024, 'b'));
  big.emplace_back("x-big-2", std::string(31 * 1024, 'b'));
  expectStreamReset(big);
}

TEST_F(MalformedInputTest, BadPrefaceEndsTheSession) {
  core::Buffer input("GET / HTTP/1.1\r\nhost: a\r\n\r\n");
  EXPECT_FALSE(server.receive(input));
  EXPECT_TRUE(end.done);
  EXPECT_TRUE(server.goingAway());
  // Nothing more is read.
  core::Buffer more("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_FALSE(server.receive(more));
}

TEST_F(MalformedInputTest, ConnectionLevelProtocolErrorSendsGoAway) {
  RawClient client;
  client.exchange(server, end); // preface and SETTINGS both ways
  ASSERT_FALSE(end.done);
  // A DATA frame on stream 0 is a connection error (RFC 9113 §6.1).
  const std::string frame("\x00\x00\x04\x00\x00\x00\x00\x00\x00"
                          "abcd",
                          13);
  core::Buffer input(frame);
  server.receive(input);
  EXPECT_TRUE(end.done);
  client.exchange(server, end); // delivers the server's last output
  ASSERT_TRUE(client.goAwayError);
  EXPECT_EQ(*client.goAwayError, NGHTTP2_PROTOCOL_ERROR);
}

TEST_F(MalformedInputTest, PingFloodEndsTheSession) {
  RawClient client;
  client.exchange(server, end);
  // Thousands of PINGs in one read: their ACKs would queue without bound (nghttp2's outbound
  // ACK limit is 1000).
  for (int i = 0; i < 3000; ++i) {
    nghttp2_submit_ping(client.raw(), NGHTTP2_FLAG_NONE, nullptr);
  }
  client.exchange(server, end);
  EXPECT_TRUE(end.done);
  EXPECT_TRUE(server.goingAway());
}

// Opens `count` streams and resets each at once, all in one read. The HEADERS must be on the wire
// before the RST_STREAM (nghttp2 drops both when the HEADERS are still unsent).
void openAndReset(RawClient& client, ServerSession& server, int count) {
  core::Buffer attack;
  for (int i = 0; i < count; ++i) {
    const int32_t id = client.submit(validRequest("/r"));
    ASSERT_GT(id, 0);
    client.collect(attack);
    nghttp2_submit_rst_stream(client.raw(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    client.collect(attack);
  }
  server.receive(attack);
}

TEST_F(MalformedInputTest, RapidResetEndsTheSession) {
  RawClient client;
  client.exchange(server, end);
  // Far above nghttp2's reset rate limit (a burst of 1000, then 33 per second).
  openAndReset(client, server, 1500);
  client.exchange(server, end);
  EXPECT_TRUE(end.done);
  ASSERT_TRUE(client.goAwayError);
  EXPECT_NE(*client.goAwayError, NGHTTP2_NO_ERROR);
}

TEST_F(MalformedInputTest, ResetsBelowTheBurstAreServed) {
  RawClient client;
  client.exchange(server, end);
  openAndReset(client, server, 900);
  client.exchange(server, end);
  EXPECT_FALSE(end.done);
  EXPECT_FALSE(client.goAwayError);
}

} // namespace
} // namespace meshd::proxy::http::http2
