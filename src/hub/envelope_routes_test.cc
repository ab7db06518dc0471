// The hub's seed-003 envelope endpoints end to end, against a real `hx
// serve` process on loopback over a folder store: the seed's flow (upload,
// dry run, apply with each policy including manual_per_item with per-item
// decisions, the report retrieved by id), a partial failure with per-item
// statuses, an unknown schema_version with its migration hint, bad input of
// every kind, and a missing token; and the roles through the service with an
// authorizer that answers what the test says.
#include "hub/envelope_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "base/process_test_util.h"
#include "hub/testing/envelope_test_util.h"
#include "json/schema_validator.h"
#include "hub/testing/hub_process.h"
#include "store/hub/device_credential.h"
#include "store/memory_store.h"
#include "store/s3/http_client.h"
#include "store/store_wrappers.h"
#include "store/store_test_util.h"

namespace hx::hub {
namespace {

using ::testing::HasSubstr;
using store_testing::TempFolder;
using testing::DamagedFileItem;
using testing::DirectoryItem;
using testing::EnvelopeBytes;
using testing::FileItem;
using testing::HubProcess;

struct Reply {
  long status = 0;
  nlohmann::json body;
  std::string text;
};

// One HTTP request to `url`; the reply's JSON (discarded if it is not).
Reply Call(const std::string& method, const std::string& url, const std::string& body = "",
           const std::string& bearer = "") {
  s3::HttpClient client;
  s3::HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()};
  request.max_response_bytes = 64 << 20;
  if (!bearer.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer);
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  Result<s3::HttpResponse> response = client.Perform(request);
  if (!response.ok()) {
    ADD_FAILURE() << response.error().ToShortString();
    return {};
  }
  Reply reply;
  reply.status = response->status;
  reply.text.assign(response->body.begin(), response->body.end());
  reply.body = nlohmann::json::parse(reply.text, nullptr, false);
  return reply;
}

// A 200 reply's body must follow its schema (schemas/<name>).
void ExpectSchema(const Reply& reply, const char* name) {
  if (reply.status != 200) return;
  const Status valid = ValidateAgainstSchemaFile(
      reply.body, std::filesystem::path(HX_SOURCE_DIR) / "schemas" / name);
  EXPECT_TRUE(valid.ok()) << name << ": " << valid.error().message;
}

std::unique_ptr<HubProcess> StartHub(const std::string& folder, bool open) {
  std::vector<std::string> args = {"--store", folder, "--insecure-listen", "127.0.0.1:0"};
  if (open) args.push_back("--insecure-no-auth");
  Result<std::unique_ptr<HubProcess>> hub = HubProcess::Start(args);
  if (!hub.ok()) {
    std::fprintf(stderr, "%s\n", hub.error().ToShortString().c_str());
    std::abort();
  }
  return std::move(*hub);
}

// A hub over a folder, shared by the tests (each test uses a fresh vault).
struct OpenHub {
  TempFolder folder;
  std::unique_ptr<HubProcess> process = StartHub(folder.path(), /*open=*/true);
};
OpenHub& SharedHub() {
  static OpenHub hub;
  return hub;
}

class EnvelopeEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    vault_ = "env-" + std::to_string(getpid()) + "-" + std::to_string(n.fetch_add(1));
    base_ = SharedHub().process->url() + "/v1/_envelope/" + vault_;
  }

  // Uploads and returns the envelope id (asserting 201 or 200).
  std::string Upload(const std::string& bytes) {
    const Reply reply = Call("POST", base_ + "/envelopes", bytes);
    EXPECT_TRUE(reply.status == 201 || reply.status == 200) << reply.text;
    return reply.body.value("envelope_id", "");
  }
  Reply Diff(const std::string& id) {
    Reply reply = Call("GET", base_ + "/envelopes/" + id + "/diff");
    ExpectSchema(reply, "hub_envelope_diff_report.schema.json");
    return reply;
  }
  Reply Apply(const std::string& id, const nlohmann::json& request) {
    Reply reply = Call("POST", base_ + "/envelopes/" + id + "/apply", request.dump());
    ExpectSchema(reply, "hub_envelope_apply_report.schema.json");
    return reply;
  }
  static std::string StatusOf(const Reply& report, const std::string& id) {
    for (const nlohmann::json& item : report.body["items"]) {
      if (item["item_id"] == id) return item["status"];
    }
    return "<absent>";
  }
  // The backing store's bytes of the hub's envelope state for the vault.
  std::string HubFile(const std::string& name) const {
    return store_testing::ReadFileOrEmpty(
        SharedHub().folder.Join("_hub/" + vault_ + "/envelope/" + name));
  }

  std::string vault_;
  std::string base_;
};

// The seed's flow: an app uploads its local envelope, previews it, applies
// it; a second envelope with changes is previewed (conflicts by item_type +
// item_id + content_hash) and applied with manual_per_item and per-item
// decisions, then with the missing decision; every report is retrievable.
TEST_F(EnvelopeEndpointsTest, TheSeedFlowUploadPreviewApplyManualPerItemAndReports) {
  const std::string first = EnvelopeBytes({FileItem("a.txt", "a1"), FileItem("b.txt", "b1"),
                                           FileItem("c.txt", "c1"), DirectoryItem("dir")});
  const Reply uploaded = Call("POST", base_ + "/envelopes", first);
  ASSERT_EQ(uploaded.status, 201) << uploaded.text;
  const std::string id1 = uploaded.body["envelope_id"];
  EXPECT_EQ(uploaded.body["items"], 4);
  // Content-addressed: the same envelope again is the same id, nothing new.
  const Reply again = Call("POST", base_ + "/envelopes", first);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["envelope_id"], id1);
  EXPECT_EQ(again.body["created"], false);

  const Reply preview = Diff(id1);
  ASSERT_EQ(preview.status, 200) << preview.text;
  EXPECT_EQ(preview.body["summary"]["new"], 4);
  EXPECT_EQ(preview.body["summary"]["conflicts"], 0);
  EXPECT_EQ(HubFile("items.json"), "") << "a dry run writes nothing";

  const Reply applied = Apply(id1, {{"policy", "local_preferred"}});
  ASSERT_EQ(applied.status, 200) << applied.text;
  EXPECT_EQ(applied.body["outcome"], "applied");
  EXPECT_EQ(applied.body["summary"],
            nlohmann::json({{"created", 4}, {"updated", 0}, {"skipped", 0}, {"conflicted", 0},
                            {"failed", 0}}));
  const Reply stored = Call("GET", base_ + "/reports/" + applied.body["report_id"].get<std::string>());
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(stored.body, applied.body);

  // The app changed a, b and c locally and made d; the dir is the same.
  const std::string id2 =
      Upload(EnvelopeBytes({FileItem("a.txt", "a2"), FileItem("b.txt", "b2"),
                            FileItem("c.txt", "c2"), FileItem("d.txt", "d2"), DirectoryItem("dir")}));
  const std::string items_before = HubFile("items.json");
  const Reply preview2 = Diff(id2);
  ASSERT_EQ(preview2.status, 200);
  EXPECT_EQ(preview2.body["summary"]["conflicts"], 3);
  EXPECT_EQ(preview2.body["summary"]["new"], 1);
  EXPECT_EQ(preview2.body["summary"]["unchanged"], 1);
  EXPECT_EQ(HubFile("items.json"), items_before) << "a dry run writes nothing";

  // a: the app's version; b: the hub's; c: no decision -> conflicted, kept.
  const Reply manual = Apply(id2, {{"policy", "manual_per_item"},
                                   {"decisions", {{"a.txt", "local"}, {"b.txt", "cloud"}}}});
  ASSERT_EQ(manual.status, 200) << manual.text;
  EXPECT_EQ(manual.body["outcome"], "needs_decisions");
  EXPECT_EQ(manual.body["error"]["code"], "KC_SYNC_CONFLICT");
  EXPECT_EQ(StatusOf(manual, "a.txt"), "updated");
  EXPECT_EQ(StatusOf(manual, "b.txt"), "skipped");
  EXPECT_EQ(StatusOf(manual, "c.txt"), "conflicted");
  EXPECT_EQ(StatusOf(manual, "d.txt"), "created");
  EXPECT_EQ(StatusOf(manual, "dir"), "skipped");
  ASSERT_EQ(manual.body["archive"].size(), 2u);
  EXPECT_EQ(manual.body["archive"][0]["name"], "a.txt.cloud");
  EXPECT_EQ(manual.body["archive"][1]["name"], "b.txt.local");
  // The archived versions' contents are kept by the hub.
  for (const nlohmann::json& archived : manual.body["archive"]) {
    const std::string key = archived["content_key"];
    EXPECT_NE(store_testing::ReadFileOrEmpty(SharedHub().folder.Join(key)), "") << key;
  }
  const Reply items = Call("GET", base_ + "/items");
  ASSERT_EQ(items.status, 200);
  std::map<std::string, std::string> hashes;
  for (const nlohmann::json& item : items.body["items"]) hashes[item["item_id"]] = item["content_hash"];
  EXPECT_EQ(hashes["a.txt"], FileItem("a.txt", "a2").content_hash);
  EXPECT_EQ(hashes["b.txt"], FileItem("b.txt", "b1").content_hash);
  EXPECT_EQ(hashes["c.txt"], FileItem("c.txt", "c1").content_hash) << "never guessed";

  // The missing decision (and b's again: the hub kept its own version).
  const Reply decided = Apply(id2, {{"policy", "manual_per_item"},
                                    {"decisions", {{"b.txt", "cloud"}, {"c.txt", "local"}}}});
  ASSERT_EQ(decided.status, 200) << decided.text;
  EXPECT_EQ(decided.body["outcome"], "applied");
  EXPECT_EQ(StatusOf(decided, "c.txt"), "updated");
  EXPECT_EQ(StatusOf(decided, "a.txt"), "skipped");
  EXPECT_EQ(decided.body["summary"]["conflicted"], 0);
  for (const Reply* report : {&manual, &decided}) {
    const Reply got =
        Call("GET", base_ + "/reports/" + report->body["report_id"].get<std::string>());
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.body, report->body);
  }
}

// What `hx envelope export` writes from a real folder is what the hub takes:
// uploaded, previewed and imported whole (files, a symlink, directories).
TEST_F(EnvelopeEndpointsTest, AnEnvelopeThatHxExportsFromAFolderIsUploadedAndImported) {
  TempFolder folder;
  store_testing::WriteFileOrDie(folder.Join("notes.txt"), "guest notes");
  std::filesystem::create_directories(folder.Join("boards/custom"));
  store_testing::WriteFileOrDie(folder.Join("boards/custom/board.json"), "{\"pins\":4}");
  std::filesystem::create_symlink("notes.txt", folder.Join("latest"));
  const std::string out = folder.Join("../export-" + vault_ + ".json");
  const hx::testing::ProcessRun run = hx::testing::RunProcess(
      testing::HxBinary(), {"envelope", "export", folder.path(), "--out", out, "--now-ms", "0"},
      {"HX_PASSPHRASE="});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string bytes = store_testing::ReadFileOrEmpty(out);
  std::filesystem::remove(out);
  const std::string id = Upload(bytes);
  ASSERT_FALSE(id.empty());
  const Reply preview = Diff(id);
  EXPECT_EQ(preview.body["summary"]["new"], 5);  // 2 files, 1 symlink, 2 directories
  EXPECT_EQ(preview.body["summary"]["invalid"], 0);
  const Reply applied = Apply(id, {{"policy", "manual_per_item"}});
  EXPECT_EQ(applied.body["outcome"], "applied");
  EXPECT_EQ(applied.body["summary"]["created"], 5);
}

TEST_F(EnvelopeEndpointsTest, CloudPreferredKeepsTheHubsVersionLocalPreferredReplacesIt) {
  const std::string base = Upload(EnvelopeBytes({FileItem("n.txt", "hub")}));
  ASSERT_EQ(Apply(base, {{"policy", "local_preferred"}}).status, 200);
  const std::string changed = Upload(EnvelopeBytes({FileItem("n.txt", "app")}));

  const Reply cloud = Apply(changed, {{"policy", "cloud_preferred"}});
  ASSERT_EQ(cloud.status, 200) << cloud.text;
  EXPECT_EQ(StatusOf(cloud, "n.txt"), "skipped");
  EXPECT_EQ(cloud.body["items"][0]["winner"], "cloud");
  EXPECT_EQ(cloud.body["archive"][0]["name"], "n.txt.local");
  EXPECT_EQ(Diff(changed).body["summary"]["conflicts"], 1) << "the hub kept its version";

  const Reply local = Apply(changed, {{"policy", "local_preferred"}});
  ASSERT_EQ(local.status, 200) << local.text;
  EXPECT_EQ(StatusOf(local, "n.txt"), "updated");
  EXPECT_EQ(local.body["items"][0]["winner"], "local");
  EXPECT_EQ(local.body["archive"][0]["name"], "n.txt.cloud");
  EXPECT_EQ(local.body["archive"][0]["content_hash"], FileItem("n.txt", "hub").content_hash);
  EXPECT_EQ(Diff(changed).body["summary"]["unchanged"], 1);
}

TEST_F(EnvelopeEndpointsTest, APartialFailureGivesPerItemStatusesAndAppliesTheRest) {
  const std::string id = Upload(EnvelopeBytes(
      {FileItem("a.txt", "a"), DamagedFileItem("damaged.txt"), FileItem("z.txt", "z")}));
  const Reply preview = Diff(id);
  EXPECT_EQ(preview.body["summary"]["invalid"], 1);
  const Reply applied = Apply(id, {{"policy", "local_preferred"}});
  ASSERT_EQ(applied.status, 200) << applied.text;
  EXPECT_EQ(applied.body["outcome"], "partial");
  EXPECT_EQ(applied.body["error"]["code"], "KC_SYNC_APPLY_FAILED");
  EXPECT_EQ(applied.body["error"]["details"]["first_item_id"], "damaged.txt");
  EXPECT_EQ(StatusOf(applied, "a.txt"), "created");
  EXPECT_EQ(StatusOf(applied, "damaged.txt"), "failed");
  EXPECT_EQ(StatusOf(applied, "z.txt"), "created");
  for (const nlohmann::json& item : applied.body["items"]) {
    if (item["item_id"] == "damaged.txt") {
      EXPECT_EQ(item["error"]["code"], "KC_SYNC_APPLY_FAILED");
      EXPECT_THAT(item["error"]["message"].get<std::string>(), HasSubstr("content_hash"));
    }
  }
  EXPECT_EQ(applied.body["summary"]["failed"], 1);
  EXPECT_EQ(applied.body["summary"]["created"], 2);
  const Reply items = Call("GET", base_ + "/items");
  EXPECT_EQ(items.body["items"].size(), 2u);
}

TEST_F(EnvelopeEndpointsTest, AnUnknownSchemaVersionIsRefusedWithTheMigrationHint) {
  nlohmann::json envelope = nlohmann::json::parse(EnvelopeBytes({FileItem("a", "a")}));
  envelope["schema_version"] = "2.0.0";
  Reply reply = Call("POST", base_ + "/envelopes", envelope.dump());
  EXPECT_EQ(reply.status, 400) << reply.text;
  EXPECT_EQ(reply.body["error"]["code"], "KC_SYNC_INPUT_INVALID");
  EXPECT_EQ(reply.body["error"]["category"], "unsupported");
  EXPECT_EQ(reply.body["error"]["details"]["supported"], "1.0.0");
  EXPECT_THAT(reply.body["error"]["message"].get<std::string>(), HasSubstr("upgrade hx"));
  envelope["schema_version"] = "0.9";
  reply = Call("POST", base_ + "/envelopes", envelope.dump());
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body["error"]["message"].get<std::string>(), HasSubstr("export it again"));
  EXPECT_TRUE(store_testing::DirectoryNames(
                  SharedHub().folder.Join("_hub/" + vault_ + "/envelope/uploads"))
                  .empty())
      << "nothing was stored";
}

TEST_F(EnvelopeEndpointsTest, BadInputGetsA4xxWithAKcSyncCodeAndTheHubLivesOn) {
  const std::string id = Upload(EnvelopeBytes({FileItem("a", "a")}));
  const std::string unknown(64, '0');
  const std::string good = EnvelopeBytes({FileItem("a", "a")});
  std::string wrong_type = good;
  wrong_type.replace(wrong_type.find("\"items\":["), 9, "\"items\":7,\"x\":[");
  struct Case {
    std::string name, method, path, body;
    long status;
  };
  const std::vector<Case> cases = {
      {"MalformedJson", "POST", "/envelopes", "{\"schema_version\":", 400},
      {"NotAnObject", "POST", "/envelopes", "[1,2]", 400},
      {"EmptyBody", "POST", "/envelopes", "", 400},
      {"WrongTypes", "POST", "/envelopes", wrong_type, 400},
      {"TraversalItemId", "POST", "/envelopes",
       EnvelopeBytes({FileItem("a", "a")}).replace(good.find("\"item_id\":\"a\""), 13,
                                                   "\"item_id\":\"../a\""),
       400},
      {"HugeEnvelope", "POST", "/envelopes", std::string(kMaxEnvelopeBytes + 1, ' '), 413},
      {"HugeApply", "POST", "/envelopes/" + id + "/apply", std::string(kMaxApplyBodyBytes + 1, ' '),
       413},
      {"ApplyMalformed", "POST", "/envelopes/" + id + "/apply", "{policy", 400},
      {"ApplyWrongType", "POST", "/envelopes/" + id + "/apply", "{\"policy\":[]}", 400},
      {"ApplyUnknownPolicy", "POST", "/envelopes/" + id + "/apply", "{\"policy\":\"keep_both\"}",
       400},
      {"ApplyDecisionForNothing", "POST", "/envelopes/" + id + "/apply",
       R"({"policy":"manual_per_item","decisions":{"zzz":"local"}})", 400},
      {"UnknownEnvelopeDiff", "GET", "/envelopes/" + unknown + "/diff", "", 404},
      {"UnknownEnvelopeApply", "POST", "/envelopes/" + unknown + "/apply",
       R"({"policy":"local_preferred"})", 404},
      {"UnknownReport", "GET", "/reports/" + unknown, "", 404},
      {"EncodedTraversalInId", "GET", "/reports/%2e%2e%2f%2e%2e%2ftoken-key.json", "", 400},
      {"ShortId", "GET", "/envelopes/abc/diff", "", 400},
      {"UppercaseId", "GET", "/reports/" + std::string(64, 'A'), "", 400},
      {"UnknownRoute", "GET", "/envelopes/" + id + "/export", "", 404},
      {"WrongMethod", "GET", "/envelopes", "", 405},
      {"WrongMethodPut", "PUT", "/items", "x", 405},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Reply reply = Call(c.method, base_ + c.path, c.body);
    EXPECT_EQ(reply.status, c.status) << reply.text.substr(0, 300);
    ASSERT_TRUE(reply.body.is_object()) << reply.text.substr(0, 300);
    EXPECT_THAT(reply.body["error"]["code"].get<std::string>(), HasSubstr("KC_SYNC_"));
    EXPECT_FALSE(reply.body["error"]["message"].get<std::string>().empty());
  }
  // A bad vault name in the path and the hub's own prefix as a vault.
  for (const std::string& path : {std::string("/v1/_envelope/_hub/items"),
                                  std::string("/v1/_envelope/Bad/items")}) {
    SCOPED_TRACE(path);
    const Reply reply = Call("GET", SharedHub().process->url() + path);
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.body["error"]["code"], "KC_SYNC_INPUT_INVALID");
  }
  EXPECT_EQ(Call("GET", SharedHub().process->url() + "/healthz").status, 200);
  EXPECT_EQ(Diff(id).status, 200);
}

TEST(EnvelopeAuth, WithoutATokenEveryEnvelopeRouteIsRefusedWithAuthFailed) {
  TempFolder folder;
  const std::unique_ptr<HubProcess> hub = StartHub(folder.path(), /*open=*/false);
  const std::string base = hub->url() + "/v1/_envelope/notes";
  const std::string id(64, 'a');
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/envelopes"},
           {"GET", "/envelopes/" + id + "/diff"},
           {"POST", "/envelopes/" + id + "/apply"},
           {"GET", "/reports/" + id},
           {"GET", "/items"}}) {
    SCOPED_TRACE(method + " " + path);
    for (const std::string bearer : {"", "forged.token"}) {
      const Reply reply = Call(method, base + path, "{}", bearer);
      EXPECT_EQ(reply.status, 401) << reply.text;
      EXPECT_EQ(reply.body["error"]["code"], "KC_SYNC_AUTH_FAILED");
    }
  }
  EXPECT_TRUE(store_testing::DirectoryNames(folder.Join("_hub/notes/envelope")).empty())
      << "nothing was stored";
}

// ------------------------------------------------------------ roles

// A token for a device enrolled with `role` on the hub at `url` (the auth
// library's real flow: hx serve enroll, register, challenge, signature).
std::string EnrolledToken(const std::string& url, const std::string& store,
                          const std::string& role) {
  const hx::testing::ProcessRun run = hx::testing::RunProcess(
      testing::HxBinary(), {"serve", "enroll", "--store", store, "--vault", "notes", "--role", role},
      {"HX_PASSPHRASE="});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::string out = run.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const std::string code = out.substr(out.rfind('\n') + 1);
  auto transport = MakeHttpHubAuthTransport(url);
  Result<DeviceCredential> credential =
      EnrollDevice(*transport, {"notes", code, "app-" + role, "linux"});
  if (!credential.ok()) {
    ADD_FAILURE() << credential.error().ToShortString();
    return "";
  }
  DeviceTokenSource source(std::move(*credential), transport);
  Result<std::string> token = source.Token(/*now_ms=*/0, /*force=*/true);
  if (!token.ok()) {
    ADD_FAILURE() << token.error().ToShortString();
    return "";
  }
  return *token;
}

// Through a real hub with real tokens: a writer uploads and applies; a
// reader previews and reads the report, and its upload and apply are 403.
TEST(EnvelopeAuth, AnEnrolledReaderPreviewsAndReadsReportsButOnlyAWriterUploadsAndApplies) {
  TempFolder folder;
  const std::unique_ptr<HubProcess> hub = StartHub(folder.path(), /*open=*/false);
  const std::string base = hub->url() + "/v1/_envelope/notes";
  const std::string writer = EnrolledToken(hub->url(), folder.path(), "writer");
  const std::string reader = EnrolledToken(hub->url(), folder.path(), "reader");
  ASSERT_FALSE(writer.empty());
  ASSERT_FALSE(reader.empty());
  const std::string envelope = EnvelopeBytes({FileItem("a.txt", "a")});

  const Reply refused_upload = Call("POST", base + "/envelopes", envelope, reader);
  EXPECT_EQ(refused_upload.status, 403) << refused_upload.text;
  EXPECT_EQ(refused_upload.body["error"]["code"], "KC_SYNC_AUTH_FAILED");
  const Reply uploaded = Call("POST", base + "/envelopes", envelope, writer);
  ASSERT_EQ(uploaded.status, 201) << uploaded.text;
  const std::string id = uploaded.body["envelope_id"];
  EXPECT_EQ(Call("GET", base + "/envelopes/" + id + "/diff", "", reader).status, 200);
  const std::string apply = R"({"policy":"local_preferred"})";
  const Reply refused_apply = Call("POST", base + "/envelopes/" + id + "/apply", apply, reader);
  EXPECT_EQ(refused_apply.status, 403) << refused_apply.text;
  EXPECT_EQ(refused_apply.body["error"]["code"], "KC_SYNC_AUTH_FAILED");
  EXPECT_EQ(Call("GET", base + "/items", "", reader).body["items"].size(), 0u)
      << "the reader's apply changed nothing";
  const Reply applied = Call("POST", base + "/envelopes/" + id + "/apply", apply, writer);
  ASSERT_EQ(applied.status, 200) << applied.text;
  const Reply report = Call(
      "GET", base + "/reports/" + applied.body["report_id"].get<std::string>(), "", reader);
  EXPECT_EQ(report.status, 200);
  EXPECT_EQ(report.body["summary"]["created"], 1);
  // A token of this vault is refused for another vault.
  EXPECT_EQ(Call("GET", hub->url() + "/v1/_envelope/other/items", "", writer).status, 401);
}


class FakeAuthorizer final : public Authorizer {
 public:
  Result<Principal> Authenticate(std::string_view vault, std::string_view bearer,
                                 std::int64_t now_ms) override {
    if (bearer != "good") return Error(SyncCode::kAuthFailed, Category::kAuth, "enroll first");
    return Principal{other_vault ? "other" : std::string(vault), "dev-1", role, now_ms + 1000};
  }
  Role role = Role::kWriter;
  bool other_vault = false;
};

HubResponse ServeOnce(EnvelopeService& service, std::string method, std::string rest,
                      std::string body = "") {
  HubRequest request;
  request.method = std::move(method);
  request.path = std::string(kEnvelopeRoutePrefix) + rest;
  request.rest = std::move(rest);
  request.body = std::move(body);
  request.headers.emplace("authorization", "Bearer good");
  return service.Serve(request);
}

TEST(EnvelopeRoles, AReaderPreviewsAndReadsReportsButCannotUploadOrApply) {
  MemoryStore store;
  auto authorizer = std::make_shared<FakeAuthorizer>();
  EnvelopeService service(store, authorizer);
  const std::string envelope = EnvelopeBytes({FileItem("a", "a")});
  const HubResponse uploaded = ServeOnce(service, "POST", "v/envelopes", envelope);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const std::string id = nlohmann::json::parse(uploaded.body)["envelope_id"];
  const HubResponse applied = ServeOnce(service, "POST", "v/envelopes/" + id + "/apply",
                                        R"({"policy":"local_preferred"})");
  ASSERT_EQ(applied.status, 200) << applied.body;
  const std::string report = nlohmann::json::parse(applied.body)["report_id"];

  authorizer->role = Role::kReader;
  EXPECT_EQ(ServeOnce(service, "GET", "v/envelopes/" + id + "/diff").status, 200);
  EXPECT_EQ(ServeOnce(service, "GET", "v/reports/" + report).status, 200);
  EXPECT_EQ(ServeOnce(service, "GET", "v/items").status, 200);
  for (const auto& [rest, body] : std::vector<std::pair<std::string, std::string>>{
           {"v/envelopes", envelope},
           {"v/envelopes/" + id + "/apply", R"({"policy":"cloud_preferred"})"}}) {
    SCOPED_TRACE(rest);
    const HubResponse refused = ServeOnce(service, "POST", rest, body);
    EXPECT_EQ(refused.status, 403);
    EXPECT_THAT(refused.body, HasSubstr("KC_SYNC_AUTH_FAILED"));
    EXPECT_THAT(refused.body, HasSubstr("reader"));
  }
  authorizer->other_vault = true;
  const HubResponse other = ServeOnce(service, "GET", "v/items");
  EXPECT_EQ(other.status, 401);
  EXPECT_THAT(other.body, HasSubstr("another vault"));
}

// ------------------------------------------------------------ writes

// Another hub applying to the same vault: before each of the first `races`
// conditional writes of the item set, it replaces the item set with one
// that has an item of its own ("other-<n>"), so the write loses the race.
class RacingStore final : public StoreWrapper {
 public:
  RacingStore(std::unique_ptr<Store> inner, int races) : StoreWrapper(std::move(inner)), races_(races) {}

  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    Race(key);
    return StoreWrapper::PutIfAbsent(key, bytes);
  }
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override {
    Race(key);
    return StoreWrapper::PutIfMatch(key, bytes, expected);
  }
  int raced() const { return raced_; }

 private:
  void Race(std::string_view key) {
    if (!key.ends_with("/envelope/items.json") || raced_ >= races_) return;
    ++raced_;
    HubItems items;
    if (Result<Bytes> old = inner().Get(key, kMaxHubItemsBytes); old.ok()) {
      items = *ParseHubItems(std::string(old->begin(), old->end()));
    }
    const EnvelopeItem other = FileItem("other-" + std::to_string(raced_), "another hub's");
    items[other.item_id] = {other.item_type, other.item_id, other.updated_utc, other.content_hash};
    const std::string text = *EncodeHubItems(items);
    ASSERT_TRUE(inner().Put(key, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()})
                    .ok());
  }
  const int races_;
  int raced_ = 0;
};

nlohmann::json ItemsJson(EnvelopeService& service) {
  return nlohmann::json::parse(ServeOnce(service, "GET", "v/items").body);
}

std::string UploadOnce(EnvelopeService& service, const std::string& envelope) {
  const HubResponse uploaded = ServeOnce(service, "POST", "v/envelopes", envelope);
  EXPECT_TRUE(uploaded.status == 201 || uploaded.status == 200) << uploaded.body;
  return nlohmann::json::parse(uploaded.body).value("envelope_id", "");
}

// Uploads `envelope` and applies it with local_preferred: the apply's reply.
HubResponse UploadAndApply(EnvelopeService& service, const std::string& envelope) {
  const std::string id = UploadOnce(service, envelope);
  return ServeOnce(service, "POST", "v/envelopes/" + id + "/apply",
                   R"({"policy":"local_preferred"})");
}

TEST(EnvelopeWrites, AnApplyThatLosesTheRaceForTheItemSetPlansAgainAndKeepsTheOtherHubsItems) {
  RacingStore store(std::make_unique<MemoryStore>(), /*races=*/2);
  EnvelopeService service(store, std::make_shared<FakeAuthorizer>());
  const HubResponse applied = UploadAndApply(service, EnvelopeBytes({FileItem("a.txt", "a")}));
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(store.raced(), 2);
  const nlohmann::json items = ItemsJson(service);
  std::set<std::string> ids;
  for (const nlohmann::json& item : items["items"]) ids.insert(item["item_id"]);
  EXPECT_EQ(ids, (std::set<std::string>{"a.txt", "other-1", "other-2"}));
  const std::string report = nlohmann::json::parse(applied.body)["report_id"];
  EXPECT_EQ(ServeOnce(service, "GET", "v/reports/" + report).body, applied.body);
}

TEST(EnvelopeWrites, AnApplyThatKeepsLosingStopsWithLockedAndChangesNothingOfItsOwn) {
  RacingStore store(std::make_unique<MemoryStore>(), /*races=*/1000);
  EnvelopeService service(store, std::make_shared<FakeAuthorizer>());
  const HubResponse applied = UploadAndApply(service, EnvelopeBytes({FileItem("a.txt", "a")}));
  EXPECT_EQ(applied.status, 423) << applied.body;
  EXPECT_THAT(applied.body, HasSubstr("KC_SYNC_LOCKED"));
  EXPECT_EQ(store.raced(), kApplyAttempts);
  const nlohmann::json items = ItemsJson(service);
  ASSERT_EQ(items["items"].size(), static_cast<std::size_t>(kApplyAttempts));
  for (const nlohmann::json& item : items["items"]) {
    EXPECT_NE(item["item_id"], "a.txt");
  }
}

TEST(EnvelopeWrites, AContentTheStoreRefusesFailsThatItemAndTheOthersApply) {
  auto faulty = std::make_unique<FaultInjectingStore>(std::make_unique<MemoryStore>());
  FaultRule rule;
  rule.op = hx::StoreOp::kPut;
  rule.key_prefix = "_hub/v/envelope/content/";
  rule.times = 1;
  faulty->AddRule(rule);
  EnvelopeService service(*faulty, std::make_shared<FakeAuthorizer>());
  const std::string envelope = EnvelopeBytes({FileItem("a.txt", "a"), FileItem("b.txt", "b")});
  const HubResponse applied = UploadAndApply(service, envelope);
  ASSERT_EQ(applied.status, 200) << applied.body;
  const nlohmann::json report = nlohmann::json::parse(applied.body);
  EXPECT_EQ(report["outcome"], "partial");
  EXPECT_EQ(report["items"][0]["status"], "failed");
  EXPECT_EQ(report["items"][0]["error"]["code"], "KC_SYNC_NETWORK_FAILED");
  EXPECT_EQ(report["items"][1]["status"], "created");
  const nlohmann::json items = ItemsJson(service)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["item_id"], "b.txt");
  // Applied again, the failed item is new still and now goes in.
  const HubResponse again = UploadAndApply(service, envelope);
  EXPECT_EQ(nlohmann::json::parse(again.body)["outcome"], "applied");
  EXPECT_EQ(ItemsJson(service)["items"].size(), 2u);
}

// ------------------------------------------------------------ memory

TEST(EnvelopeMemory, WorkBeyondTheHubWideBudgetIsRefused503RetryableUntilTheOtherWorkEnds) {
  MemoryStore store;
  auto memory = std::make_shared<MemoryBudget>(1 << 20);
  EnvelopeServiceOptions options;
  options.memory = memory;
  EnvelopeService service(store, std::make_shared<FakeAuthorizer>(), options);
  // About 27 KB of JSON: some 270 KB while it is parsed.
  const std::string envelope = EnvelopeBytes({FileItem("a.txt", std::string(20000, 'a'))});
  const std::string id = UploadOnce(service, envelope);
  ASSERT_FALSE(id.empty());
  const std::string apply = R"({"policy":"local_preferred"})";

  // Other requests hold 900 KiB of the 1 MiB: every route that would parse
  // the envelope is refused before it does, and says to retry.
  std::optional<MemoryBudget::Lease> other = memory->TryAcquire(900 << 10);
  ASSERT_TRUE(other.has_value());
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST v/envelopes", envelope},
      {"GET v/envelopes/" + id + "/diff", ""},
      {"POST v/envelopes/" + id + "/apply", apply}};
  for (const auto& [route, body] : routes) {
    SCOPED_TRACE(route);
    const std::size_t space = route.find(' ');
    const HubResponse refused =
        ServeOnce(service, route.substr(0, space), route.substr(space + 1), body);
    EXPECT_EQ(refused.status, 503) << refused.body;
    const nlohmann::json error = nlohmann::json::parse(refused.body)["error"];
    EXPECT_EQ(error["code"], "KC_SYNC_NETWORK_FAILED");
    EXPECT_EQ(error["category"], "throttling");
    EXPECT_EQ(error["retryable"], true);
    EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("retry"));
  }
  EXPECT_EQ(memory->in_use(), std::uint64_t{900} << 10);

  // Once the other work ends, the same requests run, and give back what
  // they were charged.
  other.reset();
  EXPECT_EQ(ServeOnce(service, "GET", "v/envelopes/" + id + "/diff").status, 200);
  const HubResponse applied = ServeOnce(service, "POST", "v/envelopes/" + id + "/apply", apply);
  EXPECT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(memory->in_use(), 0u);
}

}  // namespace
}  // namespace hx::hub
