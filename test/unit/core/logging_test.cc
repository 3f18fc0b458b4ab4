// Unit tests for the component logger registry and run-time level changes.
#include "core/logging.h"

#include "gtest/gtest.h"

namespace meshd::log {
namespace {

TEST(LoggingTest, ParseLevelAcceptsEnvoyNames) {
  EXPECT_EQ(*parseLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*parseLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(*parseLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*parseLevel("error"), spdlog::level::err);
  EXPECT_EQ(*parseLevel("off"), spdlog::level::off);
  const auto bad = parseLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown log level 'verbose'"), std::string::npos);
}

TEST(LoggingTest, SameComponentSameLogger) {
  EXPECT_EQ(&get("logging_test_a"), &get("logging_test_a"));
  EXPECT_NE(&get("logging_test_a"), &get("logging_test_b"));
}

TEST(LoggingTest, LevelsChangeAtRunTimeForOneOrAll) {
  spdlog::logger& a = get("logging_test_c");
  spdlog::logger& b = get("logging_test_d");
  setAllLevels(spdlog::level::info);
  ASSERT_TRUE(setLevel("logging_test_c", spdlog::level::trace).ok());
  EXPECT_EQ(a.level(), spdlog::level::trace);
  EXPECT_EQ(b.level(), spdlog::level::info);
  EXPECT_FALSE(setLevel("no_such_component", spdlog::level::trace).ok());

  setAllLevels(spdlog::level::err);
  EXPECT_EQ(a.level(), spdlog::level::err);
  EXPECT_EQ(get("logging_test_created_later").level(), spdlog::level::err);
  bool listed = false;
  for (const auto& entry : levels()) {
    listed |= entry.component == "logging_test_d" && entry.level == spdlog::level::err;
  }
  EXPECT_TRUE(listed);
  setAllLevels(spdlog::level::info);
}

} // namespace
} // namespace meshd::log
