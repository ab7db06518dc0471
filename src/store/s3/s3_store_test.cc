// The S3 store against a real S3 server (moto_server, signature checking on):
// the store conformance suite, plus what only S3 has — pagination, multipart,
// conditional writes, error mapping and request signing that a real verifier
// accepts (or refuses, for a wrong secret).
#include "store/s3/s3_store.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "os/real_clock.h"
#include "store/s3/testing/moto_server.h"
#include "store/s3/xml.h"
#include "store/store_conformance.h"
#include "store/store_test_util.h"
#include "store/store_wrappers.h"

namespace hx::s3 {
namespace {

using store_testing::PatternBytes;
using store_testing::StoreConformanceTest;
using store_testing::StoreFactory;
using store_testing::StoreFactoryName;
using store_testing::ToBytes;
using testing::SharedMotoServer;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

#define ASSERT_OK(expr)                                                 \
  do {                                                                  \
    const auto& hx_result_ = (expr);                                    \
    ASSERT_TRUE(hx_result_.ok()) << hx_result_.error().ToShortString(); \
  } while (false)

// The production stack (OpenStore's): the S3 store inside a RetryingStore,
// here with short real backoffs (10 ms doubling to 100 ms, 8 attempts).
// moto (5.2.1) answers 500 to a GET that races a PUT replacing the same
// object (it closes the old object's buffer under the reader); the retry is
// what a client of real S3 would never need but must have anyway. Retries
// that did not wait at all could all land inside one slow PUT on a loaded
// machine (ReadersSeeTheOldOrTheNewObjectNeverAMix failed once in about 500
// runs so).
std::unique_ptr<Store> Retrying(std::unique_ptr<Store> store) {
  RetryOptions retry;
  retry.max_attempts = 8;
  retry.base_delay = std::chrono::milliseconds(10);
  retry.max_delay = std::chrono::milliseconds(100);
  retry.clock = &RealClock::Get();
  return std::make_unique<RetryingStore>(std::move(store), retry);
}

std::unique_ptr<Store> FreshStore(S3StoreOptions options = {}) {
  auto& moto = SharedMotoServer();
  return Retrying(moto.NewStore(moto.NewBucket(), "vault/one", std::move(options)));
}

S3StoreOptions SmallMultipart() {
  S3StoreOptions options;
  options.multipart_threshold = 256 * 1024;
  options.part_size = 100 * 1024;
  options.concurrency = 4;
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    S3, StoreConformanceTest,
    ::testing::Values(StoreFactory{"S3", [] { return FreshStore(); }},
                      StoreFactory{"S3SmallMultipart", [] { return FreshStore(SmallMultipart()); }},
                      StoreFactory{"S3NoPrefix",
                                   [] {
                                     auto& moto = SharedMotoServer();
                                     return Retrying(moto.NewStore(moto.NewBucket(), ""));
                                   }}),
    StoreFactoryName);

TEST(S3Store, KeysLiveUnderThePrefixInTheBucket) {
  auto& moto = SharedMotoServer();
  const std::string bucket = moto.NewBucket();
  auto inner = moto.NewStore(bucket, "vault/one");
  auto whole = moto.NewStore(bucket, "");
  ASSERT_OK(inner->Put("head.json", ToBytes("h")));
  auto listed = whole->List("");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "vault/one/head.json");
  // A sibling prefix is invisible to the store.
  ASSERT_OK(whole->Put("vault/other/head.json", ToBytes("x")));
  auto mine = inner->List("");
  ASSERT_OK(mine);
  EXPECT_EQ(mine->size(), 1u);
}

TEST(S3Store, AWrongSecretIsAuthFailedAndNeverShowsTheSecret) {
  auto& moto = SharedMotoServer();
  const std::string bucket = moto.NewBucket();
  AwsCredentials wrong = moto.credentials();
  wrong.secret_access_key = "wrongSECRETwrongSECRETwrongSECRET0123456";
  S3Store store(moto.EndpointFor(bucket), wrong, "", "s3+endpoint://" + bucket);
  for (const auto& result : {store.Put("k", ToBytes("x")), store.Delete("k")}) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, SyncCode::kAuthFailed) << result.error().ToShortString();
    EXPECT_EQ(result.error().category, Category::kAuth);
    EXPECT_FALSE(result.error().retryable);
    const std::string everything = result.error().ToJson() + result.error().ToHuman();
    EXPECT_EQ(everything.find(wrong.secret_access_key), std::string::npos);
    EXPECT_EQ(everything.find(moto.credentials().secret_access_key), std::string::npos);
  }
  auto listed = store.List("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, SyncCode::kAuthFailed);
}

TEST(S3Store, AnUnknownAccessKeyIsAuthFailed) {
  auto& moto = SharedMotoServer();
  const std::string bucket = moto.NewBucket();
  S3Store store(moto.EndpointFor(bucket), {"AKIANOSUCHKEY0000000", "secret", ""}, "", "s3");
  auto got = store.Get("k", kNoLimit);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kAuthFailed) << got.error().ToShortString();
}

TEST(S3Store, AMissingBucketIsTargetInvalidNotAMissingObject) {
  auto& moto = SharedMotoServer();
  auto store = moto.NewStore("hx-no-such-bucket", "p");
  auto got = store->Get("k", kNoLimit);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kTargetInvalid) << got.error().ToShortString();
  EXPECT_EQ(got.error().category, Category::kNotFound);
  EXPECT_NE(got.error().message.find("create the bucket"), std::string::npos);
  auto checked = store->CheckTarget();
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, SyncCode::kTargetInvalid);
}

TEST(S3Store, CheckTargetAcceptsAServerWithConditionalWritesAndLeavesNoProbe) {
  auto& moto = SharedMotoServer();
  const std::string bucket = moto.NewBucket();
  auto store = moto.NewStore(bucket, "p");
  ASSERT_OK(store->CheckTarget());
  EXPECT_FALSE(store->emulating_conditional_writes());
  auto listed = moto.NewStore(bucket, "")->List("");
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
}

TEST(S3Store, AnUnreachableServerIsARetryableNetworkFailure) {
  auto& moto = SharedMotoServer();
  S3Endpoint endpoint = moto.EndpointFor("bucket");
  endpoint.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  S3Store store(endpoint, moto.credentials(), "", "s3");
  auto got = store.Get("k", kNoLimit);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed);
  EXPECT_TRUE(got.error().retryable);
}

TEST(S3Store, GetStopsReadingAtTheSizeBound) {
  auto store = FreshStore();
  ASSERT_OK(store->Put("big", PatternBytes(2 << 20, 3)));
  auto got = store->Get("big", 1000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().category, Category::kCorrupt);
  EXPECT_EQ(got.error().details.at("key"), "big");
}

TEST(S3Store, ListFollowsContinuationTokensPastAThousandKeys) {
  auto& moto = SharedMotoServer();
  const std::string bucket = moto.NewBucket();
  auto store = moto.NewStore(bucket, "v");
  auto counting = std::make_unique<CountingStore>(moto.NewStore(bucket, "v"));
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = t; i < 2345; i += 4) {
        char name[32];
        std::snprintf(name, sizeof(name), "packs/%05d", i);
        ASSERT_TRUE(store->Put(name, Bytes{static_cast<std::uint8_t>(i)}).ok());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  auto listed = store->List("packs/");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2345u);
  EXPECT_TRUE(std::ranges::is_sorted(*listed, {}, &StoreObjectInfo::key));
  EXPECT_EQ((*listed)[1234].key, "packs/01234");
  EXPECT_EQ((*listed)[1234].size, 1u);
}

TEST(S3Store, MultipartObjectsAreInvisibleUntilCompleteAndExactAfter) {
  auto options = SmallMultipart();
  auto store = FreshStore(options);
  const Bytes bytes = PatternBytes(1'000'001, 9);  // 10 parts, the last short
  ASSERT_OK(store->Put("packs/big", bytes));
  auto got = store->Get("packs/big", kNoLimit);
  ASSERT_OK(got);
  EXPECT_TRUE(*got == bytes);
  auto listed = store->List("packs/");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, bytes.size());
}

// The multipart uploads still open in `bucket` (ListMultipartUploads).
std::size_t PendingUploads(const std::string& bucket) {
  auto& moto = SharedMotoServer();
  S3Client client(moto.EndpointFor(bucket), moto.credentials());
  auto listed = client.Send({.method = "GET", .key = "", .query = {{"uploads", ""}},
                             .headers = {}, .body = {}, .max_response_bytes = 1 << 20});
  if (!listed.ok()) {
    ADD_FAILURE() << listed.error().ToShortString();
    return 0;
  }
  auto parsed = ParseXml(std::string(listed->body.begin(), listed->body.end()));
  if (!parsed.ok()) {
    ADD_FAILURE() << parsed.error().ToShortString();
    return 0;
  }
  return parsed->Children("Upload").size();
}

TEST(S3Store, AFailedMultipartUploadIsAbortedAndLeavesNothingVisible) {
  auto& moto = SharedMotoServer();
  const std::string bucket = moto.NewBucket();
  S3StoreOptions options;
  options.multipart_threshold = 4096;
  options.part_size = 512;  // below the server's minimum: CompleteMultipartUpload fails
  auto store = moto.NewStore(bucket, "v", options);
  auto put = store->Put("packs/p1", PatternBytes(5000, 1));
  ASSERT_FALSE(put.ok());
  EXPECT_FALSE(put.error().retryable) << put.error().ToShortString();
  EXPECT_EQ(store->Exists("packs/p1").value(), false);
  EXPECT_TRUE(store->List("").value().empty());
  EXPECT_EQ(PendingUploads(bucket), 0u);
  // The same store with sound parts succeeds, and nothing is left open.
  auto good = moto.NewStore(bucket, "v", SmallMultipart());
  ASSERT_OK(good->Put("packs/p1", PatternBytes(300'000, 1)));
  EXPECT_EQ(good->Get("packs/p1", kNoLimit).value(), PatternBytes(300'000, 1));
  EXPECT_EQ(PendingUploads(bucket), 0u);
}

TEST(S3Store, ConditionalWritesUseTheServersPreconditions) {
  auto store = FreshStore();
  auto created = store->PutIfAbsent("head.json", ToBytes("1"));
  ASSERT_OK(created);
  EXPECT_FALSE(created->empty());
  auto again = store->PutIfAbsent("head.json", ToBytes("2"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().category, Category::kAborted);
  auto replaced = store->PutIfMatch("head.json", ToBytes("3"), *created);
  ASSERT_OK(replaced);
  auto stale = store->PutIfMatch("head.json", ToBytes("4"), *created);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().category, Category::kAborted);
  auto versioned = store->GetVersioned("head.json", kNoLimit);
  ASSERT_OK(versioned);
  EXPECT_EQ(versioned->first, ToBytes("3"));
  EXPECT_EQ(versioned->second, *replaced);
  EXPECT_TRUE(store->capabilities().atomic_compare_and_swap);
}

TEST(S3Store, EmulatedConditionalWritesKeepTheContractButSayTheyAreNotAtomic) {
  S3StoreOptions options;
  options.conditional_writes = ConditionalWrites::kEmulated;
  auto store = FreshStore(options);
  EXPECT_FALSE(store->capabilities().atomic_create);
  EXPECT_FALSE(store->capabilities().atomic_compare_and_swap);
  auto created = store->PutIfAbsent("locks/write.lock", ToBytes("a"));
  ASSERT_OK(created);
  EXPECT_EQ(store->PutIfAbsent("locks/write.lock", ToBytes("b")).error().category,
            Category::kAborted);
  EXPECT_EQ(store->PutIfMatch("locks/write.lock", ToBytes("c"), "\"nope\"").error().category,
            Category::kAborted);
  EXPECT_EQ(store->PutIfMatch("locks/absent", ToBytes("c"), *created).error().category,
            Category::kAborted);
  ASSERT_OK(store->PutIfMatch("locks/write.lock", ToBytes("d"), *created));
  EXPECT_EQ(store->Get("locks/write.lock", kNoLimit).value(), ToBytes("d"));
}

TEST(S3Store, RetryingStoreOverS3GivesUpOnAPermanentOutageInBoundedTime) {
  auto& moto = SharedMotoServer();
  S3Endpoint endpoint = moto.EndpointFor("bucket");
  endpoint.base_url = "http://127.0.0.1:1";
  FakeClock clock;
  RetryOptions retry;
  retry.max_attempts = 4;
  retry.clock = &clock;
  retry.random = [] { return ~std::uint64_t{0}; };  // the top of each jitter range
  RetryingStore store(std::make_unique<S3Store>(endpoint, moto.credentials(), "", "s3"), retry);
  auto got = store.Get("k", kNoLimit);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed);
  EXPECT_EQ(got.error().details.at("attempts"), "4");
  // Three retries, after 200, 400 and 800 ms.
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(1400));
}

}  // namespace
}  // namespace hx::s3
