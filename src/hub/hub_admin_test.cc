// The hub's admin side without sockets: admin tokens open the status JSON
// and nothing else, the status shows devices, checkpoints, pushes and
// errors as the hub saw them (device names verbatim, for the page to put in
// as text), the checkpoints' write throttle, the SSE stream's queue, and the
// bounds of the activity rings.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/ed25519.h"
#include "hub/activity.h"
#include "hub/admin_routes.h"
#include "hub/auth/hub_auth.h"
#include "hub/sse.h"
#include "hub/status_page.h"
#include "store/memory_store.h"

namespace hx::hub {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kDay = 24LL * 3600 * 1000;
constexpr std::string_view kHostileName = "<script>window.hxPwned=1</script>";

class HubAdminTest : public ::testing::Test {
 protected:
  DeviceRecord Enroll(std::string name) {
    Result<Enrollment> code = auth_.CreateEnrollment("notes", Role::kWriter, kDay, kT0);
    EXPECT_TRUE(code.ok()) << code.error().ToShortString();
    Result<DeviceRecord> device = auth_.Register(
        "notes", {.code = code->code, .public_key = NewEd25519KeyPair().public_key,
                  .name = std::move(name), .platform = "linux"},
        kT0);
    EXPECT_TRUE(device.ok()) << device.error().ToShortString();
    return *device;
  }

  HubResponse Status(const std::string& bearer, std::int64_t now_ms = kT0 + 1000) {
    HubRequest request;
    request.method = "GET";
    request.path = "/v1/_admin/status";
    request.rest = "status";
    if (!bearer.empty()) request.headers.emplace("authorization", "Bearer " + bearer);
    return AdminStatus(auth_, activity_, request, now_ms);
  }

  MemoryStore store_;
  HubAuth auth_{store_};
  HubActivity activity_;
};

TEST_F(HubAdminTest, AnAdminTokenOpensTheStatusButNoVault) {
  Enroll("laptop");
  Result<IssuedToken> admin = auth_.IssueAdminToken(8 * 3600 * 1000, kT0);
  ASSERT_TRUE(admin.ok()) << admin.error().ToShortString();
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_EQ(Status(admin->token).status, 200);
  // Not a vault's token: the store routes ask Authenticate(vault), which
  // refuses it for every vault.
  EXPECT_FALSE(auth_.Authenticate("notes", admin->token, kT0 + 1000).ok());
  // A device's token is no admin token, nor is none; an expired one fails.
  Result<IssuedToken> device = auth_.IssueToken("notes", Enroll("phone").device_id,
                                                Role::kWriter, kT0);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(Status(device->token).status, 401);
  EXPECT_EQ(Status("").status, 401);
  EXPECT_EQ(Status(admin->token, admin->expires_ms).status, 401);
  // An admin token past 7 days is not made.
  EXPECT_FALSE(auth_.IssueAdminToken(kMaxAdminTokenLifetimeMs + 1, kT0).ok());
}

TEST_F(HubAdminTest, TheStatusShowsDevicesCheckpointsPushesAndErrorsVerbatim) {
  const DeviceRecord hostile = Enroll(std::string(kHostileName));
  ASSERT_TRUE(auth_.AcknowledgeHead("notes", hostile.device_id, "abcd", kT0 + 500).ok());
  activity_.RecordPush("notes", {.at_ms = kT0 + 600, .head = "abcd", .device_id = hostile.device_id});
  activity_.RecordError({.at_ms = kT0 + 700, .method = "PUT", .route = "/v1/", .vault = "notes",
                         .status = 403, .code = "KC_SYNC_AUTH_FAILED"});
  Result<IssuedToken> admin = auth_.IssueAdminToken(3600 * 1000, kT0);
  ASSERT_TRUE(admin.ok());
  const HubResponse reply = Status(admin->token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const nlohmann::json body = nlohmann::json::parse(reply.body);
  ASSERT_EQ(body["vaults"].size(), 1u);
  const nlohmann::json& vault = body["vaults"][0];
  EXPECT_EQ(vault["name"], "notes");
  ASSERT_EQ(vault["devices"].size(), 1u);
  EXPECT_EQ(vault["devices"][0]["name"], kHostileName);
  EXPECT_EQ(vault["devices"][0]["acked_head"], "abcd");
  EXPECT_EQ(vault["devices"][0]["last_seen_ms"], kT0 + 500);
  ASSERT_EQ(vault["pushes"].size(), 1u);
  EXPECT_EQ(vault["pushes"][0]["device_name"], kHostileName);
  EXPECT_TRUE(vault["conflicts"].is_null());
  EXPECT_NE(body["conflicts_note"].get<std::string>().find("no vault key"), std::string::npos);
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["code"], "KC_SYNC_AUTH_FAILED");
  EXPECT_EQ(body["errors"][0]["status"], 403);
}

TEST(StatusPage, PutsValuesInAsTextAndAllowsOnlyItsOwnScript) {
  // The page's script never builds markup from data.
  EXPECT_EQ(StatusPageScript().find("innerHTML"), std::string_view::npos);
  EXPECT_EQ(StatusPageScript().find("insertAdjacentHTML"), std::string_view::npos);
  EXPECT_EQ(StatusPageScript().find("document.write"), std::string_view::npos);
  EXPECT_NE(StatusPageScript().find("textContent"), std::string_view::npos);
  // The token goes in a header from sessionStorage, never in a URL.
  EXPECT_NE(StatusPageScript().find("sessionStorage"), std::string_view::npos);
  EXPECT_EQ(StatusPageScript().find("?token"), std::string_view::npos);
  Router router;
  RegisterStatusPage(router);
  std::optional<Router::Match> page = router.Find("GET", "/");
  ASSERT_TRUE(page);
  HubResponse reply;
  (*page->handler)(HubRequest{}, [&](HubResponse r) { reply = std::move(r); });
  bool csp = false;
  for (const auto& [name, value] : reply.headers) {
    if (name == "Content-Security-Policy") csp = value.find("script-src 'self'") != std::string::npos;
  }
  EXPECT_TRUE(csp);
  // Exact paths: "/" is not a prefix of every path.
  EXPECT_FALSE(router.Find("GET", "/nope"));
}

TEST(Checkpoints, WriteOnlyWhenTheHeadMovesOrTheRecordIsOld) {
  std::vector<std::string> writes;  // by the checkpoints' thread; read after Flush
  Checkpoints checkpoints(
      [&](const std::string& vault, const std::string& device, const std::string& head,
          std::int64_t) { writes.push_back(vault + "/" + device + "@" + head); },
      /*refresh_ms=*/60'000);
  auto observe = [&](const std::string& device, const std::string& head, std::int64_t now_ms) {
    const bool queued = checkpoints.Observe("notes", device, head, now_ms);
    checkpoints.Flush();
    return queued;
  };
  EXPECT_TRUE(observe("d1", "aa", 0));
  // The same head polled again and again: no store write.
  for (int i = 1; i <= 100; ++i) EXPECT_FALSE(observe("d1", "aa", i * 100));
  EXPECT_TRUE(observe("d1", "bb", 20'000));
  EXPECT_TRUE(observe("d2", "bb", 20'000));
  // Once a refresh interval has passed, "last seen" is written again.
  EXPECT_TRUE(observe("d1", "bb", 80'000));
  // No device (an open, token-less hub): nothing to record.
  EXPECT_FALSE(observe("", "bb", 90'000));
  EXPECT_EQ(writes, (std::vector<std::string>{"notes/d1@aa", "notes/d1@bb", "notes/d2@bb",
                                              "notes/d1@bb"}));
}

TEST(Checkpoints, WritesRunOffThePollersThreadAndADevicesQueuedWritesCoalesce) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::string> writes;
  bool first = true;
  Checkpoints checkpoints(
      [&](const std::string&, const std::string& device, const std::string& head,
          std::int64_t) {
        writes.push_back(device + "@" + head);
        if (first) {
          first = false;
          entered.set_value();
          released.wait();  // a slow store write
        }
      },
      /*refresh_ms=*/60'000);
  ASSERT_TRUE(checkpoints.Observe("notes", "d1", "aa", 0));
  entered.get_future().wait();
  // The first write is still running; the poller is not held. Two newer
  // heads of d1 queue as one write (the newest), d2's as its own.
  EXPECT_TRUE(checkpoints.Observe("notes", "d1", "bb", 1));
  EXPECT_TRUE(checkpoints.Observe("notes", "d1", "cc", 2));
  EXPECT_TRUE(checkpoints.Observe("notes", "d2", "cc", 2));
  release.set_value();
  checkpoints.Flush();
  EXPECT_EQ(writes, (std::vector<std::string>{"d1@aa", "d1@cc", "d2@cc"}));
}

TEST(SseStream, HandsPiecesInOrderThenEndsAndEndsAReaderThatFallsBehind) {
  SseStream stream;
  std::vector<std::optional<std::string>> got;
  auto next = [&] { stream.Next([&](std::optional<std::string> p) { got.push_back(p); }); };
  ASSERT_TRUE(stream.Push("a"));
  next();
  next();  // waits
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(stream.Push("b"));  // handed to the waiting Next
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "b");
  stream.End();
  next();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_FALSE(got[2].has_value());
  EXPECT_FALSE(stream.Push("c"));

  SseStream slow;
  for (std::size_t i = 0; i < kMaxSsePieces; ++i) ASSERT_TRUE(slow.Push("x"));
  EXPECT_FALSE(slow.Push("one too many"));
  EXPECT_EQ(SseHeadEvent("ab"), "id: ab\nevent: head\ndata: {\"head\":\"ab\"}\n\n");
}

TEST(HubActivity, RingsAreBounded) {
  HubActivity activity;
  for (std::size_t i = 0; i < kMaxPushesPerVault + 5; ++i) {
    activity.RecordPush("notes", {.at_ms = static_cast<std::int64_t>(i), .head = "h", .device_id = ""});
  }
  ASSERT_EQ(activity.Pushes("notes").size(), kMaxPushesPerVault);
  EXPECT_EQ(activity.Pushes("notes").front().at_ms,
            static_cast<std::int64_t>(kMaxPushesPerVault + 4));  // newest first
  for (std::size_t i = 0; i < kMaxRecentErrors + 5; ++i) {
    activity.RecordError({.at_ms = 1, .method = "GET", .route = "/v1/", .vault = "",
                          .status = 400, .code = std::string(500, 'X')});
  }
  ASSERT_EQ(activity.Errors().size(), kMaxRecentErrors);
  EXPECT_EQ(activity.Errors().front().code.size(), kMaxActivityText);
  EXPECT_EQ(ErrorCodeOfBody(R"({"error":{"code":"KC_SYNC_AUTH_FAILED","message":"x"}})"),
            "KC_SYNC_AUTH_FAILED");
  EXPECT_EQ(ErrorCodeOfBody(R"({"error":{"code":"<b>"}})"), "");
  EXPECT_EQ(VaultOfPath("/v1/notes/o/head.json"), "notes");
  EXPECT_EQ(VaultOfPath("/v1/_auth/notes/token"), "notes");
  EXPECT_EQ(VaultOfPath("/v1/_hub/o/x"), "");
  EXPECT_EQ(VaultOfPath("/healthz"), "");
}

}  // namespace
}  // namespace hx::hub
