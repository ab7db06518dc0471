// The hub's server in this process, over routers made here: the hub-wide
// memory budget for bodies in flight (requests and replies), a route's body
// bound, a body that stops arriving, a handler that throws; and the hub's
// store client against a hub that answers a ranged read short.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hub/memory_budget.h"
#include "hub/router.h"
#include "hub/server.h"
#include "hub/testing/raw_http_test_util.h"
#include "store/hub/hub_store.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "store/target_uri.h"

namespace hx::hub {
namespace {

using store_testing::ToBytes;
using testing::BodyOf;
using testing::ExpectRawErrors;
using ::testing::HasSubstr;
using testing::RawCase;
using testing::RawConnection;
using testing::RawExchange;
using testing::StatusOf;

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
  RawConnection connection(port, bytes);
  return connection.sent() && connection.ReadToEnd();
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

}  // namespace
}  // namespace hx::hub
