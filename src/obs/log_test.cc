#include "obs/log.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"

namespace hx::obs {
namespace {

namespace fs = std::filesystem;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = fs::temp_directory_path() /
            ("hx_log_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
    fs::remove(file_);
  }
  void TearDown() override {
    StopLogging();
    fs::remove(file_);
  }
  std::vector<nlohmann::json> Lines() {
    std::vector<nlohmann::json> out;
    std::ifstream in(file_);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  fs::path file_;
};

TEST_F(LogTest, EveryLineIsJsonWithTheScopesCorrelationId) {
  FakeClock clock(1'765'000'000'123);
  ASSERT_TRUE(ConfigureLogging({.level = LogLevel::kInfo, .file = file_, .clock = &clock}).ok());
  {
    CorrelationScope command("aaaa000000000001");
    Log(LogLevel::kInfo, "push.start", {{"files", 3}});
    {
      CorrelationScope cycle("bbbb000000000002");  // an agent cycle inside
      Log(LogLevel::kWarn, "cycle");
    }
    Log(LogLevel::kDebug, "not written");  // below the level
    Log(LogLevel::kError, "bad bytes", {{"name", std::string("a\xff")}});
  }
  EXPECT_EQ(CurrentCorrelationId(), "");
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["cid"], "aaaa000000000001");
  EXPECT_EQ(lines[0]["event"], "push.start");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["files"], 3);
  EXPECT_EQ(lines[0]["ts"], "2025-12-06T05:46:40.123Z");
  EXPECT_EQ(lines[1]["cid"], "bbbb000000000002");
  EXPECT_EQ(lines[2]["cid"], "aaaa000000000001");
}

TEST_F(LogTest, ErrorsCarryMessagesAndDetailsOnlyAtDebugLevel) {
  const Error error = Error(SyncCode::kApplyFailed, Category::kIo, "cannot write diary.txt")
                          .With("path", "diary.txt");
  ASSERT_TRUE(ConfigureLogging({.level = LogLevel::kInfo, .file = file_}).ok());
  LogError(LogLevel::kError, "push.failed", error);
  ASSERT_TRUE(ConfigureLogging({.level = LogLevel::kDebug, .file = file_}).ok());
  LogError(LogLevel::kError, "push.failed", error);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["code"], "KC_SYNC_APPLY_FAILED");
  EXPECT_EQ(lines[0]["category"], "io");
  EXPECT_EQ(lines[0].dump().find("diary"), std::string::npos) << lines[0].dump();
  EXPECT_EQ(lines[1]["details"]["path"], "diary.txt");
}

TEST_F(LogTest, LevelsParseAndAnUnwritableFileIsRefused) {
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("loud").error().code, SyncCode::kInputInvalid);
  const Status refused =
      ConfigureLogging({.level = LogLevel::kInfo, .file = "/dev/null/hx.log"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kInputInvalid);
  EXPECT_FALSE(LogEnabled(LogLevel::kError));
  EXPECT_EQ(NewCorrelationId().size(), 16u);
  EXPECT_NE(NewCorrelationId(), NewCorrelationId());
}

}  // namespace
}  // namespace hx::obs
