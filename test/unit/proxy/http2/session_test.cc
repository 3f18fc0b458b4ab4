// Unit tests for the HTTP/2 Session: a ClientSession and a ServerSession talking in memory.
#include <string>

#include "proxy/http/http2/client_session.h"
#include "proxy/http/http2/server_session.h"
#include "session_pair.h"
#include "gtest/gtest.h"

namespace meshd::proxy::http::http2 {
namespace {

using testing::RecordingHandler;
using testing::requestHeaders;
using testing::responseHeaders;
using testing::SessionPair;

TEST(Http2SessionTest, RequestAndResponseWithBodies) {
  SessionPair pair;
  HeaderMap request = requestHeaders("POST", "/upload");
  request.add("content-type", "text/plain");
  RecordingHandler& client_stream = pair.request(request, false);
  EXPECT_TRUE(pair.client.sendData(client_stream.streamId, "hello ", false));
  EXPECT_TRUE(pair.client.sendData(client_stream.streamId, "world", true));
  pair.pump();

  ASSERT_EQ(pair.serverEnd.streams.size(), 1u);
  RecordingHandler& server_stream = pair.serverEnd.stream(client_stream.streamId);
  ASSERT_TRUE(server_stream.head);
  EXPECT_EQ(server_stream.head->method(), "POST");
  EXPECT_EQ(server_stream.head->path(), "/upload");
  EXPECT_EQ(server_stream.head->authority(), "backend.test");
  EXPECT_EQ(server_stream.head->get(":scheme"), "http");
  EXPECT_EQ(server_stream.head->get("content-type"), "text/plain");
  EXPECT_FALSE(server_stream.headEndStream);
  EXPECT_EQ(server_stream.body, "hello world");
  EXPECT_TRUE(server_stream.dataEnded);

  HeaderMap response = responseHeaders(201);
  response.add("x-answer", "yes");
  ASSERT_TRUE(pair.server.respond(client_stream.streamId, response, false).ok());
  EXPECT_TRUE(pair.server.sendData(client_stream.streamId, "created", true));
  pair.pump();

  ASSERT_TRUE(client_stream.head);
  EXPECT_EQ(client_stream.head->status(), 201);
  EXPECT_EQ(client_stream.head->get("x-answer"), "yes");
  EXPECT_EQ(client_stream.body, "created");
  EXPECT_TRUE(client_stream.dataEnded);
  ASSERT_TRUE(client_stream.closed);
  EXPECT_EQ(client_stream.closed->errorCode, NGHTTP2_NO_ERROR);
  EXPECT_FALSE(client_stream.closed->resetByPeer);
  ASSERT_TRUE(server_stream.closed);
  EXPECT_EQ(server_stream.closed->errorCode, NGHTTP2_NO_ERROR);
  EXPECT_EQ(pair.client.activeStreams(), 0u);
  EXPECT_EQ(pair.server.activeStreams(), 0u);
  EXPECT_GE(client_stream.drainedCount, 1); // the request body went out
}

TEST(Http2SessionTest, HeadOnlyExchange) {
  SessionPair pair;
  RecordingHandler& client_stream = pair.request(requestHeaders("GET", "/"), true);
  pair.pump();
  RecordingHandler& server_stream = pair.serverEnd.stream(client_stream.streamId);
  EXPECT_TRUE(server_stream.headEndStream);
  ASSERT_TRUE(pair.server.respond(client_stream.streamId, responseHeaders(204), true).ok());
  pair.pump();
  ASSERT_TRUE(client_stream.head);
  EXPECT_EQ(client_stream.head->status(), 204);
  EXPECT_TRUE(client_stream.headEndStream);
  ASSERT_TRUE(client_stream.closed);
  EXPECT_EQ(client_stream.closed->errorCode, NGHTTP2_NO_ERROR);
}

TEST(Http2SessionTest, TrailersBothWays) {
  SessionPair pair;
  HeaderMap request = requestHeaders("POST", "/pkg.Service/Method");
  request.add("te", "trailers");
  request.add("content-type", "application/grpc");
  RecordingHandler& client_stream = pair.request(request, false);
  HeaderMap request_trailers;
  request_trailers.add("x-checksum", "abc");
  EXPECT_TRUE(pair.client.sendData(client_stream.streamId, "msg", false));
  EXPECT_TRUE(pair.client.sendTrailers(client_stream.streamId, request_trailers));
  // Nothing more can be sent after the end.
  EXPECT_FALSE(pair.client.sendData(client_stream.streamId, "late", false));
  pair.pump();

  RecordingHandler& server_stream = pair.serverEnd.stream(client_stream.streamId);
  EXPECT_EQ(server_stream.head->get("te"), "trailers"); // the one TE value HTTP/2 allows
  EXPECT_EQ(server_stream.body, "msg");
  ASSERT_TRUE(server_stream.trailers);
  EXPECT_EQ(server_stream.trailers->get("x-checksum"), "abc");

  HeaderMap response_trailers;
  response_trailers.add("grpc-status", "0");
  response_trailers.add("grpc-message", "ok");
  ASSERT_TRUE(pair.server.respond(client_stream.streamId, responseHeaders(200), false).ok());
  EXPECT_TRUE(pair.server.sendData(client_stream.streamId, "reply", false));
  EXPECT_TRUE(pair.server.sendTrailers(client_stream.streamId, response_trailers));
  pair.pump();

  EXPECT_EQ(client_stream.body, "reply");
  EXPECT_FALSE(client_stream.dataEnded); // the trailers ended it, not a DATA frame
  ASSERT_TRUE(client_stream.trailers);
  EXPECT_EQ(client_stream.trailers->get("grpc-status"), "0");
  EXPECT_EQ(client_stream.trailers->get("grpc-message"), "ok");
  ASSERT_TRUE(client_stream.closed);
  EXPECT_EQ(client_stream.closed->errorCode, NGHTTP2_NO_ERROR);
}

TEST(Http2SessionTest, ManyConcurrentStreams) {
  SessionPair pair;
  constexpr int kStreams = 90; // below the 100 a client assumes before the server's SETTINGS
  for (int i = 0; i < kStreams; ++i) {
    pair.request(requestHeaders("POST", "/item/" + std::to_string(i)), false);
  }
  for (auto& stream : pair.clientStreams) {
    pair.client.sendData(stream->streamId, "body-" + std::to_string(stream->streamId), true);
  }
  pair.pump();
  ASSERT_EQ(pair.serverEnd.streams.size(), static_cast<size_t>(kStreams));
  EXPECT_EQ(pair.server.activeStreams(), static_cast<size_t>(kStreams));
  // Answer in reverse order: streams are independent.
  for (auto it = pair.serverEnd.streams.rbegin(); it != pair.serverEnd.streams.rend(); ++it) {
    RecordingHandler& stream = *it->second;
    EXPECT_EQ(stream.body, "body-" + std::to_string(stream.streamId));
    ASSERT_TRUE(pair.server.respond(stream.streamId, responseHeaders(200), false).ok());
    pair.server.sendData(stream.streamId, std::string(stream.head->path()), true);
  }
  pair.pump();
  for (int i = 0; i < kStreams; ++i) {
    RecordingHandler& stream = *pair.clientStreams[static_cast<size_t>(i)];
    EXPECT_EQ(stream.body, "/item/" + std::to_string(i));
    ASSERT_TRUE(stream.closed);
    EXPECT_EQ(stream.closed->errorCode, NGHTTP2_NO_ERROR);
  }
  EXPECT_EQ(pair.client.activeStreams(), 0u);
}

TEST(Http2SessionTest, ReceiverThatDoesNotConsumeStopsTheSenderAtTheWindow) {
  SessionSettings server_settings;
  server_settings.initialStreamWindowSize = 16384;
  server_settings.initialConnectionWindowSize = 1024 * 1024;
  SessionPair pair({}, server_settings);
  pair.serverEnd.consumeData = false;
  const std::string body(100 * 1024, 'x');
  RecordingHandler& client_stream = pair.request(requestHeaders("POST", "/big"), false);
  pair.pump(); // the client learns the server's window (before, it may use the RFC's 65535)
  pair.client.sendData(client_stream.streamId, body, true);
  pair.pump();

  RecordingHandler& server_stream = pair.serverEnd.stream(client_stream.streamId);
  EXPECT_EQ(server_stream.body.size(), 16384u);
  EXPECT_EQ(pair.server.unconsumedBytes(), 16384u);
  EXPECT_EQ(pair.client.queuedBytes(client_stream.streamId), body.size() - 16384);
  EXPECT_EQ(client_stream.drainedCount, 0);

  // Consuming part of it lets exactly that much more through.
  pair.server.consume(server_stream.streamId, 8192);
  pair.pump();
  EXPECT_EQ(server_stream.body.size(), 16384u + 8192u);

  // Consuming everything as it arrives finishes the body.
  for (int round = 0; round < 100 && !server_stream.dataEnded; ++round) {
    pair.server.consume(server_stream.streamId, server_stream.body.size());
    pair.pump();
  }
  EXPECT_EQ(server_stream.body, body);
  EXPECT_TRUE(server_stream.dataEnded);
  EXPECT_EQ(pair.client.queuedBytes(client_stream.streamId), 0u);
  EXPECT_GE(client_stream.drainedCount, 1);
}

TEST(Http2SessionTest, ConnectionWindowBoundsAllStreamsTogether) {
  SessionSettings client_settings;
  client_settings.initialStreamWindowSize = 65535;
  client_settings.initialConnectionWindowSize = 65535; // the RFC's initial value: no update sent
  SessionPair pair(client_settings, {});
  std::vector<RecordingHandler*> streams;
  for (int i = 0; i < 4; ++i) {
    RecordingHandler& stream = pair.request(requestHeaders("GET", "/s"), true);
    stream.consumeData = false;
    streams.push_back(&stream);
  }
  pair.pump();
  const std::string body(40000, 'y');
  for (RecordingHandler* stream : streams) {
    ASSERT_TRUE(pair.server.respond(stream->streamId, responseHeaders(200), false).ok());
    pair.server.sendData(stream->streamId, body, true);
  }
  pair.pump();
  size_t received = 0;
  for (RecordingHandler* stream : streams) {
    received += stream->body.size();
  }
  EXPECT_EQ(received, 65535u);
  EXPECT_EQ(pair.client.unconsumedBytes(), 65535u);
  // The first stream got its whole body and closed; what the owner did not consume still holds
  // the connection window. Discarding it lets the others go on.
  ASSERT_TRUE(streams[0]->closed);
  EXPECT_EQ(streams[0]->body.size(), body.size());
  pair.pump();
  EXPECT_EQ(pair.client.unconsumedBytes(), 65535u);
  pair.client.discard(streams[0]->streamId);
  for (int round = 0; round < 100; ++round) {
    for (size_t i = 1; i < streams.size(); ++i) {
      pair.client.consume(streams[i]->streamId, streams[i]->body.size());
    }
    pair.pump();
  }
  for (size_t i = 1; i < streams.size(); ++i) {
    EXPECT_EQ(streams[i]->body, body);
    ASSERT_TRUE(streams[i]->closed);
    EXPECT_EQ(streams[i]->closed->errorCode, NGHTTP2_NO_ERROR);
  }
  EXPECT_EQ(pair.client.unconsumedBytes(), 0u);
}

TEST(Http2SessionTest, ResetOfOneStreamLeavesTheOthers) {
  SessionPair pair;
  RecordingHandler& first = pair.request(requestHeaders("POST", "/1"), false);
  RecordingHandler& second = pair.request(requestHeaders("POST", "/2"), false);
  RecordingHandler& third = pair.request(requestHeaders("GET", "/3"), true);
  pair.pump();
  pair.client.resetStream(second.streamId, NGHTTP2_CANCEL);
  pair.pump();
  RecordingHandler& server_second = pair.serverEnd.stream(second.streamId);
  ASSERT_TRUE(server_second.closed);
  EXPECT_TRUE(server_second.closed->resetByPeer);
  EXPECT_EQ(server_second.closed->errorCode, NGHTTP2_CANCEL);
  EXPECT_FALSE(pair.client.hasStream(second.streamId));

  // The server resets the first; the third completes.
  pair.server.resetStream(first.streamId, NGHTTP2_INTERNAL_ERROR);
  ASSERT_TRUE(pair.server.respond(third.streamId, responseHeaders(200), false).ok());
  pair.server.sendData(third.streamId, "still here", true);
  pair.pump();
  ASSERT_TRUE(first.closed);
  EXPECT_TRUE(first.closed->resetByPeer);
  EXPECT_EQ(first.closed->errorCode, NGHTTP2_INTERNAL_ERROR);
  EXPECT_FALSE(first.head);
  EXPECT_EQ(third.body, "still here");
  ASSERT_TRUE(third.closed);
  EXPECT_EQ(third.closed->errorCode, NGHTTP2_NO_ERROR);
  EXPECT_FALSE(second.closed);
  EXPECT_FALSE(pair.clientEnd.done);
  EXPECT_FALSE(pair.serverEnd.done);
}

TEST(Http2SessionTest, StreamsAboveMaxConcurrentStreamsAreRefused) {
  SessionSettings server_settings;
  server_settings.maxConcurrentStreams = 2;
  SessionPair pair({}, server_settings);
  // Opened before the server's SETTINGS reached the client (it assumes 100).
  for (int i = 0; i < 4; ++i) {
    pair.request(requestHeaders("GET", "/" + std::to_string(i)), true);
  }
  pair.pump();
  EXPECT_EQ(pair.serverEnd.streams.size(), 2u);
  for (size_t i = 2; i < 4; ++i) {
    const RecordingHandler& stream = *pair.clientStreams[i];
    ASSERT_TRUE(stream.closed);
    EXPECT_EQ(stream.closed->errorCode, NGHTTP2_REFUSED_STREAM);
    EXPECT_FALSE(stream.head);
  }
  // Now the client knows the limit.
  EXPECT_EQ(pair.client.peerMaxConcurrentStreams(), 2u);
  EXPECT_FALSE(pair.client.canOpenStream());
  ASSERT_TRUE(
      pair.server.respond(pair.clientStreams[0]->streamId, responseHeaders(200), true).ok());
  pair.pump();
  EXPECT_TRUE(pair.client.canOpenStream());
}

TEST(Http2SessionTest, OwnerCanRefuseAStream) {
  SessionPair pair;
  pair.serverEnd.refuse = [](int32_t id) { return id == 3; };
  RecordingHandler& accepted = pair.request(requestHeaders("GET", "/a"), true);
  RecordingHandler& refused = pair.request(requestHeaders("GET", "/b"), true);
  pair.pump();
  ASSERT_TRUE(refused.closed);
  EXPECT_EQ(refused.closed->errorCode, NGHTTP2_REFUSED_STREAM);
  EXPECT_TRUE(refused.closed->resetByPeer);
  EXPECT_FALSE(accepted.closed);
  EXPECT_EQ(pair.serverEnd.streams.count(accepted.streamId), 1u);
}

TEST(Http2SessionTest, GracefulGoAwayFinishesOpenStreamsAndRefusesLaterOnes) {
  SessionPair pair;
  RecordingHandler& processed = pair.request(requestHeaders("GET", "/first"), true);
  pair.pump();
  // This one is still in the client's output when the server says GOAWAY.
  RecordingHandler& late = pair.request(requestHeaders("GET", "/late"), true);
  pair.server.shutdownGracefully();
  EXPECT_TRUE(pair.server.goingAway());
  pair.pump();

  ASSERT_TRUE(pair.clientEnd.goAwayLastStream);
  EXPECT_EQ(*pair.clientEnd.goAwayLastStream, processed.streamId);
  EXPECT_TRUE(pair.client.goAwayReceived());
  EXPECT_FALSE(pair.client.canOpenStream());
  RecordingHandler unused;
  EXPECT_FALSE(pair.client.startRequest(requestHeaders("GET", "/x"), true, unused).ok());
  ASSERT_TRUE(late.closed);
  EXPECT_EQ(late.closed->errorCode, NGHTTP2_REFUSED_STREAM);
  EXPECT_EQ(pair.serverEnd.streams.count(late.streamId), 0u);

  // The processed stream still completes; then both sessions are done.
  EXPECT_FALSE(pair.serverEnd.done);
  ASSERT_TRUE(pair.server.respond(processed.streamId, responseHeaders(200), false).ok());
  pair.server.sendData(processed.streamId, "last", true);
  pair.pump();
  EXPECT_EQ(processed.body, "last");
  ASSERT_TRUE(processed.closed);
  EXPECT_EQ(processed.closed->errorCode, NGHTTP2_NO_ERROR);
  EXPECT_TRUE(pair.serverEnd.done);
  EXPECT_TRUE(pair.clientEnd.done);
}

TEST(Http2SessionTest, ConnectionLossEndsOpenStreams) {
  SessionPair pair;
  RecordingHandler& stream = pair.request(requestHeaders("GET", "/"), true);
  pair.pump();
  pair.client.closeAllStreams();
  ASSERT_TRUE(stream.closed);
  EXPECT_TRUE(stream.closed->connectionLost);
  EXPECT_EQ(pair.client.activeStreams(), 0u);
  pair.server.closeAllStreams();
  ASSERT_TRUE(pair.serverEnd.stream(stream.streamId).closed);
  EXPECT_TRUE(pair.serverEnd.stream(stream.streamId).closed->connectionLost);
}

TEST(Http2SessionTest, InterimResponsesAreNotReported) {
  SessionPair pair;
  HeaderMap request = requestHeaders("POST", "/");
  request.add("expect", "100-continue");
  RecordingHandler& stream = pair.request(request, false);
  pair.pump();
  ASSERT_TRUE(pair.server.respond(stream.streamId, responseHeaders(100), false).ok());
  pair.pump();
  EXPECT_FALSE(stream.head);
  pair.client.sendData(stream.streamId, "data", true);
  pair.pump();
  ASSERT_TRUE(pair.server.respond(stream.streamId, responseHeaders(200), true).ok());
  pair.pump();
  ASSERT_TRUE(stream.head);
  EXPECT_EQ(stream.head->status(), 200);
}

} // namespace
} // namespace meshd::proxy::http::http2

namespace meshd::proxy::http::http2 {
namespace {

TEST(Http2SessionTest, MalformedResponseResetsTheStreamOnTheClient) {
  SessionSettings client_settings;
  client_settings.maxHeaderListSize = 1024;
  SessionPair pair(client_settings, {});
  testing::RecordingHandler& bad = pair.request(testing::requestHeaders("GET", "/bad"), true);
  testing::RecordingHandler& good = pair.request(testing::requestHeaders("GET", "/good"), true);
  pair.pump();
  HeaderMap oversized = testing::responseHeaders(200);
  oversized.add("x-big", std::string(2000, 'z'));
  ASSERT_TRUE(pair.server.respond(bad.streamId, oversized, true).ok());
  ASSERT_TRUE(pair.server.respond(good.streamId, testing::responseHeaders(200), true).ok());
  pair.pump();
  EXPECT_FALSE(bad.head);
  ASSERT_TRUE(bad.closed);
  EXPECT_EQ(bad.closed->errorCode, NGHTTP2_PROTOCOL_ERROR);
  EXPECT_FALSE(bad.closed->resetByPeer);
  ASSERT_TRUE(good.head);
  EXPECT_EQ(good.head->status(), 200);
}

} // namespace
} // namespace meshd::proxy::http::http2

namespace meshd::proxy::http::http2 {
namespace {

TEST(Http2SessionTest, PausedOutputKeepsDataInTheStreamQueue) {
  SessionPair pair;
  testing::RecordingHandler& stream =
      pair.request(testing::requestHeaders("POST", "/slow-socket"), false);
  pair.pump();
  pair.client.pauseOutput();
  EXPECT_TRUE(pair.client.sendData(stream.streamId, std::string(1000, 'q'), true));
  pair.pump();
  EXPECT_TRUE(pair.clientEnd.output.empty());
  EXPECT_EQ(pair.client.queuedBytes(stream.streamId), 1000u);
  EXPECT_EQ(pair.serverEnd.stream(stream.streamId).body, "");
  pair.client.resumeOutput();
  pair.pump();
  EXPECT_EQ(pair.client.queuedBytes(stream.streamId), 0u);
  EXPECT_EQ(pair.serverEnd.stream(stream.streamId).body, std::string(1000, 'q'));
  EXPECT_TRUE(pair.serverEnd.stream(stream.streamId).dataEnded);
}

} // namespace
} // namespace meshd::proxy::http::http2
