// The hub end to end: a real `hx serve` process on loopback in front of a
// folder store and in front of moto, reached through OpenStore("hx://...")
// exactly as every command reaches it; the store conformance suite over it;
// TLS with a certificate made here and pinned; the change feed; health and
// metrics; and hostile bytes on a raw socket.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/remote_notifier.h"
#include "base/process_test_util.h"
#include "hub/memory_budget.h"
#include "hub/protocol.h"
#include "hub/router.h"
#include "hub/server.h"
#include "hub/store_service.h"
#include "hub/testing/hub_process.h"
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
using ::testing::HasSubstr;
using testing::HubProcess;

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

// Sends `bytes` on a fresh connection to 127.0.0.1:`port` and returns all
// that comes back until the hub closes the connection (at most 30 s).
std::string RawExchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return "<connect failed>";
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the hub may close early (a refused header); read its reply
    sent += static_cast<std::size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

int StatusOf(const std::string& reply) {
  if (!reply.starts_with("HTTP/1.1 ")) return 0;
  return std::atoi(reply.c_str() + 9);
}

std::string BodyOf(const std::string& reply) {
  const std::size_t end = reply.find("\r\n\r\n");
  return end == std::string::npos ? "" : reply.substr(end + 4);
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

struct RawCase {
  std::string name;
  std::string request;
  int status;
};

// Sends each case on a fresh connection to `port`: its reply has the status
// and an error with a message and the code `code` ("": any KC_SYNC_ code).
void ExpectRawErrors(int port, const std::vector<RawCase>& cases, const std::string& code = "") {
  for (const RawCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string reply = RawExchange(port, c.request);
    EXPECT_EQ(StatusOf(reply), c.status) << reply.substr(0, 300);
    const nlohmann::json body = nlohmann::json::parse(BodyOf(reply), nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << reply.substr(0, 300);
    ASSERT_TRUE(body.contains("error"));
    const std::string got = body["error"]["code"].get<std::string>();
    if (code.empty()) {
      EXPECT_THAT(got, HasSubstr("KC_SYNC_"));
    } else {
      EXPECT_EQ(got, code);
    }
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }
}

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

// ------------------------------------------------------------ server bounds (in process)

// A HubServer in this process on a free loopback port, over `router`.
std::unique_ptr<HubServer> StartServerOrDie(std::shared_ptr<Router> router, ServerOptions options) {
  options.listen = "127.0.0.1:0";
  Result<std::unique_ptr<HubServer>> server = HubServer::Start(options, std::move(router));
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.error().ToShortString().c_str());
    std::abort();
  }
  return std::move(*server);
}

int PortOf(const HubServer& server) {
  const std::string address = server.address();
  return std::atoi(address.c_str() + address.rfind(':') + 1);
}

std::string Put(const std::string& path, const std::string& body) {
  return "PUT " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A handler that holds its request until Release, so that a test knows a
// body is in flight.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;
  bool released = false;

  HubResponse Hold() {
    std::unique_lock lock(mu);
    ++entered;
    cv.notify_all();
    cv.wait(lock, [this] { return released; });
    return HubResponse::Json(200, "{}");
  }
  bool WaitEntered(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return entered >= n; });
  }
  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
};

TEST(MemoryBudget, ALeaseAloneAlwaysFitsOthersOnlyWithinTheLimitAndBytesComeBack) {
  std::optional<MemoryBudget::Lease> lease;
  {
    MemoryBudget budget(100);
    // Alone, a lease gets its bytes even beyond the limit (one request
    // larger than the budget runs by itself rather than never).
    std::optional<MemoryBudget::Lease> big = budget.TryAcquire(150);
    ASSERT_TRUE(big.has_value());
    EXPECT_FALSE(budget.TryAcquire(1).has_value());
    EXPECT_TRUE(big->TryGrow(50));  // still alone
    big.reset();
    EXPECT_EQ(budget.in_use(), 0u);

    std::optional<MemoryBudget::Lease> a = budget.TryAcquire(60);
    std::optional<MemoryBudget::Lease> b = budget.TryAcquire(40);
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    EXPECT_FALSE(budget.TryAcquire(1).has_value());
    EXPECT_TRUE(budget.TryAcquire(0).has_value());  // nothing asked, nothing refused
    EXPECT_FALSE(a->TryGrow(1));
    EXPECT_TRUE(a->TryGrowTo(60));  // already holds it
    b.reset();
    EXPECT_TRUE(a->TryGrowTo(100));
    EXPECT_EQ(budget.in_use(), 100u);
    lease = std::move(a);
  }
  // A lease may outlive the budget that made it.
  EXPECT_EQ(lease->bytes(), 100u);
  lease.reset();
}

TEST(HubStoreClient, ARangedReadAnsweredShortIsCorruptNotBelieved) {
  // A hub is another party: one that answers a ranged read with fewer bytes
  // than asked (a well-formed reply, not a cut connection) must not hand the
  // caller a short buffer it would cut objects out of.
  auto router = std::make_shared<Router>();
  router->Handle("GET", "/v1/", [](const HubRequest&) {
    HubResponse short_reply;
    short_reply.content_type = "application/octet-stream";
    short_reply.body = "abc";
    return short_reply;
  });
  const std::unique_ptr<HubServer> server = StartServerOrDie(router, {});
  const Result<Target> target = ParseTargetUri("hx://" + server->address() + "/v", {}, "/");
  ASSERT_TRUE(target.ok()) << target.error().ToShortString();
  Result<std::unique_ptr<Store>> store = MakeHubStore(*target, {});
  ASSERT_TRUE(store.ok());
  const Result<Bytes> got = (*store)->GetRange("blobs/ab/cd/x", ByteRange{4, 10});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().category, Category::kCorrupt);
  EXPECT_THAT(got.error().message, HasSubstr("shorter than the range asked for (3 of 10"));
  // The whole reply it asked for is taken as it is.
  const Result<Bytes> whole = (*store)->GetRange("blobs/ab/cd/x", ByteRange{4, 3});
  ASSERT_TRUE(whole.ok()) << whole.error().ToShortString();
  EXPECT_EQ(*whole, ToBytes("abc"));
}

TEST(HubServerBounds, AHandlerThatThrowsIsAnswered500WithKcSyncInternalAndTheHubLivesOn) {
  auto router = std::make_shared<Router>();
  router->Handle("GET", "/throw",
                 [](const HubRequest&) -> HubResponse { throw std::runtime_error("boom"); });
  router->Handle("GET", "/ok", [](const HubRequest&) { return HubResponse::Json(200, "{}"); });
  const std::unique_ptr<HubServer> server = StartServerOrDie(router, {});
  const auto get = [](const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  };
  const std::string reply = RawExchange(PortOf(*server), get("/throw"));
  EXPECT_EQ(StatusOf(reply), 500) << reply;
  const nlohmann::json body = nlohmann::json::parse(BodyOf(reply), nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << reply;
  EXPECT_EQ(body["error"]["code"], "KC_SYNC_INTERNAL");
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("boom"));
  EXPECT_EQ(StatusOf(RawExchange(PortOf(*server), get("/ok"))), 200);
}

TEST(HubServerBounds, BodiesBeyondTheHubWideBudgetAreRefused503RetryableWhileOthersAreHeld) {
  auto latch = std::make_shared<Latch>();
  auto router = std::make_shared<Router>();
  router->Handle(
      "PUT", "/hold", [latch](const HubRequest&) { return latch->Hold(); }, 1 << 20);
  ServerOptions options;
  options.max_body_bytes_in_flight = 1 << 20;
  const std::unique_ptr<HubServer> server = StartServerOrDie(router, options);
  const int port = PortOf(*server);
  const std::string body(600 << 10, 'b');
  // The first body is held by its handler: 600 KiB of the 1 MiB budget.
  std::future<std::string> first =
      std::async(std::launch::async, [&] { return RawExchange(port, Put("/hold", body)); });
  ASSERT_TRUE(latch->WaitEntered(1));
  // A second does not fit: refused at once, before its body is read.
  const std::string refused = RawExchange(port, Put("/hold", body));
  EXPECT_EQ(StatusOf(refused), 503) << refused.substr(0, 300);
  const nlohmann::json error = nlohmann::json::parse(BodyOf(refused), nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << refused.substr(0, 300);
  EXPECT_EQ(error["error"]["code"], "KC_SYNC_NETWORK_FAILED");
  EXPECT_EQ(error["error"]["category"], "throttling");
  EXPECT_EQ(error["error"]["retryable"], true);
  // A bodiless request is never refused by the budget.
  EXPECT_EQ(StatusOf(RawExchange(port,
                                 "GET /nope HTTP/1.1\r\nHost: x\r\n"
                                 "Connection: close\r\n\r\n")),
            404);
  latch->Release();
  EXPECT_EQ(StatusOf(first.get()), 200);
  // The budget is back once the first request is answered.
  EXPECT_EQ(StatusOf(RawExchange(port, Put("/hold", body))), 200);
}

TEST(HubServerBounds, RepliesBeingWrittenCountInTheSameBudget) {
  auto latch = std::make_shared<Latch>();
  auto router = std::make_shared<Router>();
  router->Handle(
      "PUT", "/hold", [latch](const HubRequest&) { return latch->Hold(); }, 1 << 20);
  router->Handle("GET", "/big", [](const HubRequest&) {
    HubResponse big;
    big.content_type = "application/octet-stream";
    big.body.assign(600 << 10, 'r');
    return big;
  });
  ServerOptions options;
  options.max_body_bytes_in_flight = 1 << 20;
  const std::unique_ptr<HubServer> server = StartServerOrDie(router, options);
  const int port = PortOf(*server);
  const std::string get = "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(StatusOf(RawExchange(port, get)), 200);
  // A held request body takes 600 KiB of the 1 MiB: a 600 KiB reply does not
  // fit and is replaced by a 503 that says to retry.
  std::future<std::string> held = std::async(std::launch::async, [&] {
    return RawExchange(port, Put("/hold", std::string(600 << 10, 'b')));
  });
  ASSERT_TRUE(latch->WaitEntered(1));
  const std::string refused = RawExchange(port, get);
  EXPECT_EQ(StatusOf(refused), 503) << refused.substr(0, 300);
  EXPECT_NE(refused.find("KC_SYNC_NETWORK_FAILED"), std::string::npos) << refused.substr(0, 300);
  latch->Release();
  EXPECT_EQ(StatusOf(held.get()), 200);
  EXPECT_EQ(StatusOf(RawExchange(port, get)), 200);
}

TEST(HubServerBounds, ABodyBeyondItsRoutesBoundIsRefused413BeforeItIsRead) {
  auto router = std::make_shared<Router>();
  router->Handle(
      "POST", "/small", [](const HubRequest&) { return HubResponse::Json(200, "{}"); }, 8192);
  const std::unique_ptr<HubServer> server = StartServerOrDie(router, {});
  const int port = PortOf(*server);
  const std::vector<RawCase> cases = {
      // Announced: refused on the headers (the 100 MB never come; a hub that
      // waited for them would see the connection end and answer 400).
      {"AnnouncedBeyondTheRoute",
       "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 413},
      {"AnnouncedToAPathNoRouteTakes",
       "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 413},
      // Chunked: refused as soon as the chunks pass the bound.
      {"ChunkedBeyondTheRoute",
       "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n" +
           std::string(0x4000, 'c') + "\r\n0\r\n\r\n",
       413},
  };
  ExpectRawErrors(port, cases, "KC_SYNC_INPUT_INVALID");
  EXPECT_EQ(StatusOf(RawExchange(port, Put("/small", "{}").replace(0, 3, "POST"))), 200);
}

// Sends `bytes` and keeps the connection open for writing; true once the
// hub closes it (within 60 s).
bool HubClosesAfter(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    close(fd);
    return false;
  }
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0) continue;
    char buffer[4096];
    closed = recv(fd, buffer, sizeof buffer, 0) <= 0;
  }
  close(fd);
  return closed;
}

TEST(HubServerBounds, ABodyThatStopsArrivingIsCutWhateverLengthItAnnounced) {
  auto router = std::make_shared<Router>();
  router->Handle(
      "PUT", "/x", [](const HubRequest&) { return HubResponse::Json(200, "{}"); },
      std::uint64_t{1} << 30);
  ServerOptions options;
  // At 1 byte/s, 10 MB would have bought the client 115 days under a
  // deadline set once from the announced length; the body's deadline moves
  // only with what arrives (0.1 s + 1 s + 3 s here).
  options.io_timeout_ms = 100;
  options.min_rate = 1;
  const std::unique_ptr<HubServer> server = StartServerOrDie(router, options);
  EXPECT_TRUE(HubClosesAfter(PortOf(*server),
                             "PUT /x HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 10000000\r\n\r\nabc"));
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
