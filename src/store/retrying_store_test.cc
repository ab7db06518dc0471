// RetryingStore over a FaultInjectingStore: which failures are retried, how
// long it waits, when it gives up, and how it keeps conditional writes honest.
// Time is fake: the clock records each sleep and advances by it.
#include <algorithm>
#include <limits>
#include <mutex>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/clock.h"
#include "store/memory_store.h"
#include "store/store_test_util.h"
#include "store/store_wrappers.h"

namespace hx::store_testing {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Le;

using std::chrono::milliseconds;
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMaxRandom = std::numeric_limits<std::uint64_t>::max();

// A FakeClock that also keeps each sleep. Used from one thread at a time.
class RecordingClock final : public Clock {
 public:
  std::int64_t WallMs() override { return fake_.WallMs(); }
  MonoTime Monotonic() override { return fake_.Monotonic(); }
  void SleepFor(milliseconds d) override {
    sleeps.push_back(d);
    fake_.SleepFor(d);
  }
  std::vector<milliseconds> sleeps;

 private:
  FakeClock fake_;
};

// Retrying(Counting(FaultInjecting(Memory))), with fake time and a random
// source the test controls. Raw pointers reach the inner layers.
class RetryTest : public ::testing::Test {
 protected:
  void Build(RetryOptions options = DefaultOptions()) {
    auto memory = std::make_unique<MemoryStore>();
    memory_ = memory.get();
    auto faults = std::make_unique<FaultInjectingStore>(std::move(memory), /*seed=*/3);
    faults_ = faults.get();
    auto counting = std::make_unique<CountingStore>(std::move(faults));
    counting_ = counting.get();
    options.clock = &clock_;
    if (!options.random) options.random = [this] { return random_value_; };
    store_ = std::make_unique<RetryingStore>(std::move(counting), std::move(options));
  }

  static RetryOptions DefaultOptions() {
    RetryOptions options;
    options.max_attempts = 5;
    options.base_delay = milliseconds(100);
    options.max_delay = milliseconds(1000);
    options.max_total = milliseconds(60'000);
    return options;
  }

  void SetUp() override { Build(); }

  std::uint64_t Calls(StoreOp op) const { return counting_->Counts()[op]; }

  MemoryStore* memory_ = nullptr;
  FaultInjectingStore* faults_ = nullptr;
  CountingStore* counting_ = nullptr;
  std::unique_ptr<RetryingStore> store_;
  std::uint64_t random_value_ = kMaxRandom;  // delays at their caps
  RecordingClock clock_;
  const std::vector<milliseconds>& sleeps_ = clock_.sleeps;
};

TEST_F(RetryTest, TransientFailuresAreAbsorbed) {
  ASSERT_TRUE(memory_->Put("k", ToBytes("v")).ok());
  faults_->AddRule(FaultRule::FailFirst(StoreOp::kGet, 2, Category::kNetwork));
  auto got = store_->Get("k", kNoLimit);
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  EXPECT_EQ(*got, ToBytes("v"));
  EXPECT_EQ(Calls(StoreOp::kGet), 3u);
  EXPECT_THAT(sleeps_, ElementsAre(milliseconds(100), milliseconds(200)));
}

TEST_F(RetryTest, ThrottlingTimeoutAndNetworkAreRetriedOtherCategoriesAreNot) {
  ASSERT_TRUE(memory_->Put("k", ToBytes("v")).ok());
  for (const Category category : {Category::kThrottling, Category::kTimeout, Category::kNetwork}) {
    faults_->ClearRules();
    faults_->AddRule(FaultRule::FailFirst(StoreOp::kExists, 1, category));
    EXPECT_TRUE(store_->Exists("k").ok()) << ToString(category);
  }
  for (const Category category :
       {Category::kAuth, Category::kCorrupt, Category::kIo, Category::kNoSpace, Category::kLocked,
        Category::kNotFound, Category::kInternal}) {
    faults_->ClearRules();
    faults_->AddRule(FaultRule::FailFirst(StoreOp::kExists, 1, category));
    const std::uint64_t before = Calls(StoreOp::kExists);
    auto result = store_->Exists("k");
    ASSERT_FALSE(result.ok()) << ToString(category);
    EXPECT_EQ(result.error().category, category);
    EXPECT_EQ(Calls(StoreOp::kExists) - before, 1u) << ToString(category);
  }
}

TEST_F(RetryTest, PermanentFailuresSurfaceAtOnceAndUnchanged) {
  faults_->AddRule(FaultRule::FailPrefix(StoreOp::kPut, "", Category::kAuth));
  const Status put = store_->Put("k", ToBytes("v"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(put.error().details.count("attempts"), 0u);
  EXPECT_EQ(Calls(StoreOp::kPut), 1u);
  EXPECT_TRUE(sleeps_.empty());
  auto missing = store_->Get("absent", kNoLimit);
  EXPECT_EQ(missing.error().category, Category::kNotFound);
  EXPECT_EQ(Calls(StoreOp::kGet), 1u);
}

TEST_F(RetryTest, AttemptsAreBoundedAndTheLastErrorKeepsItsCode) {
  faults_->AddRule(FaultRule::FailPrefix(StoreOp::kPut, "", Category::kNetwork));
  const Status put = store_->Put("k", ToBytes("v"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, SyncCode::kNetworkFailed);
  EXPECT_EQ(put.error().category, Category::kNetwork);
  EXPECT_EQ(put.error().details.at("attempts"), "5");
  EXPECT_EQ(Calls(StoreOp::kPut), 5u);
  EXPECT_EQ(sleeps_.size(), 4u);
}

TEST_F(RetryTest, TotalTimeIsBounded) {
  RetryOptions options = DefaultOptions();
  options.max_attempts = 100;
  options.max_total = milliseconds(1000);
  Build(options);
  faults_->AddRule(FaultRule::FailPrefix(StoreOp::kList, "", Category::kTimeout));
  auto listed = store_->List("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().category, Category::kTimeout);
  // Delays at their caps: 100 + 200 + 400 = 700; the next (800) would pass 1000.
  EXPECT_THAT(sleeps_, ElementsAre(milliseconds(100), milliseconds(200), milliseconds(400)));
  EXPECT_EQ(Calls(StoreOp::kList), 4u);
}

TEST_F(RetryTest, DelayCapsDoubleUpToTheMaximum) {
  std::vector<milliseconds> delays;
  for (int retry = 0; retry < 7; ++retry) delays.push_back(store_->BackoffDelay(retry));
  EXPECT_THAT(delays, ElementsAre(milliseconds(100), milliseconds(200), milliseconds(400),
                                  milliseconds(800), milliseconds(1000), milliseconds(1000),
                                  milliseconds(1000)));
  EXPECT_EQ(store_->BackoffDelay(1'000'000), milliseconds(1000));  // no overflow
  random_value_ = 0;
  EXPECT_EQ(store_->BackoffDelay(5), milliseconds(0));
}

// Full jitter: every delay is uniform in [0, cap], so with a real random
// source they spread over the whole interval rather than cluster at the cap.
TEST_F(RetryTest, DelaysAreFullJitterWithinTheirCaps) {
  RetryOptions options = DefaultOptions();
  options.random = [generator = std::mt19937_64(11)]() mutable { return generator(); };
  Build(options);
  std::vector<milliseconds> delays;
  for (int i = 0; i < 200; ++i) delays.push_back(store_->BackoffDelay(2));  // cap 400
  EXPECT_THAT(delays, Each(Le(milliseconds(400))));
  const auto [low, high] = std::minmax_element(delays.begin(), delays.end());
  EXPECT_LT(*low, milliseconds(40));
  EXPECT_GT(*high, milliseconds(360));
  // And the delays a failing call actually slept obey their caps too.
  faults_->AddRule(FaultRule::FailPrefix(StoreOp::kGet, "", Category::kNetwork));
  EXPECT_FALSE(store_->Get("k", kNoLimit).ok());
  ASSERT_EQ(sleeps_.size(), 4u);
  for (std::size_t i = 0; i < sleeps_.size(); ++i) {
    EXPECT_LE(sleeps_[i], milliseconds(100 << i)) << i;
  }
}

TEST_F(RetryTest, PutAndDeleteAreRetriedEvenIfTheyTookEffect) {
  FaultRule lost_put = FaultRule::FailNth(StoreOp::kPut, 1);
  lost_put.action = FaultAction::kFailAfter;
  faults_->AddRule(lost_put);
  FaultRule lost_delete = FaultRule::FailNth(StoreOp::kDelete, 1);
  lost_delete.action = FaultAction::kFailAfter;
  faults_->AddRule(lost_delete);
  ASSERT_TRUE(store_->Put("k", ToBytes("v")).ok());
  EXPECT_EQ(Calls(StoreOp::kPut), 2u);
  ASSERT_TRUE(store_->Delete("k").ok());
  EXPECT_EQ(Calls(StoreOp::kDelete), 2u);
  EXPECT_EQ(memory_->ObjectCount(), 0u);
}

// The first attempt created the object but its reply was lost; the retry
// finds the object there. Reading it back shows it is ours: success.
TEST_F(RetryTest, APutIfAbsentWhoseReplyWasLostSucceeds) {
  FaultRule lost = FaultRule::FailNth(StoreOp::kPutIfAbsent, 1, Category::kTimeout);
  lost.action = FaultAction::kFailAfter;
  faults_->AddRule(lost);
  auto created = store_->PutIfAbsent("locks/write.lock", ToBytes("token-mine"));
  ASSERT_TRUE(created.ok()) << created.error().ToShortString();
  EXPECT_EQ(*created, memory_->GetVersioned("locks/write.lock", kNoLimit)->second);
  EXPECT_EQ(Calls(StoreOp::kPutIfAbsent), 2u);
  EXPECT_EQ(Calls(StoreOp::kGetVersioned), 1u);
}

// The first attempt never arrived, and meanwhile someone else created the
// object: the read-back shows other bytes, so the kAborted stands.
TEST_F(RetryTest, APutIfAbsentLostToAnotherWriterStillAborts) {
  ASSERT_TRUE(memory_->Put("locks/write.lock", ToBytes("token-theirs")).ok());
  faults_->AddRule(FaultRule::FailNth(StoreOp::kPutIfAbsent, 1, Category::kNetwork));
  auto created = store_->PutIfAbsent("locks/write.lock", ToBytes("token-mine"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().category, Category::kAborted);
  EXPECT_EQ(Calls(StoreOp::kGetVersioned), 1u);
  EXPECT_EQ(memory_->Get("locks/write.lock", kNoLimit).value(), ToBytes("token-theirs"));
}

// Another writer's object that is larger than ours cannot be ours, and is not
// read beyond our size.
TEST_F(RetryTest, AReadBackOfALargerObjectAborts) {
  ASSERT_TRUE(memory_->Put("k", PatternBytes(10'000, 1)).ok());
  faults_->AddRule(FaultRule::FailNth(StoreOp::kPutIfAbsent, 1, Category::kNetwork));
  EXPECT_EQ(store_->PutIfAbsent("k", ToBytes("small")).error().category, Category::kAborted);
  EXPECT_EQ(counting_->Counts().bytes_down, 0u);
}

// Every refusal is read back, even after a single attempt: the HTTP layer
// may have resent a write whose reply was lost without this wrapper seeing
// it. Bytes equal to ours are our write (the store holds exactly what was
// asked); anything else is a real conflict.
TEST_F(RetryTest, EveryRefusedConditionalWriteIsReadBackOnce) {
  ASSERT_TRUE(memory_->Put("k", ToBytes("v")).ok());
  EXPECT_TRUE(store_->PutIfAbsent("k", ToBytes("v")).ok());
  EXPECT_EQ(store_->PutIfMatch("k", ToBytes("w"), "stale").error().category, Category::kAborted);
  EXPECT_EQ(Calls(StoreOp::kGetVersioned), 2u);
  EXPECT_EQ(Calls(StoreOp::kPutIfAbsent), 1u);
  EXPECT_EQ(Calls(StoreOp::kPutIfMatch), 1u);
}

TEST_F(RetryTest, APutIfMatchWhoseReplyWasLostSucceeds) {
  auto v1 = memory_->PutIfAbsent("head.json", ToBytes("seq 1"));
  ASSERT_TRUE(v1.ok());
  FaultRule lost = FaultRule::FailNth(StoreOp::kPutIfMatch, 1, Category::kNetwork);
  lost.action = FaultAction::kFailAfter;
  faults_->AddRule(lost);
  auto v2 = store_->PutIfMatch("head.json", ToBytes("seq 2"), *v1);
  ASSERT_TRUE(v2.ok()) << v2.error().ToShortString();
  auto now = memory_->GetVersioned("head.json", kNoLimit);
  EXPECT_EQ(now->first, ToBytes("seq 2"));
  EXPECT_EQ(*v2, now->second);
}

TEST_F(RetryTest, APutIfMatchThatLostTheRaceStillAborts) {
  auto v1 = memory_->PutIfAbsent("head.json", ToBytes("seq 1"));
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(memory_->PutIfMatch("head.json", ToBytes("seq 2 by them"), *v1).ok());
  faults_->AddRule(FaultRule::FailNth(StoreOp::kPutIfMatch, 1, Category::kTimeout));
  auto mine = store_->PutIfMatch("head.json", ToBytes("seq 2 by me"), *v1);
  ASSERT_FALSE(mine.ok());
  EXPECT_EQ(mine.error().category, Category::kAborted);
  EXPECT_EQ(memory_->Get("head.json", kNoLimit).value(), ToBytes("seq 2 by them"));
}

TEST_F(RetryTest, AFailedReadBackSurfacesItsError) {
  FaultRule lost = FaultRule::FailNth(StoreOp::kPutIfAbsent, 1, Category::kNetwork);
  lost.action = FaultAction::kFailAfter;
  faults_->AddRule(lost);
  faults_->AddRule(FaultRule::FailPrefix(StoreOp::kGetVersioned, "", Category::kAuth));
  auto created = store_->PutIfAbsent("k", ToBytes("v"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().category, Category::kAuth);
}

TEST_F(RetryTest, OneAttemptMeansNoRetries) {
  RetryOptions options = DefaultOptions();
  options.max_attempts = 1;
  Build(options);
  faults_->AddRule(FaultRule::FailFirst(StoreOp::kGet, 1, Category::kNetwork));
  EXPECT_FALSE(store_->Get("k", kNoLimit).ok());
  EXPECT_EQ(Calls(StoreOp::kGet), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

// A retryable category marked not retryable (an S3 command whose time is
// up) is returned at once: retrying within the command cannot help.
TEST_F(RetryTest, AnErrorMarkedNotRetryableIsReturnedAtOnce) {
  Error up(SyncCode::kNetworkFailed, Category::kTimeout, "the command's time is up");
  up.retryable = false;
  EXPECT_FALSE(IsRetryableError(up));
  RetryOptions options = DefaultOptions();
  options.clock = &clock_;
  RetryPolicy policy(options);
  int calls = 0;
  Result<int> result = policy.Run([&]() -> Result<int> {
    ++calls;
    return up;
  });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(result.error().details.contains("attempts"));
}

}  // namespace
}  // namespace hx::store_testing
