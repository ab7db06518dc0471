// Devices syncing through S3 under every fault of the proxy (AB5 of seed
// 001; store/s3/testing/fault_proxy.py): each fault kind at a meaningful
// rate, deterministic schedules, lost replies to every write of a round,
// multipart under failures, and faults that never end failing in a bounded
// number of attempts. The fixtures are in sync_s3_test_util.h.
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sync/sync_s3_test_util.h"

namespace hx::testing {
namespace {

// A vault with small files in directories and a few multi-chunk files.
void WriteMixedVault(Device& d, int round) {
  for (int i = 0; i < 12; ++i) {
    d.Write("docs/d" + std::to_string(i % 3) + "/n" + std::to_string(i) + ".txt",
            "note " + std::to_string(i) + " round " + std::to_string(round));
  }
  d.Write("media/clip-" + std::to_string(round) + ".bin", RandomBytes(600 << 10, round));
}

struct FaultCase {
  std::string kind;
  double rate;
};
// How gtest names the case in its output and in ctest ("503 at 0.25").
void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.kind << " at " << c.rate; }

class S3FaultTest : public S3ProxyTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(S3FaultTest, PushesAndPullsThroughTransientFaultsConvergeWithNothingCorrupt) {
  const FaultCase& c = GetParam();
  // Transient faults at these rates: the retry policy's default attempts.
  auto a = NewDevice("a", kDefaultAttempts);
  auto b = NewDevice("b", kDefaultAttempts);
  // Deterministic: every (1 / rate)-th request faults, whatever keys this
  // run's vault gives its objects (a seeded draw per request depended on
  // them, and with few requests the rate sometimes never fired). The
  // schedule runs on across the steps and rounds: the log resets between
  // steps do not restart it.
  ProxyFaultConfig config;
  config.rates[c.kind] = 1.0;
  config.every = std::lround(1.0 / c.rate);
  config.stall_seconds = 4;
  // Transient: no request faults as often in a row as the attempts allow
  // (without this, 5 slowdowns in a row at 0.25 came up in CI, 1 in 1,024).
  config.max_streak = kDefaultAttempts - 1;
  Faults(config);
  int faults = 0;
  for (int round = 1; round <= 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(proxy_->Reset().ok());
    WriteMixedVault(*a, round);
    if (round == 3) a->Remove("docs/d0");
    auto pushed = a->Push(Tick());
    faults += CountFaults();
    Step("a push", pushed);
    auto pulled = b->Pull(Tick());
    faults += CountFaults();
    Step("b pull", pulled);
    EXPECT_EQ(b->Snapshot(), a->Snapshot());
  }
  EXPECT_GT(faults, 0) << "the schedule never fired: the test proved nothing";
  // The store holds nothing half-written: a third device reads it whole.
  ASSERT_TRUE(proxy_->PassThrough().ok());
  auto c3 = NewDevice("c");
  auto pulled = c3->Pull(Tick());
  HX_ASSERT_OK(pulled);
  EXPECT_FALSE(pulled->error.has_value());
  EXPECT_EQ(c3->Snapshot(), a->Snapshot());
}

INSTANTIATE_TEST_SUITE_P(
    Proxy, S3FaultTest,
    ::testing::Values(FaultCase{"500", 0.25}, FaultCase{"503", 0.25},
                      FaultCase{"slowdown", 0.25}, FaultCase{"429", 0.25},
                      FaultCase{"stall", 0.05}, FaultCase{"reset", 0.2},
                      FaultCase{"drop", 0.2}, FaultCase{"drop_mid_body", 0.2},
                      FaultCase{"truncate", 0.2}),
    [](const auto& p) { return p.param.kind == "500"   ? std::string("status500")
                               : p.param.kind == "503" ? std::string("status503")
                               : p.param.kind == "429" ? std::string("status429")
                                                       : p.param.kind; });

// The fetcher's read-ahead (sync/fetcher.h) under a seeded schedule of cut
// and lost replies: a pull of 24 MiB keeps several ranged GETs of packs in
// flight, and every third one is reset, cut mid-body or truncated. Each
// failed read-ahead is read again by the Fetch that needs it (in place, by
// the retrying store): every file arrives whole, once, and a second pull
// finds nothing left to do.
TEST_F(S3ProxyTest, ADroppedConnectionMidReadAheadWindowResumesWithNothingCorruptOrAppliedTwice) {
  auto a = NewDevice("a", kDefaultAttempts);
  auto b = NewDevice("b", kDefaultAttempts);
  for (int i = 0; i < 8; ++i) {
    a->Write("media/clip" + std::to_string(i) + ".bin", RandomBytes(3 << 20, 100 + i));
  }
  for (int i = 0; i < 10; ++i) {
    a->Write("docs/n" + std::to_string(i) + ".txt", "note " + std::to_string(i));
  }
  Step("a push", a->Push(Tick()));

  ProxyFaultConfig config;
  config.seed = 7;
  config.rates["reset"] = 0.3;
  config.rates["drop_mid_body"] = 0.3;
  config.rates["truncate"] = 0.3;
  config.every = 3;
  config.methods = {"GET"};
  config.path_regex = "/blobs/";
  config.max_streak = kDefaultAttempts - 1;
  Faults(config);
  ASSERT_TRUE(proxy_->Reset().ok());
  auto pulled = b->Pull(Tick());
  const int faults = CountFaults();
  int ranged_gets = 0;
  for (const auto& r : Requests()) {
    ranged_gets += r.method == "GET" && r.path.find("/blobs/") != std::string::npos;
  }
  Step("b pull", pulled);
  EXPECT_GT(faults, 0) << "the schedule never fired: the test proved nothing";
  EXPECT_GE(ranged_gets, 6);
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->changes.added, 18u + 2u);  // the files and their directories, once each
  // Nothing left half-done or to apply again.
  ASSERT_TRUE(proxy_->PassThrough().ok());
  auto again = b->Pull(Tick());
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->changes.added + again->changes.modified + again->changes.deleted, 0u);
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

// hx sync init retries a transient store error as every other command does:
// one 503 on any of its first requests (the probe of the bucket and of
// conditional writes, then the vault's creation) is retried, not the end of
// init (it gave up on the probe's first 503 before).
TEST_F(S3ProxyTest, InitRetriesATransientErrorOnAnyOfItsRequests) {
  for (std::uint64_t skip = 0; skip < 8; ++skip) {
    SCOPED_TRACE("the 503 on request " + std::to_string(skip + 1));
    store_ = std::make_unique<S3StoreFixture>(proxy_->endpoint());
    ProxyFaultConfig config;
    config.rates["503"] = 1.0;
    config.skip = skip;
    config.max_faults = 1;
    Faults(config);
    ASSERT_TRUE(proxy_->Reset().ok());
    Device device(*store_, "d" + std::to_string(skip));
    auto init = device.Init(Tick());
    const auto requests = Requests();
    ASSERT_EQ(CountFaults(), 1) << Describe(requests);
    ASSERT_TRUE(init.ok()) << init.error().ToShortString() << "\n" << Describe(requests);
    EXPECT_TRUE(init->created);
    device.Write("f.txt", "1");
    HX_ASSERT_OK(device.Push(Tick()));
  }
}

// The server applies a conditional PUT (If-Match) but the reply is lost; the
// resend (libcurl's own, on a reused connection that died before any reply
// byte, so the RetryingStore sees one attempt) is answered 412, and the
// write must be confirmed as ours by reading the object back
// (RetryingStore::ConfirmOwnWrite), not reported as a conflict.
TEST_F(S3ProxyTest, ALostReplyToAConditionalWriteIsConfirmedNotAConflict) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  a->Write("g.txt", "2");
  HX_ASSERT_OK(a->Push(Tick()));
  // The pull rewrites b's manifest with If-Match: lose the reply once.
  ProxyFaultConfig config;
  config.rates["drop"] = 1.0;
  config.methods = {"PUT"};
  config.path_regex = "/manifests/";
  config.max_faults = 1;
  Faults(config);
  ASSERT_TRUE(proxy_->Reset().ok());
  auto pulled = b->Pull(Tick());
  const auto requests = Requests();
  ASSERT_EQ(CountFaults(), 1) << Describe(requests);
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

}  // namespace

// Every fault kind at `rate` (stalls at 0.01), transient (never more in a
// row than the attempts), over three rounds of a push, a pull and a push by
// the other device, and its pull. Deterministic: one request in every
// 1 / (the rates' sum) faults, the kinds taking turns in proportion to
// their rates; the seed shifts the phase. `multipart_threshold` (0: the
// default) sends a's packs up by multipart, so lost replies hit parts and
// completions. HX_TEST_MIXED_SEED and HX_TEST_MIXED_RATE override the seed
// and the rate (a local soak runs many seeds in a loop).
void S3ProxyTest::RunMixedFaults(double rate, std::uint64_t seed,
                                 std::uint64_t multipart_threshold) {
  auto a = NewDevice("a");
  auto b = NewDevice("b");
  if (multipart_threshold != 0) {
    a->wrap_store = ReopenWithTestKnobs(*store_, kMaxAttempts, multipart_threshold);
  }
  if (const char* text = ::getenv("HX_TEST_MIXED_SEED")) seed = std::stoull(text);
  if (const char* text = ::getenv("HX_TEST_MIXED_RATE")) rate = std::stod(text);
  ProxyFaultConfig config;
  for (const char* kind : kProxyFaultKinds) config.rates[kind] = rate;
  config.rates["stall"] = 0.01;
  double total = 0;
  for (const auto& [kind, weight] : config.rates) total += weight;
  config.every = std::max<long>(1, std::lround(1.0 / total));
  config.stall_seconds = 4;
  config.max_streak = kMaxAttempts - 1;
  config.seed = seed;
  Faults(config);
  ASSERT_TRUE(proxy_->Reset().ok());
  int faults = 0;
  for (int round = 1; round <= 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    WriteMixedVault(*a, round);
    auto step = [&](const char* what, const auto& result) {
      faults += CountFaults();
      Step(what, result);
    };
    step("a push", a->Push(Tick()));
    b->Write("from-b/" + std::to_string(round) + ".txt", "b" + std::to_string(round));
    step("b pull", b->Pull(Tick()));
    step("b push", b->Push(Tick()));
    step("a pull", a->Pull(Tick()));
    EXPECT_EQ(a->Snapshot(), b->Snapshot());
  }
  EXPECT_GT(faults, 0) << "no fault fired: the test proved nothing";
}

namespace {

// Lost replies to writes ("drop") included: mixed with the other faults they
// once left the devices different (a pull that could not apply an item, then
// a push that published the item's old version over the newer one:
// APushAfterAPartialPullNeverRevertsWhatThePullCouldNotApply).
TEST_F(S3ProxyTest, EveryFaultKindMixedAtOnceStillConverges) { RunMixedFaults(0.03, 42, 0); }

TEST_F(S3ProxyTest, EveryFaultKindMixedAtTwiceTheRateWithMultipartUploadsStillConverges) {
  RunMixedFaults(0.06, 7, std::uint64_t{512} << 10);
}

// Every write of a round (a push, b pull, b push, a pull) in turn has its
// reply lost: the server acted, hx never heard. Each round must still
// succeed and leave both devices equal.
TEST_F(S3ProxyTest, ALostReplyToAnyWriteOfARoundLeavesEveryStepSucceedingAndDevicesEqual) {
  auto a = NewDevice("a");
  auto b = NewDevice("b");
  int fired = 0;
  for (std::uint64_t k = 0;; ++k) {
    SCOPED_TRACE("write " + std::to_string(k));
    ProxyFaultConfig config;
    config.rates["drop"] = 1.0;
    config.methods = {"PUT", "POST", "DELETE"};
    config.skip = k;
    config.max_faults = 1;
    Faults(config);
    ASSERT_TRUE(proxy_->Reset().ok());
    const int round = static_cast<int>(k) + 1;
    WriteMixedVault(*a, round);
    std::vector<ProxyRequest> log;
    auto step = [&](const char* what, const auto& result) {
      auto requests = Requests();
      log.insert(log.end(), requests.begin(), requests.end());
      EXPECT_TRUE(result.ok()) << what << ": " << result.error().ToShortString() << "\n"
                               << Describe(requests);
    };
    step("a push", a->Push(Tick()));
    b->Write("from-b/" + std::to_string(round) + ".txt", "b" + std::to_string(round));
    step("b pull", b->Pull(Tick()));
    step("b push", b->Push(Tick()));
    step("a pull", a->Pull(Tick()));
    ASSERT_EQ(a->Snapshot(), b->Snapshot()) << Describe(log);
    const bool faulted = std::any_of(log.begin(), log.end(),
                                     [](const ProxyRequest& r) { return !r.fault.empty(); });
    if (!faulted) break;
    ++fired;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(fired, 10);
}

TEST_F(S3ProxyTest, ALostReplyToCompleteMultipartUploadIsConfirmedNotAFailure) {
  auto a = NewDevice("a");
  a->wrap_store = ReopenWithTestKnobs(*store_, kMaxAttempts, std::uint64_t{512} << 10);
  a->Write("big.bin", RandomBytes(std::size_t{2} << 20, 3));
  ProxyFaultConfig config;
  config.rates["drop"] = 1.0;
  config.methods = {"POST"};
  config.path_regex = "^[^?]*[?]uploadId=";
  config.max_faults = 1;
  Faults(config);
  ASSERT_TRUE(proxy_->Reset().ok());
  auto pushed = a->Push(Tick());
  const auto requests = Requests();
  ASSERT_EQ(CountFaults(), 1) << Describe(requests);
  ASSERT_TRUE(pushed.ok()) << pushed.error().ToShortString() << "\n" << Describe(requests);
  ASSERT_TRUE(proxy_->PassThrough().ok());
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

// A fault of CreateMultipartUpload or CompleteMultipartUpload that a single
// retry would get past must not cost the whole upload: with 3 attempts per
// call and every POST failing once before it passes, uploads that restart
// from scratch on each fault ran out of attempts (create fails; create
// passes, complete fails; create fails again).
TEST_F(S3ProxyTest, EachRequestOfAMultipartUploadIsRetriedInPlace) {
  auto a = NewDevice("a");
  a->wrap_store = ReopenWithTestKnobs(*store_, 3, std::uint64_t{512} << 10);
  a->Write("big.bin", RandomBytes(std::size_t{2} << 20, 4));
  ProxyFaultConfig config;
  config.rates["500"] = 1.0;
  config.methods = {"POST"};
  config.path_regex = "/blobs/";
  config.max_streak = 1;
  Faults(config);
  ASSERT_TRUE(proxy_->Reset().ok());
  auto pushed = a->Push(Tick());
  const auto requests = Requests();
  ASSERT_TRUE(pushed.ok()) << pushed.error().ToShortString() << "\n" << Describe(requests);
  EXPECT_GE(CountFaults(), 2) << Describe(requests);
  ASSERT_TRUE(proxy_->PassThrough().ok());
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

// A pull that could not apply an item (here its chunk is damaged; under
// faults, a fetch that failed every attempt) keeps that path's old base.
// A push before the pull is finished must not publish that old version over
// the newer one it never applied: the store would lose the other device's
// change, and the devices would differ for good.
TEST_F(S3ProxyTest, APushAfterAPartialPullNeverRevertsWhatThePullCouldNotApply) {
  auto a = NewDevice("a");
  a->Write("notes.txt", "1");
  a->Write("media/clip.bin", RandomBytes(600 << 10, 1));
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));

  const auto before = store_->Objects();
  const std::string v2 = RandomBytes(600 << 10, 2);
  a->Write("media/clip.bin", v2);
  HX_ASSERT_OK(a->Push(Tick()));
  const auto after = store_->Objects();
  const std::string head = after.at("head.json");
  // The push's one new pack: the clip's chunk first, then the trees.
  std::string pack_key;
  for (const auto& [key, bytes] : after) {
    if (key.starts_with("blobs/") && before.count(key) == 0) pack_key = key;
  }
  ASSERT_FALSE(pack_key.empty());
  const std::string pack = after.at(pack_key);
  std::string damaged = pack;
  damaged[damaged.size() / 4] ^= 0x55;
  store_->Overwrite(pack_key, damaged);

  auto pulled = b->Pull(Tick());
  HX_ASSERT_OK(pulled);
  ASSERT_TRUE(pulled->error.has_value()) << "the damaged chunk was applied?";
  EXPECT_EQ(pulled->outcome, "partial");
  EXPECT_NE(b->Read("media/clip.bin"), v2);

  b->Write("from-b.txt", "b");
  auto pushed = b->Push(Tick());
  ASSERT_FALSE(pushed.ok()) << "published over a head whose changes it did not all apply";
  EXPECT_EQ(pushed.error().code, SyncCode::kConflict) << pushed.error().ToShortString();
  EXPECT_EQ(store_->Objects().at("head.json"), head) << "the store changed";

  // Repaired, the pull finishes and the push goes through; both devices end
  // with a's change and b's.
  store_->Overwrite(pack_key, pack);
  auto finished = b->Pull(Tick());
  HX_ASSERT_OK(finished);
  EXPECT_FALSE(finished->error.has_value()) << finished->error->ToShortString();
  HX_ASSERT_OK(b->Push(Tick()));
  HX_ASSERT_OK(a->Pull(Tick()));
  EXPECT_EQ(a->Snapshot(), b->Snapshot());
  EXPECT_TRUE(a->Read("media/clip.bin") == v2);
  EXPECT_EQ(a->Read("from-b.txt"), "b");
}

// The longest run of consecutive requests with the same method and path.
std::size_t LongestRepeat(const std::vector<ProxyRequest>& requests) {
  std::size_t best = 0, run = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const bool same = i > 0 && requests[i].method == requests[i - 1].method &&
                      requests[i].path == requests[i - 1].path;
    run = same ? run + 1 : 1;
    best = std::max(best, run);
  }
  return best;
}

TEST_F(S3ProxyTest, FaultsThatNeverEndFailWithNetworkFailedAfterTheAttemptsRunOut) {
  auto a = NewDevice("a");
  a->Write("f.txt", "1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  a->Write("g.txt", "2");
  for (const char* kind : {"500", "slowdown", "reset", "stall", "truncate"}) {
    SCOPED_TRACE(kind);
    ProxyFaultConfig config;
    config.rates[kind] = 1.0;
    config.stall_seconds = 4;
    Faults(config);
    ASSERT_TRUE(proxy_->Reset().ok());
    auto pushed = a->Push(Tick());
    ASSERT_FALSE(pushed.ok());
    EXPECT_EQ(pushed.error().code, SyncCode::kNetworkFailed) << pushed.error().ToShortString();
    // The first call was tried kMaxAttempts times and the command stopped.
    const auto push_requests = Requests();
    EXPECT_EQ(push_requests.size(), static_cast<std::size_t>(kMaxAttempts))
        << Describe(push_requests);
    EXPECT_EQ(LongestRepeat(push_requests), static_cast<std::size_t>(kMaxAttempts));

    ASSERT_TRUE(proxy_->Reset().ok());
    auto pulled = b->Pull(Tick());
    ASSERT_FALSE(pulled.ok());
    EXPECT_EQ(pulled.error().code, SyncCode::kNetworkFailed) << pulled.error().ToShortString();
    const auto pull_requests = Requests();
    EXPECT_EQ(pull_requests.size(), static_cast<std::size_t>(kMaxAttempts))
        << Describe(pull_requests);
  }
  // When the server recovers, the same push and pull go through.
  ASSERT_TRUE(proxy_->PassThrough().ok());
  HX_ASSERT_OK(a->Push(Tick()));
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

}  // namespace
}  // namespace hx::testing
