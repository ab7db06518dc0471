// Every network wait and every allocation a server can cause is bounded
// (docs/ERRORS.md, "Network bounds"): hostile S3 endpoints, played by the
// fault proxy in front of a real moto_server, end in KC_SYNC_NETWORK_FAILED
// within the configured bounds, a reply cut inside its headers is a
// retryable network failure, and a redirect is KC_SYNC_TARGET_INVALID.
//
// The bounds are set small (a second, a hundred bytes a second) so that each
// test runs in seconds. The wall-clock checks are hang guards only, far above
// what the bounds allow; the assertions are on codes, attempts and requests.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "store/s3/s3_store.h"
#include "store/s3/testing/fault_proxy.h"
#include "store/s3/testing/moto_server.h"
#include "store/store_wrappers.h"

namespace hx::s3 {
namespace {

using hx::testing::FaultProxy;
using hx::testing::ProxyFaultConfig;
using hx::testing::ProxyRequest;
using std::chrono::milliseconds;
using testing::SharedMotoServer;

constexpr char kPrefix[] = "vault";
constexpr int kAttempts = 3;
// Far above any bound of these tests: only a hang would cross it.
constexpr auto kHangGuard = std::chrono::seconds(90);

// A clock whose monotonic time leaps a second at every reading: a listing
// "takes" as many seconds as the clock is read.
class LeapingClock final : public Clock {
 public:
  std::int64_t WallMs() override { return fake_.WallMs(); }
  MonoTime Monotonic() override {
    fake_.Advance(std::chrono::seconds(1));
    return fake_.Monotonic();
  }
  void SleepFor(milliseconds d) override { fake_.SleepFor(d); }

 private:
  FakeClock fake_;
};

class S3BoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& moto = SharedMotoServer();
    bucket_ = moto.NewBucket();
    auto proxy = FaultProxy::Start(moto.endpoint());
    ASSERT_TRUE(proxy.ok()) << proxy.error().ToShortString();
    proxy_ = std::move(proxy).value();
    // vault.json as hx writes it: a small object.
    auto direct = moto.NewStore(bucket_, kPrefix);
    ASSERT_TRUE(direct->Put("vault.json", std::vector<std::uint8_t>(600, 'v')).ok());
    // The rate window is long unless a test shortens it, so that the
    // deadline under test is the one that fires.
    options_.http.connect_timeout_ms = 5'000;
    options_.http.min_bytes_per_second = 100;
    options_.http.rate_window_seconds = 600;
    options_.http.request_base_ms = 1'000;
  }

  // The S3 store through the proxy, with options_.
  std::unique_ptr<S3Store> Bare() {
    S3Endpoint endpoint = SharedMotoServer().EndpointFor(bucket_);
    endpoint.base_url = proxy_->endpoint();
    return std::make_unique<S3Store>(endpoint, SharedMotoServer().credentials(), kPrefix, "s3",
                                     options_);
  }
  // What OpenStore builds: the store in a RetryingStore (kAttempts, no waits).
  std::unique_ptr<Store> Retrying() {
    RetryOptions retry;
    retry.max_attempts = kAttempts;
    retry.clock = &retry_clock_;
    return std::make_unique<RetryingStore>(Bare(), retry);
  }
  void Faults(ProxyFaultConfig config) { ASSERT_TRUE(proxy_->Configure(config).ok()); }
  void Fault(const std::string& kind) {
    ProxyFaultConfig config;
    config.rates[kind] = 1.0;
    Faults(config);
  }
  std::vector<ProxyRequest> Requests() {
    auto log = proxy_->Requests();
    EXPECT_TRUE(log.ok());
    return log.ok() ? *log : std::vector<ProxyRequest>{};
  }

  std::string bucket_;
  std::unique_ptr<FaultProxy> proxy_;
  S3StoreOptions options_;
  FakeClock retry_clock_;
};

// Runs `call`, checks that it ended within the hang guard, returns its result.
template <typename Call>
auto Timed(Call call) -> decltype(call()) {
  const auto start = std::chrono::steady_clock::now();
  auto result = call();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kHangGuard) << "a bound did not hold";
  return result;
}

void ExpectNetworkFailedAfterAllAttempts(const Error& error) {
  EXPECT_EQ(error.code, SyncCode::kNetworkFailed) << error.ToShortString();
  EXPECT_TRUE(error.retryable) << error.ToShortString();
  ASSERT_TRUE(error.details.contains("attempts")) << error.ToShortString();
  EXPECT_EQ(error.details.at("attempts"), std::to_string(kAttempts));
}

// ------------------------------------------------------------- slow servers

// 200, then a byte every half second: 600 bytes would take five minutes.
// Faster than nothing, so only a minimum rate over a window catches it.
TEST_F(S3BoundsTest, ATricklingEndpointIsCutOffByTheMinimumRateWindow) {
  options_.http.rate_window_seconds = 1;
  options_.http.request_base_ms = 600'000;  // the deadline is not what ends it
  Fault("trickle");
  auto store = Retrying();
  auto got = Timed([&] { return store->Get("vault.json", 1 << 20); });
  ASSERT_FALSE(got.ok());
  ExpectNetworkFailedAfterAllAttempts(got.error());
  EXPECT_EQ(got.error().category, Category::kTimeout) << got.error().ToShortString();
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), static_cast<std::size_t>(kAttempts));
  for (const auto& r : requests) EXPECT_LT(r.bytes_down, 600u);
}

// The same trickle with no rate window to speak of: the request's deadline,
// scaled to the 600 bytes the reply announces (5 s + 600 B at 600 B/s = 6 s),
// ends it, although the caller would have accepted 1 MiB (which would have
// been allowed 5 s + 1 MiB at 600 B/s, half an hour).
TEST_F(S3BoundsTest, ATricklingEndpointIsCutOffByADeadlineScaledToTheObjectsSize) {
  options_.http.min_bytes_per_second = 600;
  options_.http.request_base_ms = 5'000;
  Fault("trickle");
  auto got = Timed([&] { return Bare()->Get("vault.json", 1 << 20); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed) << got.error().ToShortString();
  EXPECT_EQ(got.error().category, Category::kTimeout);
  EXPECT_TRUE(got.error().retryable);
  ASSERT_TRUE(got.error().details.contains("deadline"));
  EXPECT_EQ(got.error().details.at("deadline"), "request");
  EXPECT_EQ(got.error().details.at("deadline_ms"), "6000");
}

TEST_F(S3BoundsTest, ASilentEndpointEndsAtTheRequestDeadline) {
  Fault("silent");
  auto store = Retrying();
  auto got = Timed([&] { return store->Get("vault.json", 1 << 20); });
  ASSERT_FALSE(got.ok());
  ExpectNetworkFailedAfterAllAttempts(got.error());
  EXPECT_EQ(got.error().category, Category::kTimeout);
  EXPECT_EQ(got.error().details.at("deadline"), "request");
  EXPECT_EQ(Requests().size(), static_cast<std::size_t>(kAttempts));
}

TEST_F(S3BoundsTest, ASilentEndpointIsCutOffByTheMinimumRateWindow) {
  options_.http.rate_window_seconds = 1;
  options_.http.request_base_ms = 600'000;
  Fault("silent");
  auto got = Timed([&] { return Bare()->Exists("vault.json"); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed) << got.error().ToShortString();
  EXPECT_EQ(got.error().category, Category::kTimeout);
}

// ------------------------------------------------------------- endless data

// 503 with a body that never ends, sent as fast as it is read: the client
// stops reading at 64 KiB, so neither its memory nor its time grows.
TEST_F(S3BoundsTest, AnEndlessErrorBodyIsCutAtItsCap) {
  options_.http.min_bytes_per_second = 1;  // the data flows fast: no rate bound fires
  options_.http.request_base_ms = 600'000;
  Fault("endless_error");
  auto store = Retrying();
  auto got = Timed([&] { return store->Get("vault.json", 1 << 20); });
  ASSERT_FALSE(got.ok());
  ExpectNetworkFailedAfterAllAttempts(got.error());
  EXPECT_EQ(got.error().category, Category::kThrottling) << got.error().ToShortString();
  EXPECT_EQ(got.error().details.at("http_status"), "503");
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), static_cast<std::size_t>(kAttempts));
  // What the proxy managed to push before the client closed: the client's
  // 64 KiB plus what the kernel buffers took; nowhere near the 1 GiB it offers.
  for (const auto& r : requests) EXPECT_LT(r.bytes_down, 64u << 20) << r.bytes_down;
}

TEST_F(S3BoundsTest, CyclingListTokensAreRefusedAtTheFirstRepeat) {
  ProxyFaultConfig config;
  config.rates["cycle_list"] = 1.0;
  config.list_cycle = 2;  // A, B, A, ...
  Faults(config);
  auto store = Retrying();
  auto listed = Timed([&] { return store->List("blobs/"); });
  ASSERT_FALSE(listed.ok());
  ExpectNetworkFailedAfterAllAttempts(listed.error());
  EXPECT_NE(listed.error().message.find("cycles"), std::string::npos)
      << listed.error().ToShortString();
  // Each attempt: the first page (token A), A's page (B), B's page (A again).
  EXPECT_EQ(Requests().size(), static_cast<std::size_t>(3 * kAttempts));
}

TEST_F(S3BoundsTest, AListingThatNeverEndsStopsAtItsEntryCap) {
  ProxyFaultConfig config;
  config.rates["cycle_list"] = 1.0;
  config.list_cycle = 1'000'000'000;  // always a new token
  config.list_page_entries = 1000;
  Faults(config);
  options_.list.max_entries = 5'000;
  auto listed = Timed([&] { return Bare()->List(""); });
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, SyncCode::kNetworkFailed) << listed.error().ToShortString();
  EXPECT_NE(listed.error().message.find("HX_S3_LIST_MAX_ENTRIES"), std::string::npos);
  // 5,000 entries are allowed: the sixth page of 1,000 crosses the cap.
  EXPECT_EQ(Requests().size(), 6u);
}

TEST_F(S3BoundsTest, AListingThatNeverEndsStopsAtItsByteCap) {
  ProxyFaultConfig config;
  config.rates["cycle_list"] = 1.0;
  config.list_cycle = 1'000'000'000;
  config.list_page_entries = 100;
  Faults(config);
  options_.list.max_bytes = 40'000;  // a page of 100 entries is about 9 KB
  auto listed = Timed([&] { return Bare()->List(""); });
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, SyncCode::kNetworkFailed) << listed.error().ToShortString();
  EXPECT_LE(Requests().size(), 6u);
}

TEST_F(S3BoundsTest, AListingThatNeverEndsStopsAtItsTimeCap) {
  ProxyFaultConfig config;
  config.rates["cycle_list"] = 1.0;
  config.list_cycle = 1'000'000'000;
  Faults(config);
  LeapingClock clock;
  options_.clock = &clock;
  options_.http.request_base_ms = 1'000'000'000;  // the leaps must not end requests
  options_.list.max_ms = 60'000;                  // a minute of leaping seconds
  auto listed = Timed([&] { return Bare()->List(""); });
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, SyncCode::kNetworkFailed) << listed.error().ToShortString();
  EXPECT_NE(listed.error().message.find("HX_S3_LIST_MAX_MS"), std::string::npos)
      << listed.error().ToShortString();
  EXPECT_LT(Requests().size(), 60u);
}

// ------------------------------------------------------------- the command

// Past the command's deadline every request fails at once, without reaching
// the network, and the retry policy does not retry it.
TEST_F(S3BoundsTest, PastTheCommandDeadlineEveryRequestFailsAtOnceAndIsNotRetried) {
  FakeClock clock;
  options_.clock = &clock;
  options_.http.command_deadline_ms = 60'000;
  RetryOptions retry;
  retry.max_attempts = kAttempts;
  retry.clock = &clock;
  RetryingStore store(Bare(), retry);
  ASSERT_TRUE(store.Get("vault.json", 1 << 20).ok());
  clock.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(proxy_->Reset().ok());
  auto got = store.Get("vault.json", 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed) << got.error().ToShortString();
  EXPECT_EQ(got.error().category, Category::kTimeout);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().details.at("deadline"), "command");
  EXPECT_FALSE(got.error().details.contains("attempts"));  // returned at once, unchanged
  EXPECT_TRUE(Requests().empty());
  EXPECT_EQ(clock.slept(), milliseconds(0));
}

// ------------------------------------------------------------- broken replies

// The server acted, but its reply ends inside the headers: a lost reply (a
// retryable network failure), never an answer such as "corrupt" or "absent".
TEST_F(S3BoundsTest, AReplyCutInsideItsHeadersIsARetryableNetworkFailure) {
  Fault("cut_headers");
  auto store = Bare();
  auto got = store->Get("vault.json", 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed) << got.error().ToShortString();
  EXPECT_EQ(got.error().category, Category::kNetwork);
  EXPECT_TRUE(got.error().retryable);
  auto exists = store->Exists("vault.json");
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().code, SyncCode::kNetworkFailed) << exists.error().ToShortString();

  // Once (every other request): the retry reads the object.
  ProxyFaultConfig once;
  once.rates["cut_headers"] = 1.0;
  once.max_streak = 1;
  Faults(once);
  ASSERT_TRUE(proxy_->Reset().ok());
  auto retried = Retrying()->Get("vault.json", 1 << 20);
  ASSERT_TRUE(retried.ok()) << retried.error().ToShortString();
  EXPECT_EQ(retried->size(), 600u);
  EXPECT_EQ(Requests().size(), 2u);
}

// A bucket in another region (301 PermanentRedirect) or a server that sends
// hx elsewhere (307): the target is wrong. Never "absent" (which would read
// as "no vault here: run init"), never retried.
TEST_F(S3BoundsTest, ARedirectIsTargetInvalidNamingTheRegionOrEndpoint) {
  Fault("redirect");
  auto store = Retrying();
  auto got = store->Get("vault.json", 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kTargetInvalid) << got.error().ToShortString();
  EXPECT_NE(got.error().category, Category::kNotFound);
  EXPECT_NE(got.error().message.find("eu-west-3"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find("--region"), std::string::npos);
  EXPECT_EQ(got.error().details.at("bucket_region"), "eu-west-3");
  // A HEAD has no body: the status and the header say it.
  auto exists = store->Exists("vault.json");
  ASSERT_FALSE(exists.ok()) << "a redirect read as an absent object";
  EXPECT_EQ(exists.error().code, SyncCode::kTargetInvalid) << exists.error().ToShortString();
  EXPECT_EQ(Requests().size(), 2u);  // neither was retried

  Fault("redirect_307");
  auto elsewhere = store->Get("vault.json", 1 << 20);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code, SyncCode::kTargetInvalid) << elsewhere.error().ToShortString();
  EXPECT_NE(elsewhere.error().message.find("127.0.0.1:1"), std::string::npos)
      << elsewhere.error().message;
  EXPECT_NE(elsewhere.error().message.find("--endpoint"), std::string::npos);
}

}  // namespace
}  // namespace hx::s3
