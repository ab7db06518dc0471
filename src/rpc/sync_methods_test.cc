// The sync methods over JSON-RPC on a real vault and folder store: results
// are exactly the engine's --json reports, errors carry the AppError.
#include "rpc/sync_methods.h"

#include <string>

#include <gtest/gtest.h>

#include "json/canonical_json.h"
#include "json/schema_testing.h"
#include "sync/merge_preview.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using nlohmann::json;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

class RpcSyncMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    a_.Write("doc.txt", "v1");
    RpcSyncConfig config;
    config.passphrase = [](const PassphraseRequest&) -> Result<std::optional<std::string>> {
      return std::optional<std::string>();  // the cached key only
    };
    RegisterSyncMethods(dispatcher_, config);
  }

  json Call(const std::string& method, json params, json id = 1) {
    const json request = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
    std::optional<std::string> out = dispatcher_.HandleLine(request.dump());
    EXPECT_TRUE(out.has_value());
    Result<json> parsed = ParseCanonicalJson(out.value_or("null"));
    EXPECT_TRUE(parsed.ok());
    return parsed.ok() ? *parsed : json(nullptr);
  }

  json Params(std::int64_t now_ms) {
    return {{"vault_path", a_.vault().string()}, {"target_uri", store_->TargetUri()},
            {"now_ms", now_ms}};
  }

  std::unique_ptr<StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  RpcDispatcher dispatcher_;
};

TEST_F(RpcSyncMethodsTest, ResultsAreExactlyTheEngineReports) {
  const json status = Call("sync_status", Params(1500));
  ASSERT_TRUE(status.contains("result")) << status.dump();
  Result<StatusReport> direct = a_.Status(1500);
  HX_ASSERT_OK(direct);
  EXPECT_EQ(status["result"], direct->ToJson());

  const json push = Call("sync_push", Params(2000));
  ASSERT_TRUE(push.contains("result")) << push.dump();
  EXPECT_EQ(push["result"]["outcome"], "published");

  const json pull = Call("sync_pull", Params(3000));
  ASSERT_TRUE(pull.contains("result")) << pull.dump();
  EXPECT_EQ(pull["result"]["outcome"], "up_to_date");

  json preview_params = Params(4000);
  preview_params["policy"] = "conservative_plus_v2";
  const json preview = Call("sync_merge_preview", preview_params);
  ASSERT_TRUE(preview.contains("result")) << preview.dump();
  Result<MergePreviewReport> direct_preview =
      SyncMergePreview(a_.vault(), a_.options(4000), MergePolicy::kConservativePlusV2);
  HX_ASSERT_OK(direct_preview);
  EXPECT_EQ(preview["result"], direct_preview->ToJson());
  // Without a policy: conservative, the V1 report.
  const json v1 = Call("sync_merge_preview", Params(4000));
  EXPECT_EQ(v1["result"]["schema_version"], 1);

  EXPECT_TRUE(ValidateAgainstSchema(status["result"], "schemas/sync_status_report.schema.json"));
  EXPECT_TRUE(ValidateAgainstSchema(push["result"], "schemas/sync_push_report.schema.json"));
  EXPECT_TRUE(ValidateAgainstSchema(pull["result"], "schemas/sync_pull_report.schema.json"));
  EXPECT_TRUE(ValidateAgainstSchema(preview["result"],
                                    "schemas/sync_merge_preview_report_v2.schema.json"));
  EXPECT_TRUE(
      ValidateAgainstSchema(v1["result"], "schemas/sync_merge_preview_report_v1.schema.json"));
}

TEST_F(RpcSyncMethodsTest, BadParamsAreInvalidParamsWithTheAppError) {
  for (json params : {json{{"now_ms", 1}}, json{{"vault_path", 5}, {"now_ms", 1}},
                      json{{"vault_path", "v"}}, json{{"vault_path", "v"}, {"now_ms", -1}},
                      json{{"vault_path", "v"}, {"now_ms", std::int64_t{253'402'300'800'000}}},
                      json{{"vault_path", "v"}, {"now_ms", 1}, {"policy", "x"}, {"y", 1}},
                      json{{"vault_path", ""}, {"now_ms", 1}}}) {
    const json response = Call("sync_status", params);
    ASSERT_TRUE(response.contains("error")) << params.dump();
    EXPECT_EQ(response["error"]["code"], kRpcInvalidParams) << params.dump();
    EXPECT_EQ(response["error"]["data"]["code"], "KC_SYNC_INPUT_INVALID");
  }
  json bad_policy = Params(1);
  bad_policy["policy"] = "conservative_plus_v9";
  const json response = Call("sync_merge_preview", bad_policy);
  EXPECT_EQ(response["error"]["code"], kRpcInvalidParams);
  EXPECT_EQ(response["error"]["data"]["code"], "KC_SYNC_MERGE_POLICY_UNSUPPORTED");
  // auto_merge belongs to push and pull only.
  json preview_with_auto_merge = Params(1);
  preview_with_auto_merge["auto_merge"] = "keep_both";
  EXPECT_EQ(Call("sync_merge_preview", preview_with_auto_merge)["error"]["code"],
            kRpcInvalidParams);
}

TEST_F(RpcSyncMethodsTest, AFailedOperationIsOperationFailedWithItsCode) {
  testing::TempDir not_a_vault;
  const json response =
      Call("sync_status", {{"vault_path", not_a_vault.path().string()}, {"now_ms", 1}});
  ASSERT_TRUE(response.contains("error")) << response.dump();
  EXPECT_EQ(response["error"]["code"], kRpcOperationFailed);
  EXPECT_TRUE(response["error"]["data"]["code"].get<std::string>().rfind("KC_SYNC_", 0) == 0);
  EXPECT_TRUE(ValidateAgainstSchema(response["error"]["data"], "schemas/app_error.schema.json"));
}

}  // namespace
}  // namespace hx
