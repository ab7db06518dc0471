// The polling adapter on real files, timed by a FakeClock: a walk happens
// when the test advances the clock past the interval and Polls, so each test
// decides exactly which changes one walk sees.
#include "agent/polling_watcher.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "agent/watcher_test_util.h"
#include "base/clock.h"
#include "os/env.h"
#include "scan/ignore.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Describe;
using testing::EventList;
using testing::Has;
using testing::HasPath;
using testing::WriteFile;

// The real file system with a fake clock; a directory can be made
// unlistable (EACCES), which root could not otherwise test.
class TestEnv final : public EnvWrapper {
 public:
  TestEnv() : EnvWrapper(Env::Default()) {}
  Clock& clock() override { return clock_; }
  int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    if (!denied_.empty() && denied_ == path) return EACCES;
    return EnvWrapper::OpenBeneath(dirfd, path, flags, mode, fd);
  }
  // Listing a directory takes this long on the fake clock.
  int ReadDir(int dirfd, std::vector<DirEntry>* entries) override {
    clock_.Advance(std::chrono::milliseconds(readdir_cost_ms_));
    return EnvWrapper::ReadDir(dirfd, entries);
  }
  FakeClock clock_;
  std::string denied_;
  std::int64_t readdir_cost_ms_ = 0;
};

class PollingWatcherTest : public ::testing::Test {
 protected:
  std::unique_ptr<Watcher> Start(IgnoreRules rules = {}) {
    PollingOptions options;
    options.interval_ms = 1000;
    options.min_idle_factor = 20;
    options.env = &env_;
    std::unique_ptr<Watcher> watcher = MakePollingWatcher(options);
    const Status started = watcher->Start(dir_.path(), rules);
    EXPECT_TRUE(started.ok()) << started.error().ToShortString();
    return watcher;
  }
  // One walk: the clock moves past the interval, then one Poll.
  EventList Walk(Watcher& watcher) {
    env_.clock_.Advance(std::chrono::milliseconds(1000));
    Result<EventList> got = watcher.Poll(0);
    EXPECT_TRUE(got.ok());
    return got.ok() ? *got : EventList{};
  }
  // Gives `path` an mtime `seconds` after a fixed instant, so that a change
  // of the same size within one second is still a different mtime.
  void SetMtime(const fs::path& path, int seconds) {
    struct timespec times[2] = {{1'700'000'000 + seconds, 0}, {1'700'000'000 + seconds, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }

  testing::TempDir dir_;
  TestEnv env_;
};

TEST_F(PollingWatcherTest, TheFirstWalkIsTheBaselineAndReportsNothing) {
  WriteFile(dir_.path() / "a.txt", "x");
  fs::create_directories(dir_.path() / "d");
  auto watcher = Start();
  EXPECT_EQ(watcher->mode(), WatcherMode::kPolling);
  EXPECT_TRUE(Walk(*watcher).empty());
}

TEST_F(PollingWatcherTest, NoWalkHappensBeforeTheIntervalHasPassed) {
  auto watcher = Start();
  WriteFile(dir_.path() / "early.txt", "x");
  Result<EventList> got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty()) << Describe(*got);
  const EventList events = Walk(*watcher);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "early.txt")) << Describe(events);
}

TEST_F(PollingWatcherTest, SlowWalksSpaceThemselvesOutInsteadOfTakingTheWholeCore) {
  fs::create_directories(dir_.path() / "a");
  env_.readdir_cost_ms_ = 50;  // two directories: a walk takes 100 ms
  auto watcher = Start();
  WriteFile(dir_.path() / "a" / "new.txt", "x");
  // The interval (1 s) has passed, but 20 x 100 ms have not.
  env_.clock_.Advance(std::chrono::milliseconds(1000));
  Result<EventList> got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty()) << Describe(*got);
  env_.clock_.Advance(std::chrono::milliseconds(1000));
  got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(Has(*got, WatchEventKind::kCreated, "a/new.txt")) << Describe(*got);
}

TEST_F(PollingWatcherTest, CreatedModifiedAndDeletedAreFoundByComparingWalks) {
  WriteFile(dir_.path() / "same-size.txt", "aaaa");
  SetMtime(dir_.path() / "same-size.txt", 0);
  WriteFile(dir_.path() / "grows.txt", "a");
  WriteFile(dir_.path() / "goes.txt", "a");
  WriteFile(dir_.path() / "mode.txt", "a");
  WriteFile(dir_.path() / "untouched.txt", "a");
  auto watcher = Start();

  WriteFile(dir_.path() / "same-size.txt", "bbbb");
  SetMtime(dir_.path() / "same-size.txt", 1);
  WriteFile(dir_.path() / "grows.txt", "ab");
  fs::remove(dir_.path() / "goes.txt");
  ::chmod((dir_.path() / "mode.txt").c_str(), 0700);
  fs::create_directories(dir_.path() / "new" / "deeper");
  WriteFile(dir_.path() / "new" / "deeper" / "f.txt", "x");
  const EventList events = Walk(*watcher);

  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "same-size.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "grows.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "mode.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kDeleted, "goes.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "new")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "new/deeper")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "new/deeper/f.txt")) << Describe(events);
  EXPECT_FALSE(HasPath(events, "untouched.txt")) << Describe(events);
  // The root directory's own mtime moved; directories are not "modified"
  // for that (their entries are reported).
  EXPECT_EQ(events.size(), 7u) << Describe(events);
  for (const WatchEvent& e : events) EXPECT_EQ(e.write, WriteHint::kUnknown);

  EXPECT_TRUE(Walk(*watcher).empty());  // nothing changed since
}

TEST_F(PollingWatcherTest, AMoveIsPairedByInode) {
  WriteFile(dir_.path() / "old.txt", "content");
  fs::create_directories(dir_.path() / "dir" / "inner");
  auto watcher = Start();
  fs::rename(dir_.path() / "old.txt", dir_.path() / "new.txt");
  fs::rename(dir_.path() / "dir", dir_.path() / "moved");
  const EventList events = Walk(*watcher);

  auto cookie_of = [&](WatchEventKind kind, const std::string& path) -> std::uint32_t {
    for (const WatchEvent& e : events) {
      if (e.kind == kind && e.path == path) return e.cookie;
    }
    return 0;
  };
  const std::uint32_t file_cookie = cookie_of(WatchEventKind::kMovedFrom, "old.txt");
  EXPECT_NE(file_cookie, 0u) << Describe(events);
  EXPECT_EQ(cookie_of(WatchEventKind::kMovedTo, "new.txt"), file_cookie) << Describe(events);
  const std::uint32_t dir_cookie = cookie_of(WatchEventKind::kMovedFrom, "dir");
  EXPECT_NE(dir_cookie, 0u) << Describe(events);
  EXPECT_NE(dir_cookie, file_cookie);
  EXPECT_EQ(cookie_of(WatchEventKind::kMovedTo, "moved"), dir_cookie) << Describe(events);
  EXPECT_NE(cookie_of(WatchEventKind::kMovedTo, "moved/inner"), 0u) << Describe(events);
  EXPECT_FALSE(Has(events, WatchEventKind::kDeleted, "old.txt")) << Describe(events);
  EXPECT_FALSE(Has(events, WatchEventKind::kCreated, "new.txt")) << Describe(events);
}

TEST_F(PollingWatcherTest, ASameInodeWithAnotherMtimeIsNotPairedAsAMove) {
  // A file deleted and a new one that got its inode number back (ext4 reuses
  // them at once) must not pair: rename keeps the mtime, a new file does
  // not. Inode reuse cannot be forced, so the same inode is given a new
  // mtime between two walks, which is what the pairing has to look at.
  WriteFile(dir_.path() / "gone.txt", "abc");
  SetMtime(dir_.path() / "gone.txt", 0);
  auto watcher = Start();
  fs::rename(dir_.path() / "gone.txt", dir_.path() / "born.txt");
  SetMtime(dir_.path() / "born.txt", 5);
  const EventList events = Walk(*watcher);
  EXPECT_TRUE(Has(events, WatchEventKind::kDeleted, "gone.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "born.txt")) << Describe(events);
}

TEST_F(PollingWatcherTest, AFileReplacedByADirectoryIsADeletionAndACreation) {
  WriteFile(dir_.path() / "x", "file");
  auto watcher = Start();
  fs::remove(dir_.path() / "x");
  fs::create_directories(dir_.path() / "x");
  const EventList events = Walk(*watcher);
  EXPECT_TRUE(Has(events, WatchEventKind::kDeleted, "x")) << Describe(events);
  ASSERT_TRUE(Has(events, WatchEventKind::kCreated, "x")) << Describe(events);
}

TEST_F(PollingWatcherTest, IgnoredPathsAndTheStateFolderAreNeverReported) {
  fs::create_directories(dir_.path() / ".hx");
  fs::create_directories(dir_.path() / "build");
  auto watcher = Start(IgnoreRules::Parse("build/\n*.tmp\n"));
  WriteFile(dir_.path() / ".hx" / "index.db", "x");
  WriteFile(dir_.path() / "build" / "out.o", "x");
  WriteFile(dir_.path() / "scratch.tmp", "x");
  WriteFile(dir_.path() / "keep.txt", "x");
  const EventList events = Walk(*watcher);
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_EQ(events[0].path, "keep.txt");

  // The rules change: what they now ignore is not reported deleted, what
  // they no longer ignore shows up.
  watcher->SetRules(IgnoreRules::Parse("keep.txt\n"));
  const EventList after = Walk(*watcher);
  EXPECT_TRUE(Has(after, WatchEventKind::kCreated, "build/out.o")) << Describe(after);
  EXPECT_TRUE(Has(after, WatchEventKind::kCreated, "scratch.tmp")) << Describe(after);
  EXPECT_FALSE(HasPath(after, "keep.txt")) << Describe(after);
  EXPECT_FALSE(HasPath(after, ".hx/index.db")) << Describe(after);
}

TEST_F(PollingWatcherTest, AnUnlistableDirectoryKeepsItsEntriesInsteadOfReportingThemDeleted) {
  fs::create_directories(dir_.path() / "locked");
  WriteFile(dir_.path() / "locked" / "a.txt", "x");
  auto watcher = Start();
  env_.denied_ = "locked";
  EventList events = Walk(*watcher);
  EXPECT_TRUE(events.empty()) << Describe(events);
  env_.denied_.clear();
  WriteFile(dir_.path() / "locked" / "b.txt", "x");
  events = Walk(*watcher);
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "locked/b.txt")) << Describe(events);
}

TEST_F(PollingWatcherTest, AnInjectedOverflowIsReportedAndTakesANewBaseline) {
  auto watcher = Start();
  WriteFile(dir_.path() / "covered-by-rescan.txt", "x");
  watcher->InjectOverflow("injected");
  Result<EventList> got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].kind, WatchEventKind::kOverflow);
  EXPECT_EQ((*got)[0].detail, "injected");
  EXPECT_EQ(watcher->mode(), WatcherMode::kOverflowed);
  EXPECT_TRUE(Walk(*watcher).empty());
  EXPECT_EQ(watcher->mode(), WatcherMode::kPolling);
}

TEST_F(PollingWatcherTest, WakeEndsTheWaitForTheNextWalk) {
  auto watcher = Start();
  watcher->Wake();
  // The clock is fake and never reaches the next walk: without the wake
  // this Poll would wait its whole (ten-minute) timeout.
  Result<EventList> got = watcher->Poll(600'000);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST_F(PollingWatcherTest, StartFailsClearlyWhenTheVaultIsMissing) {
  PollingOptions options;
  options.env = &env_;
  auto watcher = MakePollingWatcher(options);
  const Status started = watcher->Start(dir_.path() / "missing", IgnoreRules());
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, SyncCode::kStateFailed);
}

}  // namespace
}  // namespace hx
