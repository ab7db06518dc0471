// The inotify adapter against the real kernel, on real files in a temporary
// folder. No timing is asserted: each test waits (a bounded number of Polls)
// for the events it expects; "nothing else was reported" is checked after a
// sentinel file written last has been reported (inotify delivers one
// instance's events in order).
#include "agent/inotify_watcher.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "agent/watcher_test_util.h"
#include "scan/ignore.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Describe;
using testing::EventList;
using testing::Has;
using testing::HasPath;
using testing::PollUntil;
using testing::WriteFile;

class InotifyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = dir_.path() / "vault";
    outside_ = dir_.path() / "outside";
    fs::create_directories(vault_);
    fs::create_directories(outside_);
  }

  std::unique_ptr<Watcher> Start(InotifyOptions options = {}, IgnoreRules rules = {}) {
    std::unique_ptr<Watcher> watcher = MakeInotifyWatcher(options);
    const Status started = watcher->Start(vault_, rules);
    EXPECT_TRUE(started.ok()) << started.error().ToShortString();
    return watcher;
  }

  // Writes `name` last and waits for it: everything before it has been
  // delivered by then.
  EventList DrainWithSentinel(Watcher& watcher, const std::string& name = "zz-sentinel") {
    WriteFile(vault_ / name, "s");
    return PollUntil(watcher, [&](const EventList& e) {
      return Has(e, WatchEventKind::kModified, name);
    });
  }

  testing::TempDir dir_;
  fs::path vault_;
  fs::path outside_;
};

TEST_F(InotifyWatcherTest, CreateModifyDeleteAreReportedWithTheirWriteHints) {
  auto watcher = Start();
  EXPECT_EQ(watcher->mode(), WatcherMode::kInotify);

  WriteFile(vault_ / "a.txt", "one");
  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "a.txt");
  });
  ASSERT_TRUE(Has(events, WatchEventKind::kCreated, "a.txt")) << Describe(events);
  const auto closed = std::find_if(events.begin(), events.end(), [](const WatchEvent& e) {
    return e.kind == WatchEventKind::kModified && e.path == "a.txt";
  });
  EXPECT_EQ(closed->write, WriteHint::kClosed) << Describe(events);

  // A writer that has not closed yet is reported as writing.
  const int fd = ::open((vault_ / "a.txt").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "two", 3), 3);
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "a.txt");
  });
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_EQ(events[0].write, WriteHint::kWriting);
  ::close(fd);
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "a.txt");
  });
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_EQ(events[0].write, WriteHint::kClosed);

  ::chmod((vault_ / "a.txt").c_str(), 0600);
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "a.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "a.txt")) << Describe(events);

  fs::remove(vault_ / "a.txt");
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kDeleted, "a.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kDeleted, "a.txt")) << Describe(events);
}

TEST_F(InotifyWatcherTest, AWriteStormIsOneModifiedEventPerPoll) {
  WriteFile(vault_ / "log", "");
  auto watcher = Start();
  {
    std::ofstream out(vault_ / "log", std::ios::binary);
    for (int i = 0; i < 1000; ++i) out << "line " << i << "\n" << std::flush;
  }
  const EventList events = DrainWithSentinel(*watcher);
  const auto count = std::count_if(events.begin(), events.end(), [](const WatchEvent& e) {
    return e.path == "log";
  });
  // At most one per Poll that saw writes (usually exactly one), never 1000.
  EXPECT_GE(count, 1);
  EXPECT_LT(count, 50) << Describe(events);
}

TEST_F(InotifyWatcherTest, AMoveWithinTheVaultIsOnePairedMoveNotADeleteAndACreate) {
  WriteFile(vault_ / "old.txt", "x");
  fs::create_directories(vault_ / "sub");
  auto watcher = Start();

  fs::rename(vault_ / "old.txt", vault_ / "sub" / "new.txt");
  const EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kMovedTo, "sub/new.txt");
  });
  ASSERT_EQ(events.size(), 2u) << Describe(events);
  EXPECT_EQ(events[0].kind, WatchEventKind::kMovedFrom);
  EXPECT_EQ(events[0].path, "old.txt");
  EXPECT_EQ(events[1].kind, WatchEventKind::kMovedTo);
  EXPECT_NE(events[0].cookie, 0u);
  EXPECT_EQ(events[0].cookie, events[1].cookie);
}

TEST_F(InotifyWatcherTest, AFileMovedOutIsDeletedAndOneMovedInIsCreated) {
  WriteFile(vault_ / "leaving.txt", "x");
  WriteFile(outside_ / "arriving.txt", "y");
  auto watcher = Start();

  fs::rename(vault_ / "leaving.txt", outside_ / "leaving.txt");
  fs::rename(outside_ / "arriving.txt", vault_ / "arriving.txt");
  const EventList events = DrainWithSentinel(*watcher);
  EXPECT_TRUE(Has(events, WatchEventKind::kDeleted, "leaving.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "arriving.txt")) << Describe(events);
  EXPECT_FALSE(Has(events, WatchEventKind::kMovedFrom, "leaving.txt")) << Describe(events);
}

TEST_F(InotifyWatcherTest, ADirectoryMovedWithinKeepsItsWatchesUnderTheNewName) {
  fs::create_directories(vault_ / "a" / "deep");
  auto watcher = Start();

  fs::rename(vault_ / "a", vault_ / "b");
  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kMovedTo, "b");
  });
  ASSERT_TRUE(Has(events, WatchEventKind::kMovedFrom, "a")) << Describe(events);
  EXPECT_TRUE(events[0].is_dir);

  WriteFile(vault_ / "b" / "deep" / "x.txt", "x");
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "b/deep/x.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "b/deep/x.txt")) << Describe(events);
  EXPECT_FALSE(HasPath(events, "a/deep/x.txt")) << Describe(events);
}

TEST_F(InotifyWatcherTest, ADirectoryMovedOutIsDeletedAndNoLongerWatched) {
  fs::create_directories(vault_ / "d" / "sub");
  auto watcher = Start();

  fs::rename(vault_ / "d", outside_ / "d");
  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kDeleted, "d");
  });
  ASSERT_TRUE(Has(events, WatchEventKind::kDeleted, "d")) << Describe(events);

  // Writes in the moved-out tree are not the vault's business.
  WriteFile(outside_ / "d" / "after.txt", "x");
  WriteFile(outside_ / "d" / "sub" / "after.txt", "x");
  events = DrainWithSentinel(*watcher);
  for (const WatchEvent& e : events) EXPECT_EQ(e.path, "zz-sentinel") << Describe(events);
}

TEST_F(InotifyWatcherTest, ADirectoryMovedInIsWatchedAndItsContentsReported) {
  fs::create_directories(outside_ / "d" / "sub");
  WriteFile(outside_ / "d" / "one.txt", "1");
  WriteFile(outside_ / "d" / "sub" / "two.txt", "2");
  auto watcher = Start();

  fs::rename(outside_ / "d", vault_ / "d");
  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kCreated, "d/sub/two.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "d")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "d/one.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "d/sub")) << Describe(events);

  WriteFile(vault_ / "d" / "sub" / "three.txt", "3");
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "d/sub/three.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "d/sub/three.txt")) << Describe(events);
}

TEST_F(InotifyWatcherTest, ADirectoryCreatedAndFilledAtOnceHasEveryFileReported) {
  auto watcher = Start();
  // mkdir then write at once, without the watcher reading in between: most
  // files exist before the new directory's watch does, so only the
  // watch-then-list step can report them.
  std::vector<std::string> expected;
  fs::create_directories(vault_ / "burst" / "nested" / "deeper");
  for (int i = 0; i < 300; ++i) {
    const std::string rel = (i % 3 == 0   ? "burst/"
                             : i % 3 == 1 ? "burst/nested/"
                                          : "burst/nested/deeper/") +
                            std::to_string(i) + ".txt";
    WriteFile(vault_ / rel, std::to_string(i));
    expected.push_back(rel);
  }
  const EventList events = PollUntil(*watcher, [&](const EventList& e) {
    return std::all_of(expected.begin(), expected.end(),
                       [&](const std::string& p) { return HasPath(e, p); });
  });
  for (const std::string& path : expected) {
    EXPECT_TRUE(HasPath(events, path)) << path << " was never reported";
  }
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "burst/nested/deeper"));
}

TEST_F(InotifyWatcherTest, AnInjectedOverflowIsReportedOnceAndWatchingGoesOn) {
  auto watcher = Start();
  WriteFile(vault_ / "lost.txt", "x");  // queued, then dropped by the overflow
  watcher->InjectOverflow("injected by the test");
  Result<EventList> got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u) << Describe(*got);
  EXPECT_EQ((*got)[0].kind, WatchEventKind::kOverflow);
  EXPECT_EQ((*got)[0].detail, "injected by the test");
  EXPECT_TRUE((*got)[0].path.empty());
  EXPECT_EQ(watcher->mode(), WatcherMode::kOverflowed);

  const EventList events = DrainWithSentinel(*watcher);
  EXPECT_FALSE(HasPath(events, "lost.txt")) << Describe(events);
  EXPECT_EQ(watcher->mode(), WatcherMode::kInotify);
}

TEST_F(InotifyWatcherTest, ARealQueueOverflowIsReportedAndDirectoriesMadeMeanwhileAreWatched) {
  // Provoked deterministically: more events than the kernel queue holds
  // (fs.inotify.max_queued_events), written while the watcher reads none.
  std::ifstream limit_file("/proc/sys/fs/inotify/max_queued_events");
  long limit = 0;
  limit_file >> limit;
  if (limit <= 0 || limit > 200'000) GTEST_SKIP() << "max_queued_events = " << limit;
  WriteFile(vault_ / "a", "");
  WriteFile(vault_ / "b", "");
  auto watcher = Start();
  // A directory created while events are being lost: its IN_CREATE may be
  // among the lost ones, so only the resync after the overflow can watch it.
  const int fa = ::open((vault_ / "a").c_str(), O_WRONLY);
  const int fb = ::open((vault_ / "b").c_str(), O_WRONLY);
  ASSERT_GE(fa, 0);
  ASSERT_GE(fb, 0);
  // Alternating files: the kernel merges an event only with an identical
  // one at the queue's tail, so each write is one queued event.
  for (long i = 0; i < limit + 100; ++i) {
    ASSERT_EQ(::write(i % 2 == 0 ? fa : fb, "x", 1), 1);
    if (i == limit + 50) fs::create_directories(vault_ / "made-meanwhile");
  }
  ::close(fa);
  ::close(fb);

  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return std::any_of(e.begin(), e.end(),
                       [](const WatchEvent& x) { return x.kind == WatchEventKind::kOverflow; });
  });
  const auto overflow = std::find_if(events.begin(), events.end(), [](const WatchEvent& e) {
    return e.kind == WatchEventKind::kOverflow;
  });
  ASSERT_NE(overflow, events.end()) << Describe(events);
  EXPECT_NE(overflow->detail.find("max_queued_events"), std::string::npos) << overflow->detail;

  WriteFile(vault_ / "made-meanwhile" / "seen.txt", "x");
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "made-meanwhile/seen.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "made-meanwhile/seen.txt"))
      << Describe(events);
}

TEST_F(InotifyWatcherTest, TheWatchLimitAtStartIsAnOverflowThatNamesTheSysctl) {
  for (int i = 0; i < 5; ++i) fs::create_directories(vault_ / ("d" + std::to_string(i)));
  InotifyOptions options;
  options.max_watches = 3;  // the root and two of the five directories
  auto watcher = Start(options);

  Result<EventList> got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u) << Describe(*got);
  const WatchEvent& event = (*got)[0];
  EXPECT_EQ(event.kind, WatchEventKind::kOverflow);
  EXPECT_NE(event.detail.find("fs.inotify.max_user_watches"), std::string::npos) << event.detail;
  EXPECT_NE(event.detail.find("sysctl"), std::string::npos) << event.detail;
  EXPECT_NE(event.detail.find("/etc/sysctl.d/"), std::string::npos) << event.detail;
  // It stays degraded: the agent is to switch to polling.
  EXPECT_EQ(watcher->mode(), WatcherMode::kOverflowed);
  got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(watcher->mode(), WatcherMode::kOverflowed);
}

TEST_F(InotifyWatcherTest, TheWatchLimitReachedByANewDirectoryIsNeverSilent) {
  InotifyOptions options;
  options.max_watches = 2;  // the root and one more
  auto watcher = Start(options);
  fs::create_directories(vault_ / "first");
  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kCreated, "first");
  });
  ASSERT_TRUE(Has(events, WatchEventKind::kCreated, "first")) << Describe(events);
  EXPECT_EQ(watcher->mode(), WatcherMode::kInotify);

  fs::create_directories(vault_ / "second");
  events = PollUntil(*watcher, [](const EventList& e) {
    return !e.empty() && e.back().kind == WatchEventKind::kOverflow;
  });
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, WatchEventKind::kOverflow) << Describe(events);
  EXPECT_NE(events.back().detail.find("second"), std::string::npos) << events.back().detail;
  EXPECT_EQ(watcher->mode(), WatcherMode::kOverflowed);
}

TEST_F(InotifyWatcherTest, ADeletedDirectoryGivesItsWatchBack) {
  fs::create_directories(vault_ / "old");
  InotifyOptions options;
  options.max_watches = 2;  // the root and "old"
  auto watcher = Start(options);

  fs::remove(vault_ / "old");
  EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kDeleted, "old");
  });
  ASSERT_TRUE(Has(events, WatchEventKind::kDeleted, "old")) << Describe(events);
  // Had "old"'s watch been kept, this one would exceed the limit.
  fs::create_directories(vault_ / "new");
  WriteFile(vault_ / "new" / "f", "x");
  events = PollUntil(*watcher, [](const EventList& e) {
    // Reported by the new directory's listing or by its watch, or refused.
    return HasPath(e, "new/f") || (!e.empty() && e.back().kind == WatchEventKind::kOverflow);
  });
  EXPECT_TRUE(HasPath(events, "new/f")) << Describe(events);
  EXPECT_EQ(watcher->mode(), WatcherMode::kInotify) << Describe(events);
}

TEST_F(InotifyWatcherTest, IgnoredPathsAndTheStateFolderAreNeverReported) {
  fs::create_directories(vault_ / ".hx");
  fs::create_directories(vault_ / "build");
  const IgnoreRules rules = IgnoreRules::Parse("build/\n*.tmp\n");
  auto watcher = Start({}, rules);

  WriteFile(vault_ / ".hx" / "index.db", "x");
  WriteFile(vault_ / "build" / "out.o", "x");
  WriteFile(vault_ / "scratch.tmp", "x");
  fs::create_directories(vault_ / "sub" / "build");  // ignored at any depth
  WriteFile(vault_ / "sub" / "build" / "x.o", "x");
  WriteFile(vault_ / "sub" / "keep.txt", "x");
  fs::rename(vault_ / "scratch.tmp", vault_ / "scratch2.tmp");
  EventList events = DrainWithSentinel(*watcher);
  for (const WatchEvent& e : events) {
    EXPECT_TRUE(e.path == "sub" || e.path == "sub/keep.txt" || e.path == "zz-sentinel")
        << Describe(events);
  }
  EXPECT_TRUE(HasPath(events, "sub/keep.txt")) << Describe(events);

  // Rules changed: build/ is synced now, and watched.
  watcher->SetRules(IgnoreRules::Parse("*.tmp\n"));
  WriteFile(vault_ / "build" / "now.o", "x");
  events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kModified, "build/now.o");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kModified, "build/now.o")) << Describe(events);
}

TEST_F(InotifyWatcherTest, AMoveIntoAnIgnoredNameIsADeletionAndOutOfOneACreation) {
  WriteFile(vault_ / "a.txt", "x");
  WriteFile(vault_ / "b.tmp", "y");
  auto watcher = Start({}, IgnoreRules::Parse("*.tmp\n"));
  fs::rename(vault_ / "a.txt", vault_ / "a.tmp");
  fs::rename(vault_ / "b.tmp", vault_ / "b.txt");
  const EventList events = DrainWithSentinel(*watcher);
  EXPECT_TRUE(Has(events, WatchEventKind::kDeleted, "a.txt")) << Describe(events);
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "b.txt")) << Describe(events);
  EXPECT_FALSE(HasPath(events, "a.tmp")) << Describe(events);
  EXPECT_FALSE(HasPath(events, "b.tmp")) << Describe(events);
}

TEST_F(InotifyWatcherTest, ControlCharactersInNamesAreKeptInPathsAndEscapedInDescriptions) {
  auto watcher = Start();
  const std::string name = "evil\n\x1b[31mred\r";
  WriteFile(vault_ / name, "x");
  const EventList events = PollUntil(*watcher, [&](const EventList& e) {
    return Has(e, WatchEventKind::kModified, name);
  });
  ASSERT_TRUE(Has(events, WatchEventKind::kCreated, name));
  for (const WatchEvent& e : events) {
    const std::string text = DescribeEvent(e);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    EXPECT_NE(text.find("\\e[31m"), std::string::npos) << text;
  }
}

TEST_F(InotifyWatcherTest, WakeReturnsABlockedPollFromAnotherThread) {
  auto watcher = Start();
  std::atomic<bool> returned{false};
  std::thread poller([&] {
    Result<EventList> got = watcher->Poll(600'000);  // ten minutes unless woken
    EXPECT_TRUE(got.ok());
    returned = true;
  });
  // Wake until the poller has returned (a Wake before it blocks is kept by
  // the eventfd, so the first one suffices; the loop only bounds the test).
  for (int i = 0; i < 1000 && !returned; ++i) {
    watcher->Wake();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  poller.join();
  EXPECT_TRUE(returned);
}

TEST_F(InotifyWatcherTest, StartFailsClearlyWhenTheVaultIsMissing) {
  std::unique_ptr<Watcher> watcher = MakeInotifyWatcher();
  const Status started = watcher->Start(vault_ / "missing", IgnoreRules());
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, SyncCode::kStateFailed);
  EXPECT_FALSE(watcher->Poll(0).ok());  // not started
}

TEST(DefaultWatcherTest, PrefersInotifyAndHonoursPreferPolling) {
  testing::TempDir dir;
  auto inotify = MakeDefaultWatcher(/*prefer_polling=*/false, 1000);
  ASSERT_TRUE(inotify->Start(dir.path(), IgnoreRules()).ok());
  EXPECT_EQ(inotify->mode(), WatcherMode::kInotify);
  auto polling = MakeDefaultWatcher(/*prefer_polling=*/true, 1000);
  ASSERT_TRUE(polling->Start(dir.path(), IgnoreRules()).ok());
  EXPECT_EQ(polling->mode(), WatcherMode::kPolling);
}

TEST(DefaultWatcherTest, TheWatchLimitSwitchesToPollingAndSaysSo) {
  testing::TempDir dir;
  for (int i = 0; i < 4; ++i) fs::create_directories(dir.path() / ("d" + std::to_string(i)));
  InotifyOptions inotify;
  inotify.max_watches = 2;
  PollingOptions polling;
  polling.interval_ms = 0;  // every Poll walks
  auto watcher = MakeDefaultWatcher(/*prefer_polling=*/false, inotify, polling);
  ASSERT_TRUE(watcher->Start(dir.path(), IgnoreRules()).ok());
  EXPECT_EQ(watcher->mode(), WatcherMode::kOverflowed);

  Result<EventList> got = watcher->Poll(0);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u) << Describe(*got);
  EXPECT_EQ((*got)[0].kind, WatchEventKind::kOverflow);
  EXPECT_NE((*got)[0].detail.find("fs.inotify.max_user_watches"), std::string::npos);
  EXPECT_NE((*got)[0].detail.find("by polling now"), std::string::npos) << (*got)[0].detail;
  EXPECT_EQ(watcher->mode(), WatcherMode::kPolling);

  // A change in a directory inotify could not watch is seen by polling.
  WriteFile(dir.path() / "d3" / "seen.txt", "x");
  const EventList events = PollUntil(*watcher, [](const EventList& e) {
    return Has(e, WatchEventKind::kCreated, "d3/seen.txt");
  });
  EXPECT_TRUE(Has(events, WatchEventKind::kCreated, "d3/seen.txt")) << Describe(events);
}

}  // namespace
}  // namespace hx
