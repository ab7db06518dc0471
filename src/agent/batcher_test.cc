// The batcher on a fake now_ms and real files whose mtimes the tests set, so
// every window, hold and release happens at an exact, chosen time.
#include "agent/batcher.h"

#include <string>

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "agent/watcher_test_util.h"
#include "os/env.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::WriteFile;

constexpr std::int64_t kT0 = 1'700'000'000'000;  // "now" at the start of each test, in ms

WatchEvent Event(WatchEventKind kind, std::string path, WriteHint hint = WriteHint::kClosed) {
  WatchEvent event;
  event.kind = kind;
  event.path = std::move(path);
  event.write = hint;
  return event;
}

WatchEvent Modified(std::string path, WriteHint hint = WriteHint::kClosed) {
  return Event(WatchEventKind::kModified, std::move(path), hint);
}

class BatcherTest : public ::testing::Test {
 protected:
  // A file in the vault whose mtime is `mtime_ms` (default: long settled).
  void File(const std::string& name, std::string_view bytes = "x",
            std::int64_t mtime_ms = kT0 - 60'000) {
    WriteFile(dir_.path() / name, bytes);
    SetMtime(name, mtime_ms);
  }
  void SetMtime(const std::string& name, std::int64_t mtime_ms) {
    const struct timespec t = {static_cast<time_t>(mtime_ms / 1000),
                               static_cast<long>(mtime_ms % 1000) * 1'000'000};
    const struct timespec times[2] = {t, t};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() / name).c_str(), times, 0), 0);
  }
  std::optional<Batch> Take(std::int64_t now_ms) {
    return batcher_.TakeDue(dir_.path(), Env::Default(), now_ms);
  }

  testing::TempDir dir_;
  Batcher batcher_;
};

TEST_F(BatcherTest, ABatchWaitsForTheQuietPeriodAndHasEachPathOnce) {
  File("a");
  File("b");
  EXPECT_FALSE(batcher_.NextDueInMs(kT0).has_value());
  batcher_.Add(Modified("a"), kT0);
  batcher_.Add(Modified("a"), kT0 + 50);
  batcher_.Add(Modified("b"), kT0 + 100);
  EXPECT_EQ(batcher_.depth(), 2u);
  EXPECT_EQ(batcher_.NextDueInMs(kT0 + 100), 200);
  EXPECT_FALSE(Take(kT0 + 299).has_value());
  EXPECT_EQ(batcher_.NextDueInMs(kT0 + 299), 1);
  const std::optional<Batch> batch = Take(kT0 + 300);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(batch->full_rescan);
  EXPECT_EQ(batch->deferred, 0u);
  EXPECT_EQ(batcher_.depth(), 0u);
  EXPECT_FALSE(Take(kT0 + 10'000).has_value());
}

TEST_F(BatcherTest, AContinuousStreamIsCutAtTheMaxDelay) {
  // A new path every 100 ms: the quiet period never comes.
  std::int64_t now = kT0;
  std::optional<Batch> batch;
  int added = 0;
  for (; now <= kT0 + 5'000 && !batch; now += 100) {
    const std::string name = "f" + std::to_string(added++);
    File(name);
    batcher_.Add(Modified(name), now);
    batch = Take(now);
    if (!batch) {
      EXPECT_LT(now, kT0 + 1'000);
    }
  }
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(now - 100, kT0 + 1'000);  // cut exactly max_delay after the first event
  EXPECT_EQ(batch->paths.size(), 11u);
}

TEST_F(BatcherTest, AMoveContributesBothNamesAndAFileMovedIntoPlaceIsNotHeld) {
  File("z-new");
  WatchEvent from = Event(WatchEventKind::kMovedFrom, "z-old", WriteHint::kUnknown);
  WatchEvent to = Event(WatchEventKind::kMovedTo, "z-new", WriteHint::kUnknown);
  from.cookie = to.cookie = 7;
  batcher_.Add(from, kT0);
  batcher_.Add(to, kT0);
  batcher_.Add(Event(WatchEventKind::kDeleted, "a-gone", WriteHint::kUnknown), kT0);
  // An editor's atomic save: the renamed file is complete, no second look.
  const std::optional<Batch> batch = Take(kT0 + 200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"a-gone", "z-new", "z-old"}));
  EXPECT_EQ(batch->deferred, 0u);
}

TEST_F(BatcherTest, AFileRenamedWhileStillOpenForWritingIsHeld) {
  File("moved");
  batcher_.Add(Modified("part", WriteHint::kWriting), kT0);
  WatchEvent from = Event(WatchEventKind::kMovedFrom, "part", WriteHint::kUnknown);
  WatchEvent to = Event(WatchEventKind::kMovedTo, "moved", WriteHint::kUnknown);
  from.cookie = to.cookie = 9;
  batcher_.Add(from, kT0 + 10);
  batcher_.Add(to, kT0 + 10);
  std::optional<Batch> batch = Take(kT0 + 210);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"part"}));
  EXPECT_EQ(batch->deferred, 1u);
  batcher_.Add(Modified("moved", WriteHint::kClosed), kT0 + 500);
  batch = Take(kT0 + 700);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"moved"}));
}

TEST_F(BatcherTest, AFileOpenForWritingIsHeldWhileTheRestOfTheBatchGoes) {
  File("slow");
  File("done");
  batcher_.Add(Modified("slow", WriteHint::kWriting), kT0);
  batcher_.Add(Modified("done", WriteHint::kClosed), kT0);
  std::optional<Batch> batch = Take(kT0 + 200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"done"}));
  EXPECT_EQ(batch->deferred, 1u);
  EXPECT_EQ(batcher_.depth(), 1u);

  // More writes, still open: held every time, never a batch of pieces.
  for (std::int64_t t = kT0 + 500; t < kT0 + 5'000; t += 500) {
    File("slow", std::string(static_cast<std::size_t>(t - kT0) / 100, 'x'), t);
    batcher_.Add(Modified("slow", WriteHint::kWriting), t);
    EXPECT_FALSE(Take(t + 200).has_value()) << t - kT0;
    EXPECT_EQ(batcher_.depth(), 1u);
  }
  // Closed: pushed once, complete (its mtime is settled by the quiet period).
  File("slow", "complete", kT0 + 5'000);
  batcher_.Add(Modified("slow", WriteHint::kClosed), kT0 + 5'000);
  batch = Take(kT0 + 5'200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"slow"}));
  EXPECT_EQ(batcher_.depth(), 0u);
}

TEST_F(BatcherTest, WithoutAWriteHintTwoEqualLooksAreNeeded) {
  File("polled", "a");
  batcher_.Add(Modified("polled", WriteHint::kUnknown), kT0);
  EXPECT_FALSE(Take(kT0 + 200).has_value());  // first look: recorded, held
  EXPECT_EQ(batcher_.NextDueInMs(kT0 + 200), 100);
  File("polled", "ab");  // it grew meanwhile (same old mtime: the size decides)
  EXPECT_FALSE(Take(kT0 + 300).has_value());  // changed since the last look: held again
  const std::optional<Batch> batch = Take(kT0 + 400);  // unchanged: released
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"polled"}));
}

TEST_F(BatcherTest, AFileWithAnMtimeYoungerThanTheSettleTimeIsHeld) {
  File("fresh", "x", kT0 + 150);
  batcher_.Add(Modified("fresh"), kT0);
  EXPECT_FALSE(Take(kT0 + 200).has_value());  // mtime 50 ms old
  const std::optional<Batch> batch = Take(kT0 + 300);  // 150 ms old, unchanged
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"fresh"}));
}

TEST_F(BatcherTest, AFutureMtimeDoesNotHoldAFileForEver) {
  File("skewed", "x", kT0 + 3'600'000);  // copied with `cp -p` from a clock an hour ahead
  batcher_.Add(Modified("skewed"), kT0);
  const std::optional<Batch> batch = Take(kT0 + 200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"skewed"}));
}

TEST_F(BatcherTest, AFileThatNeverSettlesIsReleasedAfterTheMaxHold) {
  File("log");
  batcher_.Add(Modified("log", WriteHint::kWriting), kT0);
  EXPECT_FALSE(Take(kT0 + 200).has_value());
  EXPECT_EQ(batcher_.NextDueInMs(kT0 + 200), 30'000);
  EXPECT_FALSE(Take(kT0 + 30'199).has_value());
  const std::optional<Batch> batch = Take(kT0 + 30'200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"log"}));
}

TEST_F(BatcherTest, TheAgentsOwnWritesNeverBecomeABatch) {
  File("pulled");
  File("edited");
  batcher_.IgnoreOwnWrite("pulled", kT0 + 1'000);
  batcher_.Add(Event(WatchEventKind::kCreated, "pulled", WriteHint::kWriting), kT0 + 10);
  batcher_.Add(Modified("pulled"), kT0 + 20);
  batcher_.Add(Modified("edited"), kT0 + 20);
  EXPECT_EQ(batcher_.depth(), 1u);
  std::optional<Batch> batch = Take(kT0 + 220);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"edited"}));
  // After the window, a change of the same path is the user's.
  batcher_.Add(Modified("pulled"), kT0 + 1'500);
  batch = Take(kT0 + 1'700);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"pulled"}));
}

TEST_F(BatcherTest, AnOverflowIsAFullRescanBatchThatReplacesTheQueue) {
  File("a");
  batcher_.Add(Modified("a"), kT0);
  WatchEvent overflow;
  overflow.kind = WatchEventKind::kOverflow;
  overflow.detail = "the kernel's inotify event queue overflowed";
  batcher_.Add(overflow, kT0 + 10);
  batcher_.Add(overflow, kT0 + 20);  // the same reason is named once
  EXPECT_FALSE(Take(kT0 + 219).has_value());
  const std::optional<Batch> batch = Take(kT0 + 220);
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE(batch->full_rescan);
  EXPECT_TRUE(batch->paths.empty());
  EXPECT_EQ(batch->rescan_reason, "the kernel's inotify event queue overflowed");
  EXPECT_EQ(batcher_.depth(), 0u);
  EXPECT_FALSE(batcher_.NextDueInMs(kT0 + 220).has_value());
}

TEST_F(BatcherTest, AWallClockSteppedBackDoesNotStallTheBatch) {
  File("a");
  batcher_.Add(Modified("a"), kT0);
  const std::int64_t back = kT0 - 3'600'000;  // an hour back
  EXPECT_FALSE(Take(back).has_value());
  EXPECT_EQ(batcher_.NextDueInMs(back), 200);
  const std::optional<Batch> batch = Take(back + 200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"a"}));
}

TEST_F(BatcherTest, DirectoriesSymlinksAndVanishedPathsAreNotHeld) {
  fs::create_directories(dir_.path() / "dir");
  fs::create_symlink("target", dir_.path() / "link");
  batcher_.Add(Event(WatchEventKind::kCreated, "dir", WriteHint::kUnknown), kT0);
  batcher_.Add(Event(WatchEventKind::kCreated, "link", WriteHint::kWriting), kT0);
  batcher_.Add(Event(WatchEventKind::kCreated, "vanished", WriteHint::kWriting), kT0);
  const std::optional<Batch> batch = Take(kT0 + 200);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"dir", "link", "vanished"}));
  EXPECT_EQ(batch->deferred, 0u);
}

}  // namespace
}  // namespace hx
