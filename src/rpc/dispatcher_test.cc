// The JSON-RPC 2.0 protocol rules of the dispatcher, with small fake methods.
#include "rpc/dispatcher.h"

#include <string>

#include <gtest/gtest.h>

#include "json/canonical_json.h"

namespace hx {
namespace {

using nlohmann::json;

class RpcDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dispatcher_.Register("echo", [this](const json& params) -> RpcResult {
      ++calls_;
      return params;
    });
    dispatcher_.Register("fail", [this](const json&) -> RpcResult {
      ++calls_;
      return RpcFailure{kRpcOperationFailed,
                        Error(SyncCode::kConflict, Category::kConflict, "diverged; pull")};
    });
  }

  // The one response to `line`, parsed.
  json Call(std::string_view line) {
    std::optional<std::string> out = dispatcher_.HandleLine(line);
    EXPECT_TRUE(out.has_value()) << line;
    if (!out) return nullptr;
    Result<json> parsed = ParseCanonicalJson(*out);
    EXPECT_TRUE(parsed.ok()) << *out;
    return parsed.ok() ? *parsed : json(nullptr);
  }

  static int Code(const json& response) { return response["error"]["code"].get<int>(); }

  RpcDispatcher dispatcher_;
  int calls_ = 0;
};

TEST_F(RpcDispatcherTest, ARequestGetsItsResultWithItsId) {
  const json response = Call(R"({"jsonrpc":"2.0","id":7,"method":"echo","params":{"a":1}})");
  EXPECT_EQ(response, (json{{"jsonrpc", "2.0"}, {"id", 7}, {"result", {{"a", 1}}}}));
  EXPECT_EQ(Call(R"({"jsonrpc":"2.0","id":"x","method":"echo"})")["result"], json::object());
  EXPECT_EQ(Call(R"({"jsonrpc":"2.0","id":null,"method":"echo"})")["id"], nullptr);
}

TEST_F(RpcDispatcherTest, AFailedOperationCarriesTheAppErrorInData) {
  const json response = Call(R"({"jsonrpc":"2.0","id":1,"method":"fail"})");
  EXPECT_EQ(Code(response), kRpcOperationFailed);
  EXPECT_EQ(response["error"]["data"]["code"], "KC_SYNC_CONFLICT");
  EXPECT_EQ(response["error"]["data"]["category"], "conflict");
  EXPECT_EQ(response["error"]["message"], "diverged; pull");
  EXPECT_EQ(response["id"], 1);
}

TEST_F(RpcDispatcherTest, MalformedLinesAreParseErrorsWithANullId) {
  for (const char* line : {"{", "not json", R"({"a":1,"a":2})", "[1.5]", "\xff", R"({"id":1} x)"}) {
    const json response = Call(line);
    EXPECT_EQ(Code(response), kRpcParseError) << line;
    EXPECT_EQ(response["id"], nullptr);
    EXPECT_EQ(response["error"]["data"]["code"], "KC_SYNC_INPUT_INVALID");
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(RpcDispatcherTest, RequestsOfTheWrongShapeAreInvalidRequests) {
  for (const char* line :
       {"1", "\"x\"", "null", R"({"id":1,"method":"echo"})",
        R"({"jsonrpc":"1.0","id":1,"method":"echo"})", R"({"jsonrpc":"2.0","id":1})",
        R"({"jsonrpc":"2.0","id":1,"method":5})", R"({"jsonrpc":"2.0","id":1,"method":"echo","params":3})",
        R"({"jsonrpc":"2.0","id":{},"method":"echo"})", R"({"jsonrpc":"2.0","id":1,"method":"echo","x":1})"}) {
    EXPECT_EQ(Code(Call(line)), kRpcInvalidRequest) << line;
  }
  // The id is echoed when it was valid, null when it was not.
  EXPECT_EQ(Call(R"({"jsonrpc":"1.0","id":4,"method":"echo"})")["id"], 4);
  EXPECT_EQ(Call(R"({"jsonrpc":"2.0","id":[1],"method":"echo"})")["id"], nullptr);
  EXPECT_EQ(calls_, 0);
}

TEST_F(RpcDispatcherTest, UnknownMethodsAndPositionalParams) {
  const json unknown = Call(R"({"jsonrpc":"2.0","id":1,"method":"sync_nuke"})");
  EXPECT_EQ(Code(unknown), kRpcMethodNotFound);
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("echo"), std::string::npos);
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[1]})")),
            kRpcInvalidParams);
  EXPECT_EQ(calls_, 0);
}

TEST_F(RpcDispatcherTest, NotificationsRunButGetNoReply) {
  EXPECT_FALSE(dispatcher_.HandleLine(R"({"jsonrpc":"2.0","method":"echo"})").has_value());
  EXPECT_FALSE(dispatcher_.HandleLine(R"({"jsonrpc":"2.0","method":"fail"})").has_value());
  EXPECT_FALSE(dispatcher_.HandleLine(R"({"jsonrpc":"2.0","method":"nope"})").has_value());
  EXPECT_EQ(calls_, 2);
  EXPECT_FALSE(dispatcher_.HandleLine("").has_value());
  EXPECT_FALSE(dispatcher_.HandleLine("  \r").has_value());
}

TEST_F(RpcDispatcherTest, BatchesAnswerEachNonNotificationInOrder) {
  const json responses = Call(
      R"([{"jsonrpc":"2.0","id":1,"method":"echo","params":{"n":1}},)"
      R"({"jsonrpc":"2.0","method":"echo"},)"
      R"(5,)"
      R"({"jsonrpc":"2.0","id":2,"method":"fail"}])");
  ASSERT_TRUE(responses.is_array());
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0]["result"], (json{{"n", 1}}));
  EXPECT_EQ(Code(responses[1]), kRpcInvalidRequest);
  EXPECT_EQ(Code(responses[2]), kRpcOperationFailed);
  EXPECT_EQ(calls_, 3);
  EXPECT_FALSE(dispatcher_.HandleLine(R"([{"jsonrpc":"2.0","method":"echo"}])").has_value());
}

TEST_F(RpcDispatcherTest, EmptyAndOversizedBatchesAreOneInvalidRequest) {
  EXPECT_EQ(Code(Call("[]")), kRpcInvalidRequest);
  std::string big = "[";
  for (std::size_t i = 0; i <= kMaxRpcBatch; ++i) {
    big += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"echo"})";
  }
  big += "]";
  EXPECT_EQ(Code(Call(big)), kRpcInvalidRequest);
  EXPECT_EQ(calls_, 0);
}

TEST_F(RpcDispatcherTest, OverlongLinesAndDeepNestingAreRefusedNotCrashes) {
  EXPECT_EQ(Code(Call(std::string(kMaxRpcLineBytes + 1, ' ') + "{}")), kRpcParseError);
  EXPECT_EQ(Code(Call(std::string(100000, '[') + std::string(100000, ']'))), kRpcParseError);
}

TEST_F(RpcDispatcherTest, AResultThatCannotBeEncodedIsAnInternalError) {
  dispatcher_.Register("float", [](const json&) -> RpcResult { return json(1.5); });
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"2.0","id":1,"method":"float"})")), kRpcInternalError);
}

}  // namespace
}  // namespace hx
