// StagedSyncer (sync/apply_sync.h): every descriptor handed over is synced
// (fdatasync for a file, fsync for a directory) and closed by the time Wait
// returns, across batches and worker threads; a sync that fails is reported
// with the tag it was added under, never lost and never blamed on another.
#include "sync/apply_sync.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/temp_dir_test_util.h"

namespace hx {
namespace {

// Counts syncs and closes; fails the fdatasync of chosen files (by inode:
// descriptor numbers are reused once the syncer closes them).
class CountingSyncEnv final : public EnvWrapper {
 public:
  CountingSyncEnv() : EnvWrapper(Env::Default()) {}
  int Fdatasync(int fd) override {
    ++datasyncs;
    {
      struct stat st;
      std::lock_guard<std::mutex> lock(mu);
      if (::fstat(fd, &st) == 0 && failing.count(st.st_ino) != 0) return EIO;
    }
    return EnvWrapper::Fdatasync(fd);
  }
  int Fsync(int fd) override {
    ++fsyncs;
    return EnvWrapper::Fsync(fd);
  }
  int Close(int fd) override {
    ++closes;
    return EnvWrapper::Close(fd);
  }
  std::atomic<int> datasyncs{0};
  std::atomic<int> fsyncs{0};
  std::atomic<int> closes{0};
  std::mutex mu;
  std::set<ino_t> failing;
};

TEST(StagedSyncerTest, EveryFileAddedIsSyncedAndClosedWhenWaitReturns) {
  testing::TempDir dir;
  CountingSyncEnv env;
  StagedSyncer syncer(env, 3);
  // Several full batches (worker threads) and a partial one (the caller's).
  const int files = static_cast<int>(StagedSyncer::kBatch) * 5 + 7;
  for (int i = 0; i < files; ++i) {
    int fd = -1;
    const std::string name = (dir.path() / ("f" + std::to_string(i))).string();
    ASSERT_EQ(env.Open(AT_FDCWD, name.c_str(), O_WRONLY | O_CREAT, 0644, &fd), 0);
    syncer.Add(static_cast<std::uint64_t>(i), Fd(env, fd));
  }
  int dir_fd = -1;
  ASSERT_EQ(env.Open(AT_FDCWD, dir.path().c_str(), O_RDONLY | O_DIRECTORY, 0, &dir_fd), 0);
  syncer.Add(9999, Fd(env, dir_fd), /*full=*/true);
  EXPECT_TRUE(syncer.Wait().empty());
  EXPECT_EQ(env.datasyncs.load(), files);
  EXPECT_EQ(env.fsyncs.load(), 1);
  EXPECT_EQ(env.closes.load(), files + 1);
}

TEST(StagedSyncerTest, AFailedSyncIsReportedUnderItsOwnTag) {
  testing::TempDir dir;
  CountingSyncEnv env;
  StagedSyncer syncer(env, 2);
  const int files = static_cast<int>(StagedSyncer::kBatch) * 3;
  std::set<std::uint64_t> expected;
  for (int i = 0; i < files; ++i) {
    int fd = -1;
    const std::string name = (dir.path() / ("f" + std::to_string(i))).string();
    ASSERT_EQ(env.Open(AT_FDCWD, name.c_str(), O_WRONLY | O_CREAT, 0644, &fd), 0);
    if (i % 50 == 7) {
      struct stat st;
      ASSERT_EQ(::fstat(fd, &st), 0);
      std::lock_guard<std::mutex> lock(env.mu);
      env.failing.insert(st.st_ino);
      expected.insert(static_cast<std::uint64_t>(i) + 1000);
    }
    syncer.Add(static_cast<std::uint64_t>(i) + 1000, Fd(env, fd));
  }
  const std::map<std::uint64_t, int> failed = syncer.Wait();
  std::set<std::uint64_t> got;
  for (const auto& [tag, err] : failed) {
    got.insert(tag);
    EXPECT_EQ(err, EIO);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(env.closes.load(), files);
  // Reusable: nothing left over from the first round.
  EXPECT_TRUE(syncer.Wait().empty());
}

}  // namespace
}  // namespace hx
