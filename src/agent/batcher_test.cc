// The batcher on a fake now_ms and real files whose mtimes the tests set, so
// every window, hold and release happens at an exact, chosen time.
#include "agent/batcher.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "agent/inotify_watcher.h"
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

// What lstat says of a vault path now, as an own-write record.
OwnWrite Installed(const fs::path& path) {
  struct stat st;
  return OwnWrite::Of(::lstat(path.c_str(), &st) == 0 ? &st : nullptr);
}

TEST_F(BatcherTest, TheAgentsOwnWritesAreDroppedWhileTheyAreAsThePullLeftThem) {
  File("pulled");
  File("edited");
  fs::create_directories(dir_.path() / "pulled-dir");
  batcher_.RecordOwnWrite("pulled", Installed(dir_.path() / "pulled"), kT0);
  batcher_.RecordOwnWrite("pulled-dir", Installed(dir_.path() / "pulled-dir"), kT0);
  batcher_.RecordOwnWrite("deleted", Installed(dir_.path() / "deleted"), kT0);  // absent
  batcher_.Add(Event(WatchEventKind::kMovedTo, "pulled", WriteHint::kUnknown), kT0 + 10);
  batcher_.Add(Event(WatchEventKind::kCreated, "pulled-dir", WriteHint::kUnknown), kT0 + 10);
  batcher_.Add(Event(WatchEventKind::kDeleted, "deleted"), kT0 + 10);
  batcher_.Add(Modified("edited"), kT0 + 20);
  std::optional<Batch> batch = Take(kT0 + 220);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"edited"}));
  EXPECT_EQ(batcher_.own_writes_ignored(), 3u);
  EXPECT_EQ(batcher_.own_writes_changed(), 0u);
  EXPECT_EQ(batcher_.depth(), 0u);
  // A late event of the pull (the watcher's listing of a new directory,
  // say): no window to miss, the file is still as installed.
  batcher_.Add(Event(WatchEventKind::kCreated, "pulled", WriteHint::kUnknown), kT0 + 5'000);
  EXPECT_FALSE(Take(kT0 + 5'200).has_value());
  EXPECT_EQ(batcher_.own_writes_ignored(), 4u);
  EXPECT_EQ(batcher_.depth(), 0u);
}

// The defect: events of a pulled path were dropped for ~1 s after the pull,
// so a user edit inside that window went out ~1 s late (or only with a
// follow-up push). Now the edit is in the very next batch.
TEST_F(BatcherTest, APulledFileEditedImmediatelyAfterThePullIsInTheNextBatch) {
  File("grown");
  File("replaced", "same size");
  File("recreated");
  batcher_.RecordOwnWrite("grown", Installed(dir_.path() / "grown"), kT0);
  batcher_.RecordOwnWrite("replaced", Installed(dir_.path() / "replaced"), kT0);
  batcher_.RecordOwnWrite("recreated", OwnWrite{}, kT0);  // the pull deleted it
  const OwnWrite replaced_before = Installed(dir_.path() / "replaced");
  // 1 ms after the pull, before any time window would have passed:
  //   appended to in place (size moves);
  WriteFile(dir_.path() / "grown", "x and more");
  //   saved by an editor (a new file renamed over it: a new inode) with the
  //   same size and the same mtime;
  WriteFile(dir_.path() / "replaced.tmp", "same SIZE");
  const struct timespec t = {static_cast<time_t>((kT0 - 60'000) / 1000), 0};
  const struct timespec times[2] = {t, t};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() / "replaced.tmp").c_str(), times, 0), 0);
  fs::rename(dir_.path() / "replaced.tmp", dir_.path() / "replaced");
  ASSERT_EQ(Installed(dir_.path() / "replaced").size, replaced_before.size);
  ASSERT_EQ(Installed(dir_.path() / "replaced").mtime_ns, replaced_before.mtime_ns);
  //   created again where the pull had deleted it.
  File("recreated");
  // The events: the pull's own (kT0 + 1) and the user's (kT0 + 2), coalesced.
  for (const std::string path : {"grown", "replaced", "recreated"}) {
    batcher_.Add(Event(WatchEventKind::kMovedTo, path, WriteHint::kUnknown), kT0 + 1);
    batcher_.Add(Modified(path), kT0 + 2);
  }
  const std::optional<Batch> batch = Take(kT0 + 202);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"grown", "recreated", "replaced"}));
  EXPECT_EQ(batcher_.own_writes_ignored(), 0u);
  EXPECT_EQ(batcher_.own_writes_changed(), 3u);
  // The records are gone: later events of these paths are the user's too.
  EXPECT_EQ(batcher_.own_writes(), 0u);
  batcher_.Add(Modified("grown"), kT0 + 300);
  ASSERT_TRUE(Take(kT0 + 500).has_value());
}

TEST_F(BatcherTest, OwnWriteRecordsAreBoundedAndExpireWithoutDroppingAUserChange) {
  Batcher batcher({.own_write_ttl_ms = 10'000, .max_own_writes = 2});
  File("a");
  File("b");
  File("c");
  for (const std::string path : {"a", "b", "c"}) {
    batcher.RecordOwnWrite(path, Installed(dir_.path() / path), kT0);
  }
  EXPECT_EQ(batcher.own_writes(), 2u);  // "c" was not recorded: its event is batched
  for (const std::string path : {"a", "b", "c"}) batcher.Add(Modified(path), kT0 + 10);
  std::optional<Batch> batch = batcher.TakeDue(dir_.path(), Env::Default(), kT0 + 210);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"c"}));
  // After the TTL the records are forgotten: an event is batched (its push
  // finds nothing to publish, the index holds what was pulled).
  batcher.Add(Modified("a"), kT0 + 10'300);
  batch = batcher.TakeDue(dir_.path(), Env::Default(), kT0 + 10'500);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->paths, (std::vector<std::string>{"a"}));
  EXPECT_EQ(batcher.own_writes(), 0u);
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


// The watcher and the batcher together, on the real kernel: the write hints
// inotify gives are what keeps a slow writer's file out of every batch until
// it is complete. Time is fake (each step "takes" 300 ms, longer than the
// quiet period, so a batch is due at every step), the events are real.
TEST(WatcherAndBatcherTest, AFileWrittenSlowlyIsInOneBatchOnlyAndComplete) {
  testing::TempDir dir;
  std::unique_ptr<Watcher> watcher = MakeInotifyWatcher();
  ASSERT_TRUE(watcher->Start(dir.path(), IgnoreRules()).ok());
  Batcher batcher;
  std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  int batches_with_it = 0;
  auto step = [&](const std::function<bool(const testing::EventList&)>& until) {
    for (const WatchEvent& e : testing::PollUntil(*watcher, until)) batcher.Add(e, now);
    now += 300;
    const std::optional<Batch> batch = batcher.TakeDue(dir.path(), Env::Default(), now);
    if (batch && std::count(batch->paths.begin(), batch->paths.end(), "slow.bin") > 0) {
      ++batches_with_it;
      EXPECT_EQ(fs::file_size(dir.path() / "slow.bin"), 10u * 4096) << "pushed in pieces";
    }
  };
  const int fd = ::open((dir.path() / "slow.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  const std::string chunk(4096, 'x');
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), 4096);
    step([](const testing::EventList& e) { return testing::HasPath(e, "slow.bin"); });
    if (i == 4) {
      // The writer pauses with the file open: size and mtime stop moving, so
      // only the open-for-writing hint keeps the half file back.
      for (int pause = 0; pause < 3; ++pause) step([](const testing::EventList&) { return true; });
    }
  }
  EXPECT_EQ(batches_with_it, 0);
  EXPECT_EQ(batcher.depth(), 1u);
  ::close(fd);
  step([](const testing::EventList& e) {
    return std::any_of(e.begin(), e.end(), [](const WatchEvent& x) {
      return x.path == "slow.bin" && x.write == WriteHint::kClosed;
    });
  });
  step([](const testing::EventList&) { return true; });
  EXPECT_EQ(batches_with_it, 1);
  EXPECT_EQ(batcher.depth(), 0u);
}

}  // namespace
}  // namespace hx
