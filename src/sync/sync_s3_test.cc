// Devices syncing through S3 end to end: a real S3 server (moto_server, with
// signature checking) behind our fault proxy, hx opening the store the way
// the CLI does (OpenStore from the target URI and the AWS_* environment).
//
//   AB1      the shared scenarios (sync_scenarios_test.cc) run on S3 too
//   AB2      request counts of no-change and one-change pulls
//   AB3/AB4  corrupt and foreign objects (in the scenarios, and below)
//   AB5      every fault kind of the proxy: sync_s3_fault_test.cc
//   AB6      multipart uploads of a 64 MiB file, atomic under injected failures
//
// The fixtures are in sync_s3_test_util.h.
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

std::vector<NamedStoreFixture> ScenarioStores() {
  return {{"s3", [] { return std::unique_ptr<StoreFixture>(std::make_unique<S3StoreFixture>()); }}};
}

namespace {

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
