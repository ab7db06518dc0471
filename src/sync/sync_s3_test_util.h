// Test helpers of the S3 sync tests (hx_sync_s3_test: sync_s3_test.cc,
// the end-to-end cases, and sync_s3_fault_test.cc, the proxy's faults): a
// bucket on the shared moto_server as a StoreFixture, the store OpenStore
// builds with the tests' knobs, request logs, and the fixture of devices
// talking to moto through the fault proxy (store/s3/testing/).
//
// Thread-safety: used by one test at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/s3/testing/fault_proxy.h"
#include "store/s3/testing/moto_server.h"
#include "store/store_wrappers.h"
#include "sync/sync_test_util.h"

namespace hx::testing {

inline constexpr char kS3Prefix[] = "vault";

// Attempts per call in the proxy tests: what the bounded-failure tests count
// on the wire (ReopenWithTestKnobs).
inline constexpr int kMaxAttempts = 4;
// OpenStore's default (S3RetryOptionsFromEnvironment).
inline constexpr int kDefaultAttempts = 5;

// The process environment OpenStore reads: moto's key, nothing else.
void SetS3Environment(const s3::testing::MotoServer& moto);

// A fresh bucket on the shared moto server; devices reach it at `endpoint`
// (moto itself, or a proxy in front of it). The test reads and damages
// objects straight through moto, never through the proxy.
class S3StoreFixture : public StoreFixture {
 public:
  explicit S3StoreFixture(std::string endpoint = "")
      : moto_(s3::testing::SharedMotoServer()),
        bucket_(moto_.NewBucket()),
        endpoint_(endpoint.empty() ? moto_.endpoint() : std::move(endpoint)),
        direct_(moto_.NewStore(bucket_, kS3Prefix)) {
    SetS3Environment(moto_);
  }

  std::string Name() const override { return "s3"; }
  std::string TargetUri() const override {
    return "s3+endpoint://" + bucket_ + "/" + kS3Prefix;
  }
  TargetOptions Options() const override {
    TargetOptions options;
    options.endpoint = endpoint_;
    options.path_style = true;
    options.region = s3::testing::MotoServer::kRegion;
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
  std::string RequestBase() const { return "/" + bucket_ + "/" + kS3Prefix + "/"; }
  Store& direct() { return *direct_; }

 private:
  s3::testing::MotoServer& moto_;
  std::string bucket_;
  std::string endpoint_;
  std::unique_ptr<Store> direct_;
};

// Deterministic incompressible bytes (xorshift64).
std::string RandomBytes(std::size_t size, std::uint64_t seed);

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
                           std::uint64_t multipart_threshold = 0);

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
WrapFn CountInto(WrapFn wrap, std::shared_ptr<StoreCounts> sink);

// Whether a request is a listing (ListObjectsV2).
bool IsList(const ProxyRequest& r);

// One line per request: method, path, query, status, the fault injected.
std::string Describe(const std::vector<ProxyRequest>& requests);

// Devices of one vault talking to moto through a fault proxy.
class S3ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto proxy = FaultProxy::Start(s3::testing::SharedMotoServer().endpoint());
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

}  // namespace hx::testing
