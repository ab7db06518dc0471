// The agent's parts that need no running agent: the remote notifier's
// schedule and its requests, the folder store's head watch, the agent lock
// and the status file. (The agent itself, as real processes:
// watch_process_test.cc.)
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "agent/agent_status.h"
#include "base/temp_dir_test_util.h"
#include "agent/remote_notifier.h"
#include "store/memory_store.h"
#include "store/store_wrappers.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

using hx::testing::TempDir;

TEST(RemoteNotifierTest, AnUnchangedHeadCostsOneConditionalReadAndTheIntervalBacksOffToIdle) {
  auto counting = std::make_unique<CountingStore>(std::make_unique<MemoryStore>());
  CountingStore& store = *counting;
  ASSERT_TRUE(store.Put("head.json", ToBytes("head 1")).ok());
  auto notifier = MakePollingRemoteNotifier(store, {.active_interval_ms = 1000,
                                                    .idle_interval_ms = 8000,
                                                    .watch_folder = false});
  EXPECT_EQ(notifier->mode(), "conditional_get");
  // The first look records the version: not a change (the agent pulls at
  // start anyway).
  ASSERT_TRUE(notifier->Check(0).ok());
  EXPECT_EQ(store.Counts()[StoreOp::kGetIfNoneMatch], 1u);
  // Nothing is due before the interval: no request.
  EXPECT_FALSE(*notifier->Check(500));
  EXPECT_EQ(store.Counts()[StoreOp::kGetIfNoneMatch], 1u);
  // Idle: 2 s, 4 s, 8 s, then 8 s (the idle interval) between looks, each
  // one conditional read and nothing else.
  std::int64_t now = 0;
  for (const std::int64_t expected : {2000, 4000, 8000, 8000}) {
    EXPECT_EQ(notifier->NextCheckInMs(now), expected);
    now += expected;
    EXPECT_FALSE(*notifier->Check(now));
  }
  EXPECT_EQ(store.Counts().total_calls(), 1u + 4u + 1u);  // + the Put
  EXPECT_EQ(store.Counts()[StoreOp::kGetVersioned], 0u);
  // A change: seen at the next look, and the interval is the active one.
  ASSERT_TRUE(store.Put("head.json", ToBytes("head 2")).ok());
  now += 8000;
  EXPECT_TRUE(*notifier->Check(now));
  EXPECT_EQ(notifier->NextCheckInMs(now), 1000);
  EXPECT_FALSE(*notifier->Check(now + 1000));  // seen once only
  // This device pushed: look again soon.
  notifier->NoteActivity(now + 1500);
  EXPECT_EQ(notifier->interval_ms(), 1000);
  EXPECT_EQ(notifier->RequestsLastHour(now + 1500), 7u);
  EXPECT_EQ(notifier->RequestsLastHour(now + 3'600'000 + 2000), 0u);
}

TEST(RemoteNotifierTest, AStoreErrorIsReturnedAndTheNextLookWaitsItsTurn) {
  auto faulty = std::make_unique<FaultInjectingStore>(std::make_unique<MemoryStore>());
  FaultInjectingStore& store = *faulty;
  ASSERT_TRUE(store.Put("head.json", ToBytes("head 1")).ok());
  store.AddRule(FaultRule::FailNth(StoreOp::kGetIfNoneMatch, 2));
  auto notifier = MakePollingRemoteNotifier(store, {.active_interval_ms = 1000,
                                                    .idle_interval_ms = 30000,
                                                    .watch_folder = false});
  ASSERT_TRUE(notifier->Check(0).ok());
  const Result<bool> failed = notifier->Check(2000);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().category, Category::kNetwork);
  EXPECT_GT(notifier->NextCheckInMs(2000), 0);
  ASSERT_TRUE(store.Put("head.json", ToBytes("head 2")).ok());
  EXPECT_TRUE(*notifier->Check(2000 + notifier->NextCheckInMs(2000)));
}

// The notifiers that are told of changes (inotify, the hub's feed) poll only
// as a safety net: at the idle interval throughout, which neither a change
// nor this device's activity shortens; a hint makes the next look due at once.
TEST(RemoteNotifierTest, TheSafetyNetLooksAtTheIdleIntervalAndAHintAtOnce) {
  MemoryStore store;
  ASSERT_TRUE(store.Put("head.json", ToBytes("head 1")).ok());
  PollingRemoteNotifier notifier(
      store, SafetyNet({.active_interval_ms = 1000, .idle_interval_ms = 30000}), "test");
  int wakes = 0;
  notifier.SetWakeup([&] { ++wakes; });
  EXPECT_FALSE(*notifier.Check(0));
  EXPECT_EQ(notifier.NextCheckInMs(0), 30000);
  notifier.NoteActivity(10);
  EXPECT_EQ(notifier.NextCheckInMs(10), 29990);
  ASSERT_TRUE(store.Put("head.json", ToBytes("head 2")).ok());
  notifier.Hint();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(notifier.NextCheckInMs(20), 0);
  EXPECT_TRUE(*notifier.Check(20));
  EXPECT_EQ(notifier.interval_ms(), 30000);
  EXPECT_EQ(notifier.NextCheckInMs(20), 30000);
}

TEST(RemoteNotifierTest, AFolderStoreHeadReplacedWakesTheAgentAtOnce) {
  TempDir dir;
  Result<Target> target = ParseTargetUri(dir.path().string(), {}, "/");
  ASSERT_TRUE(target.ok());
  Result<std::unique_ptr<Store>> store = OpenStore(*target);
  ASSERT_TRUE(store.ok()) << store.error().ToShortString();
  ASSERT_TRUE((*store)->Put("head.json", ToBytes("head 1")).ok());
  auto notifier = MakeRemoteNotifier(*target, **store, {});
  ASSERT_EQ(notifier->mode(), "inotify");
  std::atomic<int> wakes{0};
  notifier->SetWakeup([&] { wakes.fetch_add(1); });
  ASSERT_TRUE(notifier->Check(0).ok());
  EXPECT_GT(notifier->NextCheckInMs(1), 1000);  // the safety net only
  ASSERT_TRUE((*store)->Put("head.json", ToBytes("head 2")).ok());
  for (int i = 0; i < 2000 && wakes.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(wakes.load(), 0);
  EXPECT_EQ(notifier->NextCheckInMs(1), 0);
  EXPECT_TRUE(*notifier->Check(1));
}

TEST(AgentLockTest, ASecondAgentIsRefusedWithKcSyncLockedAndTheLockDiesWithItsHolder) {
  TempDir dir;
  fs::create_directories(dir.path() / ".hx");
  std::ofstream(dir.path() / ".hx" / "config.json") << "{}";
  AgentStatus status;
  status.pid = ::getpid();
  ASSERT_TRUE(WriteAgentStatus(dir.path(), status).ok());
  {
    Result<AgentLock> first = AgentLock::Acquire(dir.path());
    ASSERT_TRUE(first.ok()) << first.error().ToShortString();
    Result<AgentLock> second = AgentLock::Acquire(dir.path());
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, SyncCode::kLocked);
    EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())),
              std::string::npos)
        << second.error().message;
    EXPECT_TRUE(AgentRunning(dir.path(), ::getpid()));
    EXPECT_EQ(AgentStatusJson(dir.path())["running"], true);
  }
  EXPECT_FALSE(AgentRunning(dir.path(), ::getpid()));
  EXPECT_EQ(AgentStatusJson(dir.path())["running"], false);
  EXPECT_TRUE(AgentLock::Acquire(dir.path()).ok());
}

TEST(AgentLockTest, NotAVaultIsRefusedWithTheHintToInit) {
  TempDir dir;
  Result<AgentLock> lock = AgentLock::Acquire(dir.path());
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().category, Category::kNotFound);
  EXPECT_NE(lock.error().message.find("hx sync init"), std::string::npos);
}

TEST(AgentStatusTest, TheStatusFileRoundTrips) {
  TempDir dir;
  fs::create_directories(dir.path() / ".hx");
  AgentStatus status;
  status.pid = 42;
  status.since_ms = 1000;
  status.state = "paused";
  status.last_cycle_ms = 2000;
  status.queue_depth = 3;
  status.paused = {{"notes/a.txt", "conflict", "resolve it"}, {"", "mass_delete", "confirm"}};
  status.watcher_mode = "overflowed";
  status.remote_mode = "conditional_get";
  status.remote_requests_last_hour = 120;
  status.retry_at_ms = 5000;
  status.counters = {{"cycles", 7}, {"pushes_published", 2}};
  ASSERT_TRUE(WriteAgentStatus(dir.path(), status).ok());
  Result<std::optional<AgentStatus>> read = ReadAgentStatus(dir.path());
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->ToJson(), status.ToJson());
  const std::string human = AgentStatusHuman(AgentStatusJson(dir.path()), 10'000);
  EXPECT_NE(human.find("not running"), std::string::npos) << human;  // pid 42 holds no lock
}

}  // namespace
}  // namespace hx
