// Unit tests for the HTTP/1 message parser: heads, bodies, incremental input, pipelining, limits
// and the checks added on top of llhttp. (Malicious inputs end to end: http1_smuggling_test.)
#include "proxy/http/http1/message_parser.h"

#include "gtest/gtest.h"

namespace meshd::proxy::http::http1 {
namespace {

struct Recorder : MessageParser::Callbacks {
  std::vector<HeaderMap> heads;
  std::vector<bool> endStreams;
  std::string body;
  int completed = 0;
  void onHead(HeaderMap&& headers, bool end_stream) override {
    heads.push_back(std::move(headers));
    endStreams.push_back(end_stream);
  }
  void onBody(std::string_view data) override { body.append(data); }
  void onComplete() override { ++completed; }
};

using Result = MessageParser::Result;

TEST(MessageParserTest, RequestHeadBecomesPseudoHeaders) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kRequest, recorder);
  core::Buffer input("GET /a?b=c HTTP/1.1\r\nHost: Example.com\r\nX-Trim:  v  \r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  ASSERT_EQ(recorder.heads.size(), 1u);
  const HeaderMap& head = recorder.heads[0];
  EXPECT_EQ(head.method(), "GET");
  EXPECT_EQ(head.path(), "/a?b=c");
  EXPECT_EQ(head.authority(), "Example.com");
  EXPECT_FALSE(head.has("host"));
  EXPECT_EQ(head.get("x-trim"), "v");
  EXPECT_TRUE(recorder.endStreams[0]);
  EXPECT_TRUE(parser.keepAlive());
  EXPECT_TRUE(input.empty());
}

TEST(MessageParserTest, ByteByByteChunkedBody) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kRequest, recorder);
  const std::string wire =
      "POST /up HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n"
      "6\r\n world\r\n0\r\n\r\n";
  Result last = Result::kNeedMore;
  for (char c : wire) {
    core::Buffer one(std::string(1, c));
    last = parser.parse(one);
  }
  EXPECT_EQ(last, Result::kMessageDone);
  EXPECT_EQ(recorder.body, "hello world");
  EXPECT_FALSE(recorder.endStreams[0]);
  EXPECT_EQ(recorder.completed, 1);
}

TEST(MessageParserTest, PipelinedRequestsStopAfterEachMessage) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kRequest, recorder);
  core::Buffer input("GET /1 HTTP/1.1\r\nhost: h\r\n\r\nGET /2 HTTP/1.1\r\nhost: h\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(recorder.heads.size(), 1u);
  EXPECT_FALSE(input.empty()); // the second request waits
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(recorder.heads[1].path(), "/2");
}

TEST(MessageParserTest, AbsoluteFormTargetSetsAuthorityAndScheme) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kRequest, recorder);
  core::Buffer input("GET http://reviews:9080/r/1 HTTP/1.1\r\nhost: other\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(recorder.heads[0].authority(), "reviews:9080");
  EXPECT_EQ(recorder.heads[0].path(), "/r/1");
  EXPECT_EQ(recorder.heads[0].get(":scheme"), "http");
}

TEST(MessageParserTest, Http10WithoutHostIsFineButNotKeptAlive) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kRequest, recorder);
  core::Buffer input("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(parser.httpMinor(), 0);
  EXPECT_FALSE(parser.keepAlive());
}

struct ErrorCase {
  const char* name;
  const char* wire;
  int status;
};

class MessageParserErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(MessageParserErrorTest, MapsToStatus) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kRequest, recorder, ParserLimits{256, 4});
  core::Buffer input(GetParam().wire);
  EXPECT_EQ(parser.parse(input), Result::kError);
  EXPECT_EQ(parser.error().status, GetParam().status) << parser.error().detail;
  EXPECT_EQ(recorder.heads.size(), 0u);
}

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MessageParserErrorTest,
    ::testing::Values(
        ErrorCase{"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400},
        ErrorCase{"TwoHosts", "GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n", 400},
        ErrorCase{"GzipChunked",
                  "POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip, chunked\r\n\r\n", 501},
        ErrorCase{"ChunkedNotLast",
                  "POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked, gzip\r\n\r\n", 400},
        ErrorCase{"TeInHttp10", "POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n", 400},
        ErrorCase{
            "ClAndTe",
            "POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
            400},
        ErrorCase{"TooManyHeaders",
                  "GET / HTTP/1.1\r\nhost: a\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n", 431},
        ErrorCase{"HeadersTooLarge",
                  "GET / HTTP/1.1\r\nhost: a\r\nx: "
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
                  431},
        ErrorCase{"ConnectWithContentLength",
                  "CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\ncontent-length: 3\r\n\r\nabc", 400},
        ErrorCase{"ConnectChunked",
                  "CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\ntransfer-encoding: chunked\r\n\r\n",
                  400},
        ErrorCase{"ChunkedWithTrailingTab",
                  "POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\t\r\n\r\n"
                  "5\r\nhello\r\n0\r\n\r\n",
                  400},
        ErrorCase{"BareLf", "GET / HTTP/1.1\nhost: a\n\n", 400},
        ErrorCase{"BadTarget", "GET abc HTTP/1.1\r\nhost: a\r\n\r\n", 400},
        ErrorCase{"Http2Version", "GET / HTTP/2.0\r\nhost: a\r\n\r\n", 505}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(MessageParserResponseTest, ContentLengthChunkedAndCloseDelimited) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kResponse, recorder);
  core::Buffer input(
      "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc"
      "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(recorder.heads[0].status(), 200);
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(recorder.heads[1].status(), 404);
  EXPECT_EQ(recorder.body, "abcxy");

  Recorder closeRecorder;
  MessageParser closeDelimited(MessageParser::Kind::kResponse, closeRecorder);
  core::Buffer body("HTTP/1.1 200 OK\r\n\r\nuntil close");
  EXPECT_EQ(closeDelimited.parse(body), Result::kNeedMore);
  EXPECT_EQ(closeDelimited.finish(), Result::kMessageDone);
  EXPECT_EQ(closeRecorder.body, "until close");
}

TEST(MessageParserResponseTest, HeadResponseHasNoBodyDespiteContentLength) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kResponse, recorder);
  parser.expectNoBody(true);
  core::Buffer input("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_TRUE(recorder.endStreams[0]);
}

TEST(MessageParserResponseTest, CloseBetweenMessagesIsNotATruncation) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kResponse, recorder);
  core::Buffer input("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kMessageDone);
  EXPECT_EQ(parser.finish(), Result::kNeedMore);
  EXPECT_EQ(parser.error().status, 0);
}

TEST(MessageParserResponseTest, TruncatedResponseIsAnError) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kResponse, recorder);
  core::Buffer input("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
  EXPECT_EQ(parser.parse(input), Result::kNeedMore);
  EXPECT_EQ(parser.finish(), Result::kError);
}

TEST(MessageParserResponseTest, ChunkedThatLlhttpWouldNotFrameIsRejected) {
  Recorder recorder;
  MessageParser parser(MessageParser::Kind::kResponse, recorder);
  core::Buffer input("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\t\r\n\r\n2\r\nxy\r\n0\r\n\r\n");
  EXPECT_EQ(parser.parse(input), Result::kError);
  EXPECT_EQ(parser.error().status, 502);
  EXPECT_TRUE(recorder.heads.empty());
}

} // namespace
} // namespace meshd::proxy::http::http1
