// Devices syncing through S3 end to end: a real S3 server (moto_server, with
// signature checking) behind our fault proxy, hx opening the store the way
// the CLI does (OpenStore from the target URI and the AWS_* environment).
//
//   AB1      the shared scenarios (sync_scenarios_test.cc) run on S3 too
//   AB2      request counts of no-change and one-change pulls
//   AB3/AB4  corrupt and foreign objects (in the scenarios, and below)
//   AB5      every fault kind of the proxy at a meaningful rate; faults that
//            never end fail in a bounded number of attempts
//   AB6      multipart uploads of a 64 MiB file, atomic under injected failures
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/s3/testing/fault_proxy.h"
#include "store/s3/testing/moto_server.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_store.h"
#include "store/store_wrappers.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

using s3::testing::MotoServer;
using s3::testing::SharedMotoServer;

constexpr char kPrefix[] = "vault";

// Attempts per call in the proxy tests: what the bounded-failure tests count
// on the wire (ReopenWithTestKnobs).
constexpr int kMaxAttempts = 4;
// OpenStore's default (S3RetryOptionsFromEnvironment).
constexpr int kDefaultAttempts = 5;

// The process environment OpenStore reads: moto's key, nothing else.
void SetS3Environment(const MotoServer& moto) {
  ::setenv("AWS_ACCESS_KEY_ID", moto.credentials().access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", moto.credentials().secret_access_key.c_str(), 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/hx-test-credentials", 1);
  ::setenv("AWS_CONFIG_FILE", "/nonexistent/hx-test-config", 1);
}

// A fresh bucket on the shared moto server; devices reach it at `endpoint`
// (moto itself, or a proxy in front of it). The test reads and damages
// objects straight through moto, never through the proxy.
class S3StoreFixture : public StoreFixture {
 public:
  explicit S3StoreFixture(std::string endpoint = "")
      : moto_(SharedMotoServer()),
        bucket_(moto_.NewBucket()),
        endpoint_(endpoint.empty() ? moto_.endpoint() : std::move(endpoint)),
        direct_(moto_.NewStore(bucket_, kPrefix)) {
    SetS3Environment(moto_);
  }

  std::string Name() const override { return "s3"; }
  std::string TargetUri() const override {
    return "s3+endpoint://" + bucket_ + "/" + kPrefix;
  }
  TargetOptions Options() const override {
    TargetOptions options;
    options.endpoint = endpoint_;
    options.path_style = true;
    options.region = MotoServer::kRegion;
    return options;
  }
  std::map<std::string, std::string> Objects() const override {
    std::map<std::string, std::string> out;
    auto listed = direct_->List("");
    EXPECT_TRUE(listed.ok()) << listed.error().ToShortString();
    if (!listed.ok()) return out;
    for (const auto& info : *listed) {
      auto bytes = direct_->Get(info.key, std::uint64_t{1} << 30);
      EXPECT_TRUE(bytes.ok()) << info.key << ": " << bytes.error().ToShortString();
      if (bytes.ok()) out[info.key] = std::string(bytes->begin(), bytes->end());
    }
    return out;
  }
  void Overwrite(const std::string& key, const std::string& bytes) override {
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    auto put = direct_->Put(key, std::span<const std::uint8_t>(data, bytes.size()));
    EXPECT_TRUE(put.ok()) << put.error().ToShortString();
  }

  // The path prefix of this vault's objects in requests: "/<bucket>/vault/".
  std::string RequestBase() const { return "/" + bucket_ + "/" + kPrefix + "/"; }
  Store& direct() { return *direct_; }

 private:
  MotoServer& moto_;
  std::string bucket_;
  std::string endpoint_;
  std::unique_ptr<Store> direct_;
};

}  // namespace

std::vector<NamedStoreFixture> ScenarioStores() {
  return {{"s3", [] { return std::unique_ptr<StoreFixture>(std::make_unique<S3StoreFixture>()); }}};
}

namespace {

// ------------------------------------------------------------------ helpers

// Deterministic incompressible bytes (xorshift64).
std::string RandomBytes(std::size_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (char& c : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

using WrapFn = std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)>;

// The store OpenStore builds for an S3 target (S3Store in a RetryingStore,
// options from S3StoreOptionsFromEnvironment / S3RetryOptionsFromEnvironment),
// but with the test's knobs: at most kMaxAttempts attempts per call, and a
// stall of one second fails a request. They are passed in the environment
// object because CredentialEnvironment::FromProcess keeps only AWS_*
// variables, so OpenStore never sees HX_S3_* ones.
// `multipart_threshold` (bytes, 0: the default) lowers the size from which
// objects go up by multipart, with parts of half that size.
WrapFn ReopenWithTestKnobs(const StoreFixture& fixture, int max_attempts = kMaxAttempts,
                           std::uint64_t multipart_threshold = 0) {
  return [&fixture, max_attempts,
          multipart_threshold](std::unique_ptr<Store>) -> std::unique_ptr<Store> {
    auto target = ParseTargetUri(fixture.TargetUri(), fixture.Options(), "/");
    EXPECT_TRUE(target.ok());
    s3::CredentialEnvironment env = s3::CredentialEnvironment::FromProcess();
    env.variables["HX_S3_MAX_ATTEMPTS"] = std::to_string(max_attempts);
    // Past this long without a byte the client gives up on a request. The
    // proxy's stalls (4 s) exceed it; a sound request under a sanitizer on a
    // loaded machine must not (with 1 s one did, and such a timeout, which
    // the proxy does not count as a fault, broke its at-most-3-in-a-row
    // promise and failed a push).
    env.variables["HX_S3_STALL_SECONDS"] = "2";
    // Over so short a window the default minimum rate (1 KiB/s) would also
    // end a small request that a loaded moto answers in more than 2 s; the
    // proxy's stalls send nothing at all, so 1 byte/s still catches them.
    env.variables["HX_S3_MIN_RATE"] = "1";
    if (multipart_threshold != 0) {
      env.variables["HX_S3_MULTIPART_THRESHOLD"] = std::to_string(multipart_threshold);
      env.variables["HX_S3_PART_SIZE"] = std::to_string(multipart_threshold / 2);
    }
    auto store = s3::S3Store::Open(*target, env, s3::S3StoreOptionsFromEnvironment(env));
    EXPECT_TRUE(store.ok()) << store.error().ToShortString();
    return std::make_unique<RetryingStore>(std::move(store).value(),
                                           s3::S3RetryOptionsFromEnvironment(env));
  };
}

// Keeps the CountingStore's figures after the engine drops the store.
class CountsSink : public StoreWrapper {
 public:
  CountsSink(std::unique_ptr<CountingStore> inner, std::shared_ptr<StoreCounts> sink)
      : StoreWrapper(std::move(inner)), sink_(std::move(sink)) {}
  ~CountsSink() override { *sink_ = static_cast<CountingStore&>(inner()).Counts(); }

 private:
  std::shared_ptr<StoreCounts> sink_;
};

// `wrap` and then a count of the store calls into `sink` (one operation's worth).
WrapFn CountInto(WrapFn wrap, std::shared_ptr<StoreCounts> sink) {
  return [wrap, sink](std::unique_ptr<Store> store) -> std::unique_ptr<Store> {
    return std::make_unique<CountsSink>(std::make_unique<CountingStore>(wrap(std::move(store))),
                                        sink);
  };
}

bool IsList(const ProxyRequest& r) { return r.method == "GET" && r.query.find("list-type") != std::string::npos; }

std::string Describe(const std::vector<ProxyRequest>& requests) {
  std::string out;
  for (const auto& r : requests) {
    out += r.method + " " + r.path + (r.query.empty() ? "" : "?" + r.query) + " -> " +
           std::to_string(r.status) + (r.fault.empty() ? "" : " [" + r.fault + "]") + "\n";
  }
  return out;
}

// Devices of one vault talking to moto through a fault proxy.
class S3ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto proxy = FaultProxy::Start(SharedMotoServer().endpoint());
    ASSERT_TRUE(proxy.ok()) << proxy.error().ToShortString();
    proxy_ = std::move(proxy).value();
    store_ = std::make_unique<S3StoreFixture>(proxy_->endpoint());
  }

  std::unique_ptr<Device> NewDevice(const std::string& name, int max_attempts = kMaxAttempts) {
    auto device = std::make_unique<Device>(*store_, name);
    device->wrap_store = ReopenWithTestKnobs(*store_, max_attempts);
    auto init = device->Init(Tick());
    EXPECT_TRUE(init.ok()) << init.error().ToShortString();
    return device;
  }
  std::int64_t Tick() { return now_ += 1000; }

  // Checks that a step succeeded; on a failure, the requests of the step
  // say why. Starts the next step's log.
  template <typename R>
  void Step(const char* what, const R& result) {
    EXPECT_TRUE(result.ok()) << what << ": " << result.error().ToShortString() << "\n"
                             << Describe(Requests());
    // Under transient faults a pull that applied only part of the head
    // (its report's error) is a failure too.
    if constexpr (requires { result->error; }) {
      if (result.ok()) {
        EXPECT_FALSE(result->error.has_value())
            << what << " was partial: " << result->error->ToShortString() << "\n"
            << Describe(Requests());
      }
    }
    ASSERT_TRUE(proxy_->Reset().ok());
  }

  std::vector<ProxyRequest> Requests() {
    auto log = proxy_->Requests();
    EXPECT_TRUE(log.ok());
    return log.ok() ? *log : std::vector<ProxyRequest>{};
  }
  int CountFaults() {
    int n = 0;
    for (const auto& r : Requests()) n += !r.fault.empty();
    return n;
  }
  void Faults(ProxyFaultConfig config) { ASSERT_TRUE(proxy_->Configure(config).ok()); }
  void RunMixedFaults(double rate, std::uint64_t seed, std::uint64_t multipart_threshold);

  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<S3StoreFixture> store_;
  std::int64_t now_ = 1'700'000'000'000;
};

// ------------------------------------------------------------------ AB2

TEST_F(S3ProxyTest, ANoChangePullCostsAtMostTwoSmallRequestsAndNeverListsBlobs) {
  auto a = NewDevice("a");
  for (int i = 0; i < 40; ++i) {
    a->Write("dir" + std::to_string(i % 4) + "/f" + std::to_string(i) + ".txt",
             "file " + std::to_string(i));
  }
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));

  ASSERT_TRUE(proxy_->Reset().ok());
  auto counts = std::make_shared<StoreCounts>();
  b->wrap_store = CountInto(b->wrap_store, counts);
  auto pulled = b->Pull(Tick());
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->outcome, "up_to_date");

  const auto requests = Requests();
  EXPECT_LE(requests.size(), 2u) << Describe(requests);
  for (const auto& r : requests) {
    EXPECT_FALSE(IsList(r)) << Describe(requests);
    EXPECT_LT(r.bytes_down, 4096u) << Describe(requests);
  }
  EXPECT_LE(counts->total_calls(), 2u) << counts->ToString();
  EXPECT_EQ((*counts)[StoreOp::kList], 0u) << counts->ToString();
}

// Requests of b's pull after `a` changed one file at depth `depth`.
std::vector<ProxyRequest> PullAfterOneChange(FaultProxy& proxy, Device& a, Device& b,
                                             const std::string& path, std::int64_t now) {
  a.Write(path, "changed at " + std::to_string(now));
  EXPECT_TRUE(a.Push(now).ok());
  EXPECT_TRUE(proxy.Reset().ok());
  auto pulled = b.Pull(now + 1);
  EXPECT_TRUE(pulled.ok()) << pulled.error().ToShortString();
  EXPECT_EQ(b.Read(path), a.Read(path));
  auto log = proxy.Requests();
  return log.ok() ? *log : std::vector<ProxyRequest>{};
}

TEST_F(S3ProxyTest, APullAfterOneRemoteChangeCostsRequestsForTheChangedTreesAndChunksOnly) {
  auto a = NewDevice("a");
  // 4 top directories x 50 subdirectories x 3 files: the changed file's
  // path crosses 3 trees out of 205.
  for (int d = 0; d < 4; ++d) {
    for (int s = 0; s < 50; ++s) {
      for (int f = 0; f < 3; ++f) {
        a->Write("top" + std::to_string(d) + "/sub" + std::to_string(s) + "/f" +
                     std::to_string(f) + ".txt",
                 "content " + std::to_string(d * 1000 + s * 10 + f));
      }
    }
  }
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));

  const auto one = PullAfterOneChange(*proxy_, *a, *b, "top2/sub17/f1.txt", Tick() + 10);
  now_ += 100;
  // Another change elsewhere costs the same: the cost follows the change,
  // not the size of the vault.
  const auto two = PullAfterOneChange(*proxy_, *a, *b, "top0/sub3/f2.txt", Tick() + 10);
  now_ += 100;
  for (const auto* requests : {&one, &two}) {
    // The changed file's path crosses 3 trees (root, top, sub) and the file
    // is one chunk: 4 ranged reads of the push's pack, nothing else from
    // blobs/, and no listing.
    std::size_t blob_reads = 0;
    for (const auto& r : *requests) {
      EXPECT_FALSE(IsList(r)) << Describe(*requests);
      const std::string key = KeyUnder(r, store_->RequestBase());
      if (key.starts_with("blobs/")) {
        EXPECT_EQ(r.method, "GET") << Describe(*requests);
        ++blob_reads;
      }
    }
    EXPECT_EQ(blob_reads, 4u) << Describe(*requests);
    // Besides: vault.json, head.json, the snapshot, and this device's
    // manifest rewritten with what it has imported (over the one it wrote
    // last, without reading it).
    EXPECT_LE(requests->size(), 4u + 4u) << Describe(*requests);
  }
  EXPECT_EQ(one.size(), two.size()) << Describe(one) << "--\n" << Describe(two);
}

// ------------------------------------------------------------------ AB3 / AB4

TEST_F(S3ProxyTest, AForeignPackThatHoldsOnlyOneFilesChunkFailsThatFileAlone) {
  // A stranger vault on the same server, with the same content.
  S3StoreFixture other;
  Device stranger(other, "stranger");
  HX_ASSERT_OK(stranger.Init(Tick()));
  const std::string big = RandomBytes(3 << 20, 5);
  stranger.Write("big.bin", big);
  HX_ASSERT_OK(stranger.Push(Tick()));

  auto a = NewDevice("a");
  a->Write("small.txt", "small");
  a->Write("big.bin", big);
  HX_ASSERT_OK(a->Push(Tick()));
  // Swap our largest pack (big.bin's chunk, not the trees) for theirs.
  std::string ours;
  std::size_t largest = 0;
  for (const auto& [key, bytes] : store_->Objects()) {
    if (key.starts_with("blobs/") && bytes.size() > largest) largest = bytes.size(), ours = key;
  }
  std::string theirs;
  largest = 0;
  for (const auto& [key, bytes] : other.Objects()) {
    if (key.starts_with("blobs/") && bytes.size() > largest) largest = bytes.size(), theirs = bytes;
  }
  ASSERT_FALSE(ours.empty());
  store_->Overwrite(ours, theirs);

  auto b = NewDevice("b");
  auto pulled = b->Pull(Tick());
  if (pulled.ok()) {
    // The trees lived elsewhere: the small file arrives, the big one fails.
    ASSERT_TRUE(pulled->error.has_value());
    EXPECT_EQ(pulled->error->category, Category::kCorrupt);
    EXPECT_EQ(b->Read("small.txt"), "small");
  } else {
    // The trees were in the swapped pack: nothing applies.
    EXPECT_EQ(pulled.error().category, Category::kCorrupt);
  }
  EXPECT_FALSE(b->Exists("big.bin"));
}

// ------------------------------------------------------------------ AB5

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


// ------------------------------------------------------------------ AB6

// The keys (under `base`) of the multipart uploads in `requests` that were
// aborted, and of those that completed.
void MultipartKeys(const std::vector<ProxyRequest>& requests, const std::string& base,
                   std::set<std::string>* aborted, std::set<std::string>* completed) {
  for (const auto& r : requests) {
    if (r.query.find("uploadId=") == std::string::npos) continue;
    if (r.method == "DELETE") aborted->insert(KeyUnder(r, base));
    if (r.method == "POST" && r.status == 200 && r.fault.empty()) {
      completed->insert(KeyUnder(r, base));
    }
  }
}

TEST_F(S3ProxyTest, A64MiBFileGoesUpByMultipartAndAFailedUploadLeavesNoPartialObject) {
  auto a = NewDevice("a");
  // Packs close at about 16 MiB (OpenStore's default threshold) and random
  // data packs to a little less, so the threshold is lowered to 8 MiB (parts
  // of 4 MiB): every pack of the 64 MiB file then goes up by multipart.
  a->wrap_store = ReopenWithTestKnobs(*store_, kMaxAttempts, std::uint64_t{8} << 20);
  a->Write("small.txt", "small");
  HX_ASSERT_OK(a->Push(Tick()));
  const std::string head_before = store_->Objects().at("head.json");
  const std::string big = RandomBytes(std::size_t{64} << 20, 7);
  a->Write("big.bin", big);

  struct Failure {
    std::string what;
    std::vector<std::string> methods;
    std::string path_regex;
  };
  for (const Failure& f : {Failure{"a part PUT", {"PUT"}, "partNumber=2(&|$)"},
                           Failure{"CompleteMultipartUpload", {"POST"}, "^[^?]*[?]uploadId="}}) {
    SCOPED_TRACE(f.what);
    ProxyFaultConfig config;
    config.rates["500"] = 1.0;
    config.methods = f.methods;
    config.path_regex = f.path_regex;
    Faults(config);
    ASSERT_TRUE(proxy_->Reset().ok());
    auto pushed = a->Push(Tick());
    const auto requests = Requests();
    ASSERT_FALSE(pushed.ok()) << Describe(requests);
    EXPECT_EQ(pushed.error().code, SyncCode::kNetworkFailed) << pushed.error().ToShortString();
    std::set<std::string> aborted, completed;
    MultipartKeys(requests, store_->RequestBase(), &aborted, &completed);
    EXPECT_FALSE(aborted.empty()) << "no multipart upload was aborted";
    // Readers see no trace of an upload that failed: not in a list, not by a get.
    const auto objects = store_->Objects();
    for (const auto& key : aborted) {
      if (completed.count(key) != 0) continue;
      EXPECT_EQ(objects.count(key), 0u) << key;
      auto exists = store_->direct().Exists(key);
      ASSERT_TRUE(exists.ok());
      EXPECT_FALSE(*exists) << key;
    }
    EXPECT_EQ(objects.at("head.json"), head_before);
  }

  // The same push, the network healthy again: it goes up by multipart.
  ASSERT_TRUE(proxy_->PassThrough().ok());
  ASSERT_TRUE(proxy_->Reset().ok());
  HX_ASSERT_OK(a->Push(Tick()));
  const auto requests = Requests();
  const auto parts = std::count_if(requests.begin(), requests.end(), [](const ProxyRequest& r) {
    return r.method == "PUT" && r.query.find("partNumber=") != std::string::npos;
  });
  EXPECT_GE(parts, 16) << "64 MiB in parts of at most 4 MiB";
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_TRUE(b->Read("big.bin") == big);
  EXPECT_EQ(b->Read("small.txt"), "small");
}

}  // namespace
}  // namespace hx::testing
