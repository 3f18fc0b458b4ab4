// Test support for the HTTP/2 codec: a ClientSession and a ServerSession wired to each other in
// memory (pump() moves bytes until both sides are quiet), and handlers that record what a stream
// received.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "proxy/http/http2/client_session.h"
#include "proxy/http/http2/server_session.h"
#include "gtest/gtest.h"

namespace meshd::proxy::http::http2::testing {

// Records one stream's events; consumes received bytes at once unless `consumeData` is false.
class RecordingHandler : public StreamHandler {
public:
  Session* session = nullptr;
  int32_t streamId = 0;
  bool consumeData = true;
  std::function<void(RecordingHandler&)> onHeadHook;

  std::optional<HeaderMap> head;
  bool headEndStream = false;
  std::string body;
  bool dataEnded = false;
  std::optional<HeaderMap> trailers;
  std::optional<StreamClose> closed;
  int drainedCount = 0;

  bool remoteEnded() const { return headEndStream || dataEnded || trailers.has_value(); }

  void onHead(HeaderMap&& headers, bool end_stream) override {
    head = std::move(headers);
    headEndStream = end_stream;
    if (onHeadHook) {
      onHeadHook(*this);
    }
  }
  void onData(std::string_view data, bool end_stream) override {
    body.append(data);
    dataEnded = dataEnded || end_stream;
    if (consumeData && !data.empty()) {
      session->consume(streamId, data.size());
    }
  }
  void onTrailers(HeaderMap&& headers) override { trailers = std::move(headers); }
  void onClose(const StreamClose& close) override { closed = close; }
  void onSendDrained() override { ++drainedCount; }
};

class ClientEndpoint : public SessionCallbacks {
public:
  core::Buffer output;
  bool done = false;
  std::optional<int32_t> goAwayLastStream;

  void onOutput(core::Buffer& data) override { output.move(data); }
  void onGoAway(int32_t last_stream_id, uint32_t) override { goAwayLastStream = last_stream_id; }
  void onSessionDone() override { done = true; }
};

// Accepts every stream with a RecordingHandler (unless `refuse` says otherwise).
class ServerEndpoint : public ServerSession::Callbacks {
public:
  ServerSession* session = nullptr;
  core::Buffer output;
  bool done = false;
  bool consumeData = true;
  std::function<bool(int32_t)> refuse;
  std::function<void(RecordingHandler&)> onRequestHead;
  std::map<int32_t, std::unique_ptr<RecordingHandler>> streams;

  void onOutput(core::Buffer& data) override { output.move(data); }
  void onSessionDone() override { done = true; }
  StreamHandler* onNewStream(int32_t stream_id) override {
    if (refuse && refuse(stream_id)) {
      return nullptr;
    }
    auto handler = std::make_unique<RecordingHandler>();
    handler->session = session;
    handler->streamId = stream_id;
    handler->consumeData = consumeData;
    handler->onHeadHook = onRequestHead;
    RecordingHandler* raw = handler.get();
    streams[stream_id] = std::move(handler);
    return raw;
  }
  RecordingHandler& stream(int32_t stream_id) { return *streams.at(stream_id); }
};

class SessionPair {
public:
  explicit SessionPair(SessionSettings client_settings = {}, SessionSettings server_settings = {})
      : client(clientEnd, client_settings), server(serverEnd, server_settings) {
    serverEnd.session = &server;
    client.start();
    server.start();
  }

  // Moves bytes both ways until neither side has output (bounded: a loop would be a bug).
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      if (clientEnd.output.empty() && serverEnd.output.empty()) {
        return;
      }
      if (!clientEnd.output.empty()) {
        server.receive(clientEnd.output);
      }
      if (!serverEnd.output.empty()) {
        client.receive(serverEnd.output);
      }
    }
    ADD_FAILURE() << "sessions kept talking";
  }

  // Opens a request stream recorded by a new client handler.
  RecordingHandler& request(const HeaderMap& headers, bool end_stream) {
    auto handler = std::make_unique<RecordingHandler>();
    handler->session = &client;
    auto id = client.startRequest(headers, end_stream, *handler);
    EXPECT_TRUE(id.ok()) << id.status();
    handler->streamId = id.value_or(0);
    RecordingHandler& ref = *handler;
    clientStreams.push_back(std::move(handler));
    return ref;
  }

  ClientEndpoint clientEnd;
  ServerEndpoint serverEnd;
  ClientSession client;
  ServerSession server;
  std::vector<std::unique_ptr<RecordingHandler>> clientStreams;
};

inline HeaderMap requestHeaders(std::string_view method, std::string_view path) {
  HeaderMap headers;
  headers.add(":method", method);
  headers.add(":path", path);
  headers.add(":authority", "backend.test");
  headers.add(":scheme", "http");
  return headers;
}

inline HeaderMap responseHeaders(int status) {
  HeaderMap headers;
  headers.add(":status", std::to_string(status));
  return headers;
}

} // namespace meshd::proxy::http::http2::testing
