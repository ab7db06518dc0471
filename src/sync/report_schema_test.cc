// Real reports, produced by running the engine on temporary vaults, validate
// against the repository's schemas (schemas/*.schema.json); deliberately
// broken ones do not.
#include <string>

#include <gtest/gtest.h>

#include "json/schema_testing.h"
#include "sync/merge_preview.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using nlohmann::json;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

constexpr char kInit[] = "schemas/sync_init_report.schema.json";
constexpr char kStatus[] = "schemas/sync_status_report.schema.json";
constexpr char kPush[] = "schemas/sync_push_report.schema.json";
constexpr char kPull[] = "schemas/sync_pull_report.schema.json";
constexpr char kAppError[] = "schemas/app_error.schema.json";
constexpr char kPreviewV1[] = "schemas/sync_merge_preview_report_v1.schema.json";
constexpr char kPreviewV2[] = "schemas/sync_merge_preview_report_v2.schema.json";

json ErrorJson(const Error& error) { return json::parse(error.ToJson()); }

class ReportSchemaTest : public ::testing::Test {
 protected:
  // a publishes, b joins and pulls, then both change shared.txt.
  void Diverge() {
    a_.Write("shared.txt", "v1");
    a_.Write("dir/file.txt", "f");
    HX_ASSERT_OK(a_.Push(2000));
    HX_ASSERT_OK(b_.Init(3000));
    HX_ASSERT_OK(b_.Pull(4000));
    a_.Write("shared.txt", "a's edit");
    HX_ASSERT_OK(a_.Push(5000));
    b_.Write("shared.txt", "b's edit");
    b_.Write("b-only.txt", "b");
  }

  std::unique_ptr<StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  Device b_{*store_, "b", 2};
};

TEST_F(ReportSchemaTest, InitStatusPushAndPullReportsValidate) {
  Result<InitReport> init = a_.Init(1000);
  HX_ASSERT_OK(init);
  EXPECT_TRUE(ValidateAgainstSchema(init->ToJson(), kInit));
  Result<StatusReport> empty_status = a_.Status(1500);
  HX_ASSERT_OK(empty_status);
  EXPECT_TRUE(ValidateAgainstSchema(empty_status->ToJson(), kStatus));
  a_.Write("x.txt", "x");
  Result<PushReport> push = a_.Push(2000);
  HX_ASSERT_OK(push);
  EXPECT_TRUE(ValidateAgainstSchema(push->ToJson(), kPush));
  Result<PushReport> again = a_.Push(2500);
  HX_ASSERT_OK(again);
  EXPECT_TRUE(ValidateAgainstSchema(again->ToJson(), kPush));
  Result<InitReport> join = b_.Init(3000);
  HX_ASSERT_OK(join);
  EXPECT_TRUE(ValidateAgainstSchema(join->ToJson(), kInit));
  Result<PullReport> pull = b_.Pull(4000);
  HX_ASSERT_OK(pull);
  EXPECT_TRUE(ValidateAgainstSchema(pull->ToJson(), kPull));
  Result<PullReport> up_to_date = b_.Pull(4500);
  HX_ASSERT_OK(up_to_date);
  EXPECT_TRUE(ValidateAgainstSchema(up_to_date->ToJson(), kPull));
  Result<StatusReport> status = b_.Status(5000);
  HX_ASSERT_OK(status);
  EXPECT_TRUE(ValidateAgainstSchema(status->ToJson(), kStatus));
}

TEST_F(ReportSchemaTest, AConflictIsAnAppErrorAndStatusRemembersIt) {
  HX_ASSERT_OK(a_.Init(1000));
  Diverge();
  Result<PullReport> pull = b_.Pull(6000);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().code, SyncCode::kConflict);
  EXPECT_TRUE(ValidateAgainstSchema(ErrorJson(pull.error()), kAppError));
  Result<StatusReport> status = b_.Status(6500);
  HX_ASSERT_OK(status);
  EXPECT_TRUE(status->ToJson()["last_error"].is_object());
  EXPECT_TRUE(ValidateAgainstSchema(status->ToJson(), kStatus));
}

TEST_F(ReportSchemaTest, ResolvingPullsAndAMergingPushValidate) {
  HX_ASSERT_OK(a_.Init(1000));
  Diverge();
  for (const MergePolicy policy : {MergePolicy::kKeepBoth, MergePolicy::kLocalPreferred,
                                   MergePolicy::kCloudPreferred}) {
    Result<MergePreviewReport> preview =
        SyncMergePreview(b_.vault(), b_.options(6000), policy);
    HX_ASSERT_OK(preview);
    EXPECT_TRUE(ValidateAgainstSchema(preview->ToJson(), kPreviewV2));
  }
  Result<MergePreviewReport> v1 =
      SyncMergePreview(b_.vault(), b_.options(6000), MergePolicy::kConservative);
  HX_ASSERT_OK(v1);
  EXPECT_TRUE(ValidateAgainstSchema(v1->ToJson(), kPreviewV1));

  SyncOptions options = b_.options(7000);
  options.auto_merge = MergePolicy::kKeepBoth;
  Result<PushReport> push = SyncPush(b_.vault(), options);
  HX_ASSERT_OK(push);
  const json report = push->ToJson();
  EXPECT_TRUE(report["merged"].is_object()) << report.dump();
  EXPECT_TRUE(ValidateAgainstSchema(report, kPush));

  HX_ASSERT_OK(a_.Pull(7500));
  a_.Write("shared.txt", "a again");
  HX_ASSERT_OK(a_.Push(8000));
  b_.Write("shared.txt", "b again");
  SyncOptions local_wins = b_.options(9000);
  local_wins.auto_merge = MergePolicy::kLocalPreferred;
  Result<PullReport> pull = SyncPull(b_.vault(), local_wins);
  HX_ASSERT_OK(pull);
  EXPECT_FALSE(pull->resolutions.empty());
  EXPECT_TRUE(ValidateAgainstSchema(pull->ToJson(), kPull));
}

TEST_F(ReportSchemaTest, BrokenReportsFailValidation) {
  HX_ASSERT_OK(a_.Init(1000));
  a_.Write("x.txt", "x");
  Result<PushReport> push = a_.Push(2000);
  HX_ASSERT_OK(push);
  HX_ASSERT_OK(b_.Init(3000));
  Result<PullReport> pull = b_.Pull(4000);
  HX_ASSERT_OK(pull);
  ASSERT_TRUE(ValidateAgainstSchema(pull->ToJson(), kPull));

  std::vector<json> broken(5, pull->ToJson());
  broken[0]["outcome"] = "exploded";
  broken[1].erase("items");
  broken[2]["bytes_fetched"] = -1;
  broken[3]["items"][0]["status"] = "maybe";
  broken[4]["snapshot_id"] = "not-hex";
  for (const json& report : broken) EXPECT_FALSE(ValidateAgainstSchema(report, kPull));
  json bad_push = push->ToJson();
  bad_push["merged"] = json{{"outcome", "applied"}};
  EXPECT_FALSE(ValidateAgainstSchema(bad_push, kPush));
  json bad_status = b_.Status(5000)->ToJson();
  bad_status["last_error"] = json{{"code", "KC_SYNC_CONFLICT"}};
  EXPECT_FALSE(ValidateAgainstSchema(bad_status, kStatus));
}

}  // namespace
}  // namespace hx
