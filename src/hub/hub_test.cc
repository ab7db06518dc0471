// The hub end to end: a real `hx serve` process on loopback in front of a
// folder store and in front of moto, reached through OpenStore("hx://...")
// exactly as every command reaches it; the store conformance suite over it;
// TLS with a certificate made here and pinned; the change feed; health and
// metrics; and hostile bytes on a raw socket. The server's bounds in process
// are hub_server_test.cc.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/remote_notifier.h"
#include "base/process_test_util.h"
#include "hub/protocol.h"
#include "hub/router.h"
#include "hub/server.h"
#include "hub/store_service.h"
#include "hub/testing/hub_process.h"
#include "hub/testing/raw_http_test_util.h"
#include "store/hub/hub_store.h"
#include "store/memory_store.h"
#include "store/s3/http_client.h"
#include "store/s3/testing/moto_server.h"
#include "store/store.h"
#include "store/store_conformance.h"
#include "store/store_test_util.h"

namespace hx::hub {
namespace {

using store_testing::StoreFactory;
using store_testing::TempFolder;
using store_testing::ToBytes;
using testing::BodyOf;
using testing::ExpectRawErrors;
using ::testing::HasSubstr;
using testing::HubProcess;
using testing::RawCase;
using testing::RawExchange;
using testing::StatusOf;

// ------------------------------------------------------------ helpers

std::unique_ptr<HubProcess> StartHubOrDie(
    const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& env = {}) {
  Result<std::unique_ptr<HubProcess>> hub = HubProcess::Start(args, env);
  if (!hub.ok()) {
    std::fprintf(stderr, "%s\n", hub.error().ToShortString().c_str());
    std::abort();
  }
  return std::move(*hub);
}

// A hub over a folder, shared by the tests of this binary (vaults isolate
// them: every store a test makes is a fresh vault).
struct FolderHub {
  TempFolder folder;
  std::unique_ptr<HubProcess> process = StartHubOrDie(
      {"--store", folder.path(), "--insecure-listen", "127.0.0.1:0", "--insecure-no-auth"});
};
// Destroyed at exit: the hub gets SIGTERM and is reaped.
FolderHub& SharedFolderHub() {
  static FolderHub hub;
  return hub;
}

struct MotoHub {
  std::unique_ptr<HubProcess> process;
  MotoHub() {
    s3::testing::MotoServer& moto = s3::testing::SharedMotoServer();
    const std::string bucket = moto.NewBucket();
    process = StartHubOrDie(
        {"--store", "s3+endpoint://" + bucket + "/hubs", "--endpoint", moto.endpoint(),
         "--path-style", "--region", s3::testing::MotoServer::kRegion, "--insecure-listen",
         "127.0.0.1:0", "--insecure-no-auth"},
        {{"AWS_ACCESS_KEY_ID", moto.credentials().access_key_id},
         {"AWS_SECRET_ACCESS_KEY", moto.credentials().secret_access_key}});
  }
};
MotoHub& SharedMotoHub() {
  static MotoHub hub;
  return hub;
}

std::string FreshVault() {
  static std::atomic<int> n{0};
  return "vault-" + std::to_string(getpid()) + "-" + std::to_string(n.fetch_add(1));
}

// The store of a fresh vault on the hub at `url` ("http://127.0.0.1:P"),
// opened the way every command opens a target.
std::unique_ptr<Store> OpenVault(const std::string& url, const std::string& vault) {
  const std::string uri = "hx://" + url.substr(url.find("://") + 3) + "/" + vault;
  Result<Target> target = ParseTargetUri(uri, {}, "/");
  if (!target.ok()) std::abort();
  Result<std::unique_ptr<Store>> store = OpenStore(*target);
  if (!store.ok()) std::abort();
  return std::move(*store);
}

s3::HttpResponse HttpGetOrDie(const std::string& url, const std::string& ca_file = "") {
  s3::HttpOptions options;
  options.ca_file = ca_file;
  s3::HttpClient client(options);
  s3::HttpRequest request;
  request.method = "GET";
  request.url = url;
  Result<s3::HttpResponse> response = client.Perform(request);
  if (!response.ok()) {
    ADD_FAILURE() << response.error().ToShortString();
    return {};
  }
  return std::move(*response);
}

std::string BodyText(const s3::HttpResponse& response) {
  return std::string(response.body.begin(), response.body.end());
}

// ------------------------------------------------------------ conformance

using store_testing::StoreConformanceTest;
INSTANTIATE_TEST_SUITE_P(
    Hub, StoreConformanceTest,
    ::testing::Values(
        StoreFactory{"HubOverFolder",
                     [] { return OpenVault(SharedFolderHub().process->url(), FreshVault()); }},
        StoreFactory{"HubOverMoto",
                     [] { return OpenVault(SharedMotoHub().process->url(), FreshVault()); }}),
    store_testing::StoreFactoryName);

// ------------------------------------------------------------ vaults

TEST(HubVaults, VaultsOfOneHubDoNotSeeEachOthersKeys) {
  const std::string url = SharedFolderHub().process->url();
  std::unique_ptr<Store> a = OpenVault(url, FreshVault());
  std::unique_ptr<Store> b = OpenVault(url, FreshVault());
  ASSERT_TRUE(a->Put("head.json", ToBytes("a")).ok());
  EXPECT_FALSE(*b->Exists("head.json"));
  EXPECT_TRUE(b->List("")->empty());
  ASSERT_EQ(a->List("")->size(), 1u);
}

TEST(HubVaults, AVaultsKeysLiveUnderItsNameInTheBackingStore) {
  FolderHub& hub = SharedFolderHub();
  const std::string vault = FreshVault();
  std::unique_ptr<Store> store = OpenVault(hub.process->url(), vault);
  ASSERT_TRUE(store->Put("blobs/ab/x", ToBytes("x")).ok());
  EXPECT_EQ(store_testing::ReadFileOrEmpty(hub.folder.Join(vault + "/blobs/ab/x")), "x");
}

// ------------------------------------------------------------ commands

// hx itself through a hub: two devices init on one hx:// vault, one pushes,
// the other pulls; and the hub's backing store holds no plaintext (neither a
// file's name nor its content appears in any of its bytes).
TEST(HubCommands, InitPushPullThroughAHubAndTheHubHoldsNoPlaintext) {
  FolderHub& hub = SharedFolderHub();
  TempFolder devices;
  const std::string vault = FreshVault();
  const std::string target = "hx://" + hub.process->address() + "/" + vault;
  const std::vector<std::string> env = {"HOME=" + devices.path(),
                                        "HX_PASSPHRASE=hub round trip passphrase"};
  auto hx = [&](const std::vector<std::string>& args) {
    return hx::testing::RunProcess(testing::HxBinary(), args, env);
  };
  const std::string a = devices.Join("a");
  const std::string b = devices.Join("b");
  auto run = hx({"sync", "init", a, target});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string marker_name = "marker-name-7f3a9c.txt";
  const std::string marker_text = "marker content 51d0e8b2 never leaves the device";
  store_testing::WriteFileOrDie(a + "/" + marker_name, marker_text);
  run = hx({"sync", "push", a});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = hx({"sync", "init", b, target});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = hx({"sync", "pull", b});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(store_testing::ReadFileOrEmpty(b + "/" + marker_name), marker_text);

  const std::string grep = "grep -r -l -a -e '" + marker_name + "' -e 'marker content' " +
                           hub.folder.Join(vault) + " >/dev/null";
  EXPECT_NE(std::system(grep.c_str()), 0) << "the hub's store holds plaintext";
}

// ------------------------------------------------------------ hostile input

TEST(HubBadInput, EveryMalformedRequestGetsA4xxWithAKcSyncCodeAndTheHubLivesOn) {
  FolderHub& hub = SharedFolderHub();
  const int port = hub.process->port();
  const std::string ok_vault = FreshVault();
  auto get = [](const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  };
  const std::vector<RawCase> cases = {
      {"NotHttp", "\x16\x03\x01garbage\r\n\r\n", 400},
      {"BadMethodToken", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"BadVersion", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"HeaderTooLarge",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n", 431},
      {"BodyTooLarge",
       "PUT /v1/" + ok_vault + "/o/k HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
       413},
      {"TargetNotAPath", get("http://evil/x"), 400},
      {"UnknownPath", get("/nope"), 404},
      {"WrongMethod",
       "POST /v1/" + ok_vault +
           "/o/k HTTP/1.1\r\nHost: x\r\nContent-Length: "
           "0\r\nConnection: close\r\n\r\n",
       405},
      {"TraversalInKey", get("/v1/" + ok_vault + "/o/../../etc/passwd?max=10"), 400},
      {"DotSegmentInKey", get("/v1/" + ok_vault + "/o/a/./b?max=10"), 400},
      {"EncodedTraversal", get("/v1/" + ok_vault + "/o/%2e%2e/x?max=10"), 400},
      {"HubPrivatePrefixAsVault", get("/v1/_hub/o/devices?max=10"), 400},
      {"VaultWithDots", get("/v1/../o/x?max=10"), 400},
      {"UppercaseVault", get("/v1/Vault/o/x?max=10"), 400},
      {"EmptyKey", get("/v1/" + ok_vault + "/o/?max=10"), 400},
      {"KeyTooLong", get("/v1/" + ok_vault + "/o/" + std::string(256, 'k') + "?max=1"), 400},
      {"MissingMax", get("/v1/" + ok_vault + "/o/k"), 400},
      {"MaxNotANumber", get("/v1/" + ok_vault + "/o/k?max=-1"), 400},
      {"OffsetWithoutLength", get("/v1/" + ok_vault + "/o/k?offset=1"), 400},
      {"VersionNotHex", get("/v1/" + ok_vault + "/o/k?max=1&if-none-match=zz"), 400},
      {"BadPercentEncoding", get("/v1/" + ok_vault + "/list?prefix=%zz"), 400},
      {"BadListPrefix", get("/v1/" + ok_vault + "/list?prefix=../"), 400},
      {"FeedWaitTooLong", get("/v1/" + ok_vault + "/feed?wait_ms=99999999"), 400},
      {"NoOperation", get("/v1/" + ok_vault), 400},
      {"UnknownOperation", get("/v1/" + ok_vault + "/admin"), 400},
      {"BothConditions",
       "PUT /v1/" + ok_vault +
           "/o/k?if-absent=1&if-match=00 HTTP/1.1\r\nHost: x\r\n"
           "Content-Length: 1\r\nConnection: close\r\n\r\nx",
       400},
      {"GetWithBody",
       "GET /v1/" + ok_vault +
           "/o/k?max=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
           "Connection: close\r\n\r\nx",
       400},
      {"ChunkedGarbage",
       "PUT /v1/" + ok_vault +
           "/o/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "zz\r\n",
       400},
  };
  ExpectRawErrors(port, cases);
  EXPECT_EQ(StatusOf(RawExchange(port, get("/healthz"))), 200);
}

TEST(HubBadInput, NothingOutsideTheVaultsFolderIsWrittenByTraversalAttempts) {
  FolderHub& hub = SharedFolderHub();
  const std::string put =
      "PUT /v1/x/o/../../escaped HTTP/1.1\r\nHost: x\r\nContent-Length: "
      "1\r\nConnection: close\r\n\r\nx";
  EXPECT_EQ(StatusOf(RawExchange(hub.process->port(), put)), 400);
  EXPECT_EQ(store_testing::ReadFileOrEmpty(hub.folder.path() + "/../escaped"), "");
}

// ------------------------------------------------------------ feed

TEST(HubFeed, ALongPollReturnsWhenTheHeadMoves) {
  const std::string url = SharedFolderHub().process->url();
  const std::string vault = FreshVault();
  std::unique_ptr<Store> store = OpenVault(url, vault);
  const Result<StoreVersion> first = store->PutIfAbsent("head.json", ToBytes("1"));
  ASSERT_TRUE(first.ok());
  // A poll after the current head waits; a write of the head ends it.
  auto poll = std::async(std::launch::async, [&] {
    return HttpGetOrDie(url + "/v1/" + vault + "/feed?after=" + EncodeVersion(*first));
  });
  ASSERT_TRUE(store->PutIfMatch("head.json", ToBytes("2"), *first).ok());
  const s3::HttpResponse reply = poll.get();
  ASSERT_EQ(reply.status, 200) << BodyText(reply);
  const nlohmann::json body = nlohmann::json::parse(BodyText(reply));
  EXPECT_TRUE(body["changed"].get<bool>());
  const auto now = store->GetVersioned("head.json", 100);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(body["head"].get<std::string>(), EncodeVersion(now->second));
}

TEST(HubFeed, APollWithAnOldHeadAnswersAtOnceAndAnEmptyWaitSaysUnchanged) {
  const std::string url = SharedFolderHub().process->url();
  const std::string vault = FreshVault();
  std::unique_ptr<Store> store = OpenVault(url, vault);
  const Result<StoreVersion> head = store->PutIfAbsent("head.json", ToBytes("1"));
  ASSERT_TRUE(head.ok());
  nlohmann::json body =
      nlohmann::json::parse(BodyText(HttpGetOrDie(url + "/v1/" + vault + "/feed?after=00")));
  EXPECT_TRUE(body["changed"].get<bool>());
  body = nlohmann::json::parse(BodyText(
      HttpGetOrDie(url + "/v1/" + vault + "/feed?wait_ms=0&after=" + EncodeVersion(*head))));
  EXPECT_FALSE(body["changed"].get<bool>());
}

// The agent's notifier for a hub target is woken by the feed, not by its
// schedule: the idle interval is an hour, and the wake-up still comes when
// another device writes the head.
TEST(HubFeed, TheAgentsNotifierIsWokenByTheFeedWhenAnotherDevicePushes) {
  const std::string url = SharedFolderHub().process->url();
  const std::string vault = FreshVault();
  std::unique_ptr<Store> mine = OpenVault(url, vault);
  std::unique_ptr<Store> other = OpenVault(url, vault);
  const Result<StoreVersion> first = other->PutIfAbsent("head.json", ToBytes("1"));
  ASSERT_TRUE(first.ok());
  const Result<Target> target =
      ParseTargetUri("hx://" + url.substr(url.find("://") + 3) + "/" + vault, {}, "/");
  ASSERT_TRUE(target.ok());
  RemoteNotifierOptions options;
  options.active_interval_ms = 3'600'000;
  options.idle_interval_ms = 3'600'000;
  std::unique_ptr<RemoteNotifier> notifier = MakeRemoteNotifier(*target, *mine, options);
  EXPECT_EQ(notifier->mode(), "hub_feed");
  std::mutex mu;
  std::condition_variable cv;
  int wakes = 0;
  notifier->SetWakeup([&] {
    std::lock_guard lock(mu);
    ++wakes;
    cv.notify_all();
  });
  // The first look records the head; nothing is due for an hour after it.
  ASSERT_FALSE(*notifier->Check(0));
  // The feed's first answer (the head it had not seen) may wake it once.
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return wakes > 0; });
  }
  (void)notifier->Check(1);
  const int before = [&] {
    std::lock_guard lock(mu);
    return wakes;
  }();
  EXPECT_GT(notifier->NextCheckInMs(2), 1'000'000);

  ASSERT_TRUE(other->PutIfMatch("head.json", ToBytes("2"), *first).ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return wakes > before; }));
  }
  EXPECT_EQ(notifier->NextCheckInMs(3), 0);
  EXPECT_TRUE(*notifier->Check(3));
}

// ------------------------------------------------------------ health

TEST(HubHealth, HealthReadinessAndMetricsAnswer) {
  const std::string url = SharedFolderHub().process->url();
  EXPECT_EQ(HttpGetOrDie(url + "/healthz").status, 200);
  EXPECT_EQ(HttpGetOrDie(url + "/readyz").status, 200);
  const s3::HttpResponse metrics = HttpGetOrDie(url + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(BodyText(metrics),
              HasSubstr("hx_hub_requests_total{route=\"/healthz\",status=\"200\"}"));
  EXPECT_THAT(BodyText(metrics), HasSubstr("hx_hub_request_duration_seconds_bucket"));
  EXPECT_THAT(BodyText(metrics), HasSubstr("hx_hub_open_connections"));
  EXPECT_THAT(BodyText(metrics), HasSubstr("hx_hub_open_feeds"));
}

TEST(HubHealth, ReadinessFailsWhenTheBackingStoreIsGone) {
  TempFolder folder;
  const std::string store_dir = folder.Join("store");
  ASSERT_EQ(std::system(("mkdir " + store_dir).c_str()), 0);
  std::unique_ptr<HubProcess> hub = StartHubOrDie(
      {"--store", store_dir, "--insecure-listen", "127.0.0.1:0", "--insecure-no-auth"});
  EXPECT_EQ(HttpGetOrDie(hub->url() + "/readyz").status, 200);
  ASSERT_EQ(std::system(("rm -rf " + store_dir + " && touch " + store_dir).c_str()), 0);
  const s3::HttpResponse ready = HttpGetOrDie(hub->url() + "/readyz");
  EXPECT_EQ(ready.status, 503) << BodyText(ready);
  EXPECT_THAT(BodyText(ready), HasSubstr("KC_SYNC_"));
  EXPECT_EQ(HttpGetOrDie(hub->url() + "/healthz").status, 200);
}

// ------------------------------------------------------------ lifecycle

TEST(HubLifecycle, SigtermAndSigintStopTheHubCleanly) {
  TempFolder folder;
  for (const int signal : {SIGTERM, SIGINT}) {
    std::unique_ptr<HubProcess> hub = StartHubOrDie(
        {"--store", folder.path(), "--insecure-listen", "127.0.0.1:0", "--insecure-no-auth"});
    std::unique_ptr<Store> store = OpenVault(hub->url(), "v");
    ASSERT_TRUE(store->Put("k", ToBytes("v")).ok());
    const int status = hub->StopWith(signal);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

TEST(HubLifecycle, PlainHttpIsRefusedOnANonLoopbackAddress) {
  auto router = std::make_shared<Router>();
  ServerOptions options;
  options.listen = "0.0.0.0:0";
  const auto server = HubServer::Start(options, router);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, SyncCode::kInputInvalid);
  EXPECT_THAT(server.error().message, HasSubstr("loopback"));
}

// ------------------------------------------------------------ TLS

// A self-signed certificate for 127.0.0.1 made with the openssl CLI.
void MakeCertificate(const TempFolder& folder, const std::string& name) {
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hx-hub-test "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      folder.Join(name + ".key") + " -out " + folder.Join(name + ".pem") + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(HubTls, AClientThatPinsTheHubsCertificateWorksAndAWrongPinFailsClearly) {
  TempFolder folder;
  MakeCertificate(folder, "hub");
  MakeCertificate(folder, "other");
  const std::string store_dir = folder.Join("store");
  ASSERT_EQ(std::system(("mkdir " + store_dir).c_str()), 0);
  std::unique_ptr<HubProcess> hub = StartHubOrDie(
      {"--store", store_dir, "--listen", "127.0.0.1:0", "--tls-cert", folder.Join("hub.pem"),
       "--tls-key", folder.Join("hub.key"), "--insecure-no-auth"});
  ASSERT_THAT(hub->url(), ::testing::StartsWith("https://"));
  const Result<Target> target = ParseTargetUri("hxs://" + hub->address() + "/v", {}, "/");
  ASSERT_TRUE(target.ok());

  HubStoreOptions pinned;
  pinned.ca_file = folder.Join("hub.pem");
  Result<std::unique_ptr<Store>> store = MakeHubStore(*target, pinned);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("head.json", ToBytes("sealed")).ok());
  EXPECT_EQ(*(*store)->Get("head.json", 100), ToBytes("sealed"));

  HubStoreOptions wrong;
  wrong.ca_file = folder.Join("other.pem");
  Result<std::unique_ptr<Store>> refused = MakeHubStore(*target, wrong);
  ASSERT_TRUE(refused.ok());
  const Result<Bytes> got = (*refused)->Get("head.json", 100);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed);
  EXPECT_EQ(got.error().category, Category::kAuth);
  EXPECT_THAT(got.error().message, HasSubstr("HX_HUB_CA"));

  // The system CA store does not know a self-signed hub either.
  Result<std::unique_ptr<Store>> system = MakeHubStore(*target, {});
  ASSERT_TRUE(system.ok());
  EXPECT_FALSE((*system)->Exists("head.json").ok());
}

TEST(HubTls, PlainHttpToTheTlsPortIsNotServed) {
  TempFolder folder;
  MakeCertificate(folder, "hub");
  std::unique_ptr<HubProcess> hub = StartHubOrDie(
      {"--store", folder.path(), "--listen", "127.0.0.1:0", "--tls-cert", folder.Join("hub.pem"),
       "--tls-key", folder.Join("hub.key"), "--insecure-no-auth"});
  const std::string reply =
      RawExchange(hub->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(reply, ::testing::Not(HasSubstr("\"status\":\"ok\"")));
}

// ------------------------------------------------------------ roles

// An authorizer that answers what the test says.
class FakeAuthorizer final : public Authorizer {
 public:
  Result<Principal> Authenticate(std::string_view vault, std::string_view bearer,
                                 std::int64_t now_ms) override {
    if (bearer != "good") {
      return Error(SyncCode::kAuthFailed, Category::kAuth, "no valid token; enroll the device");
    }
    return Principal{vault_override.empty() ? std::string(vault) : vault_override, "dev-1", role,
                     now_ms + 1000};
  }
  Role role = Role::kWriter;
  std::string vault_override;
};

HubResponse ServeOnce(StoreService& service, std::string method, std::string rest,
                      std::string query, std::string bearer, std::string body = "") {
  HubRequest request;
  request.method = std::move(method);
  request.path = "/v1/" + rest;
  request.rest = std::move(rest);
  request.query = std::move(query);
  request.body = std::move(body);
  if (!bearer.empty()) request.headers.emplace("authorization", "Bearer " + bearer);
  HubResponse out;
  service.Serve(std::move(request), [&out](HubResponse response) { out = std::move(response); });
  return out;
}

TEST(HubRoles, AReaderReadsButItsWritesAreRefusedWithAuthFailed) {
  auto authorizer = std::make_shared<FakeAuthorizer>();
  auto stores =
      std::make_shared<VaultStores>([](const std::string&) -> Result<std::unique_ptr<Store>> {
        return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
      });
  StoreService service(stores, authorizer, {});
  ASSERT_EQ(ServeOnce(service, "PUT", "v/o/k", "", "good", "bytes").status, 200);

  authorizer->role = Role::kReader;
  EXPECT_EQ(ServeOnce(service, "GET", "v/o/k", "max=100", "good").body, "bytes");
  for (const auto& [method, query] : std::vector<std::pair<std::string, std::string>>{
           {"PUT", ""}, {"PUT", "if-absent=1"}, {"PUT", "if-match=00"}, {"DELETE", ""}}) {
    SCOPED_TRACE(method + "?" + query);
    const HubResponse refused =
        ServeOnce(service, method, "v/o/k", query, "good", method == "PUT" ? "x" : "");
    EXPECT_EQ(refused.status, 403);
    EXPECT_THAT(refused.body, HasSubstr("KC_SYNC_AUTH_FAILED"));
    EXPECT_THAT(refused.body, HasSubstr("reader"));
  }
  EXPECT_EQ(ServeOnce(service, "GET", "v/o/k", "max=100", "good").body, "bytes");
  service.Stop();
}

TEST(HubRoles, AMissingTokenOrOneForAnotherVaultIsRefused) {
  auto authorizer = std::make_shared<FakeAuthorizer>();
  auto stores =
      std::make_shared<VaultStores>([](const std::string&) -> Result<std::unique_ptr<Store>> {
        return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
      });
  StoreService service(stores, authorizer, {});
  HubResponse refused = ServeOnce(service, "GET", "v/o/k", "max=1", "");
  EXPECT_EQ(refused.status, 401);
  EXPECT_THAT(refused.body, HasSubstr("KC_SYNC_AUTH_FAILED"));
  authorizer->vault_override = "other";
  refused = ServeOnce(service, "GET", "v/o/k", "max=1", "good");
  EXPECT_EQ(refused.status, 401);
  EXPECT_THAT(refused.body, HasSubstr("another vault"));
  service.Stop();
}

// ------------------------------------------------------------ protocol (pure)

HubRequest Request(std::string method, std::string rest, std::string query = "") {
  HubRequest request;
  request.method = std::move(method);
  request.rest = std::move(rest);
  request.query = std::move(query);
  return request;
}

TEST(HubProtocol, ParsesEveryOperation) {
  constexpr std::uint64_t kMax = 1000;
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/o/a/b", "max=5"), kMax)->op, StoreOp::kGet);
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/o/a", "max=5&versioned=1"), kMax)->op,
            StoreOp::kGetVersioned);
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/o/a", "offset=1&length=2"), kMax)->op,
            StoreOp::kGetRange);
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/o/a", "max=5&if-none-match=6162"), kMax)->version,
            "ab");
  EXPECT_EQ(ParseStoreRequest(Request("HEAD", "v/o/a"), kMax)->op, StoreOp::kExists);
  EXPECT_EQ(ParseStoreRequest(Request("PUT", "v/o/a"), kMax)->op, StoreOp::kPut);
  EXPECT_EQ(ParseStoreRequest(Request("PUT", "v/o/a", "if-absent=1"), kMax)->op,
            StoreOp::kPutIfAbsent);
  EXPECT_EQ(ParseStoreRequest(Request("PUT", "v/o/a", "if-match=00"), kMax)->op,
            StoreOp::kPutIfMatch);
  EXPECT_EQ(ParseStoreRequest(Request("DELETE", "v/o/a"), kMax)->op, StoreOp::kDelete);
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/list", "prefix=blobs/"), kMax)->key, "blobs/");
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/feed", "after=00&wait_ms=10"), kMax)->wait_ms, 10);
  // max is capped by the hub's object bound.
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/o/a", "max=99999"), kMax)->max_size, kMax);
  EXPECT_EQ(ParseStoreRequest(Request("GET", "v/o/a", "max=5"), kMax)->BackingKey(), "v/a");
}

TEST(HubProtocol, VersionsRoundTripThroughHex) {
  const std::string etag = "\"9b2cf535f27731c974343645a3985328\"";
  EXPECT_EQ(*DecodeVersion(EncodeVersion(etag)), etag);
  EXPECT_FALSE(DecodeVersion("ABC").ok());
  EXPECT_FALSE(DecodeVersion(std::string(2 * kMaxVersionBytes + 2, 'a')).ok());
}

TEST(HubProtocol, VaultNamesCannotReachTheHubsOwnPrefix) {
  EXPECT_TRUE(ValidateVaultName("team-notes").ok());
  for (const char* bad : {"", "_hub", "-x", "a.b", "..", "A", "a/b", "a b"}) {
    EXPECT_FALSE(ValidateVaultName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateVaultName(std::string(64, 'a')).ok());
}

}  // namespace
}  // namespace hx::hub
