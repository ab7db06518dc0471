// The pull report at scale: a pull lists at most 1,000 items (the items not
// applied first), counts the rest in items_omitted, and a small pull's report
// is the document it always was.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "json/schema_testing.h"
#include "sync/engine.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using ::hx::testing::Device;

constexpr char kPullSchema[] = "schemas/sync_pull_report.schema.json";

// File names that sort in creation order: "f0000.txt", "f0001.txt", ...
std::string FileName(int i) {
  std::string digits = std::to_string(i);
  return "f" + std::string(4 - digits.size(), '0') + digits + ".txt";
}

std::string ReadWhole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class PullReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    HX_ASSERT_OK(b_.Init(1000));
  }

  std::unique_ptr<::hx::testing::StoreFixture> store_ = ::hx::testing::MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  Device b_{*store_, "b", 2};
};

TEST_F(PullReportTest, ASmallPullListsEveryItemAndNoOmittedCount) {
  a_.Write("one.txt", "1");
  a_.Write("two.txt", "2");
  HX_ASSERT_OK(a_.Push(2000));
  Result<PullReport> pull = b_.Pull(3000);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->items.size(), 2u);
  EXPECT_EQ(pull->items[0].path, "one.txt");
  EXPECT_EQ(pull->items[1].path, "two.txt");
  EXPECT_EQ(pull->items_omitted, 0u);
  const nlohmann::json json = pull->ToJson();
  EXPECT_FALSE(json.contains("items_omitted"));
  EXPECT_TRUE(ValidateAgainstSchema(json, kPullSchema));
}

TEST_F(PullReportTest, ALargePullListsAThousandItemsAndCountsTheRest) {
  for (int i = 0; i < 1005; ++i) a_.Write(FileName(i), "content " + std::to_string(i));
  HX_ASSERT_OK(a_.Push(2000));
  Result<PullReport> pull = b_.Pull(3000);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(pull->outcome, "applied");
  ASSERT_EQ(pull->items.size(), 1000u);
  EXPECT_EQ(pull->items_omitted, 5u);
  // The listed ones are the first in the plan's order.
  EXPECT_EQ(pull->items.front().path, FileName(0));
  EXPECT_EQ(pull->items.back().path, FileName(999));
  // The summary still counts every change, and every file arrived.
  EXPECT_EQ(pull->changes.added, 1005u);
  EXPECT_EQ(b_.Read(FileName(1004)), "content 1004");

  const nlohmann::json json = pull->ToJson();
  EXPECT_EQ(json.at("items_omitted"), 5);
  EXPECT_EQ(json.at("items").size(), 1000u);
  EXPECT_TRUE(ValidateAgainstSchema(json, kPullSchema));
  // The saved report is the same capped document.
  const auto saved = b_.vault() / ".hx" / "reports" / "pull_3000.json";
  ASSERT_TRUE(std::filesystem::exists(saved));
  const nlohmann::json file = nlohmann::json::parse(ReadWhole(saved));
  EXPECT_EQ(file.at("items_omitted"), 5);
  EXPECT_EQ(file.at("items").size(), 1000u);
}

TEST_F(PullReportTest, AnItemNotAppliedIsListedEvenBeyondTheFirstThousand) {
  a_.Write("zzz.txt", "v1");
  HX_ASSERT_OK(a_.Push(2000));
  HX_ASSERT_OK(b_.Pull(3000));
  // The store changes zzz.txt and adds 1,000 files that sort before it.
  a_.Write("zzz.txt", "v2");
  for (int i = 0; i < 1000; ++i) a_.Write(FileName(i), "x");
  HX_ASSERT_OK(a_.Push(4000));
  // b edits zzz.txt while the pull runs: that item is skipped, not applied.
  SyncOptions options = b_.options(5000);
  options.checkpoint = [&](std::string_view point) {
    if (point == "pull.before_apply") b_.Write("zzz.txt", "edited on b during the pull");
  };
  Result<PullReport> pull = SyncPull(b_.vault(), options);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->items.size(), 1000u);
  EXPECT_EQ(pull->items_omitted, 1u);
  EXPECT_EQ(pull->items.back().path, "zzz.txt");
  EXPECT_EQ(pull->items.back().status, "skipped_local_change");
  // The 999 applied items that fit keep the plan's order.
  EXPECT_EQ(pull->items.front().path, FileName(0));
  EXPECT_EQ(pull->items[998].path, FileName(998));
  EXPECT_EQ(b_.Read("zzz.txt"), "edited on b during the pull");
  EXPECT_TRUE(ValidateAgainstSchema(pull->ToJson(), kPullSchema));
}

}  // namespace
}  // namespace hx
