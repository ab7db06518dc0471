#include "os/env.h"

#include <cerrno>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/clock.h"
#include "os/fault_env.h"
#include "os/real_clock.h"
#include "os/writeback.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("hx_env_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "vault" / "a" / "b");
    fs::create_directories(root_ / "outside");
    ASSERT_EQ(env_.Open(AT_FDCWD, (root_ / "vault").c_str(), O_RDONLY | O_DIRECTORY, 0, &fd_), 0);
    vault_ = Fd(env_, fd_);
  }
  void TearDown() override {
    vault_.reset();
    fs::remove_all(root_);
  }

  Env& env_ = Env::Default();
  fs::path root_;
  int fd_ = -1;
  Fd vault_;
};

using OpenBeneathFn = int (*)(int, const char*, int, mode_t, int*);
int ViaEnv(int dirfd, const char* path, int flags, mode_t mode, int* fd) {
  return Env::Default().OpenBeneath(dirfd, path, flags, mode, fd);
}

class OpenBeneathTest : public EnvTest, public ::testing::WithParamInterface<OpenBeneathFn> {};

TEST_P(OpenBeneathTest, CreatesFilesBeneathTheDirectory) {
  int fd = -1;
  ASSERT_EQ(GetParam()(vault_.get(), "a/b/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644, &fd), 0);
  Fd file(env_, fd);
  EXPECT_EQ(WriteAll(env_, file.get(), "hello"), 0);
  EXPECT_TRUE(fs::exists(root_ / "vault/a/b/new.txt"));
}

TEST_P(OpenBeneathTest, RefusesASymlinkedParentAtEveryDepth) {
  fs::create_directory_symlink(root_ / "outside", root_ / "vault/link");
  fs::create_directory_symlink(root_ / "outside", root_ / "vault/a/b/deep");
  for (const char* path : {"link/x.txt", "a/b/deep/x.txt"}) {
    int fd = -1;
    const int err = GetParam()(vault_.get(), path, O_WRONLY | O_CREAT, 0644, &fd);
    EXPECT_NE(err, 0) << path;
    EXPECT_TRUE(err == ELOOP || err == EXDEV || err == ENOTDIR) << path << ": " << err;
  }
  EXPECT_TRUE(fs::is_empty(root_ / "outside"));
}

TEST_P(OpenBeneathTest, RefusesASymlinkAsTheLastComponent) {
  fs::create_symlink(root_ / "outside/target.txt", root_ / "vault/a/file");
  int fd = -1;
  EXPECT_NE(GetParam()(vault_.get(), "a/file", O_WRONLY | O_CREAT, 0644, &fd), 0);
  EXPECT_FALSE(fs::exists(root_ / "outside/target.txt"));
}

TEST_P(OpenBeneathTest, RefusesDotDotAndAbsolutePaths) {
  int fd = -1;
  EXPECT_NE(GetParam()(vault_.get(), "../outside/x", O_WRONLY | O_CREAT, 0644, &fd), 0);
  EXPECT_NE(GetParam()(vault_.get(), "a/../../outside/x", O_WRONLY | O_CREAT, 0644, &fd), 0);
  const std::string abs = (root_ / "outside/x").string();
  EXPECT_NE(GetParam()(vault_.get(), abs.c_str(), O_WRONLY | O_CREAT, 0644, &fd), 0);
  EXPECT_TRUE(fs::is_empty(root_ / "outside"));
}

INSTANTIATE_TEST_SUITE_P(Env, OpenBeneathTest,
                         ::testing::Values(&ViaEnv, &OpenBeneathByWalk));

TEST_F(EnvTest, ReadDirListsNamesWithoutDotEntriesAndKeepsTheDescriptor) {
  std::vector<DirEntry> entries;
  ASSERT_EQ(env_.ReadDir(vault_.get(), &entries), 0);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "a");
  // The descriptor is still usable, and a second listing sees the same.
  ASSERT_EQ(env_.ReadDir(vault_.get(), &entries), 0);
  EXPECT_EQ(entries.size(), 1u);
}

TEST_F(EnvTest, ErrorsAreReturnedAsErrnoValues) {
  int fd = -1;
  EXPECT_EQ(env_.Open(vault_.get(), "missing", O_RDONLY, 0, &fd), ENOENT);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(env_.MkdirAt(vault_.get(), "a", 0755), EEXIST);
}

// StartWriteback (os/writeback.h) only starts writing: the file keeps its
// bytes and stays open and writable; a descriptor that is not a file's is
// an errno value (never -1); the fault env can fail it like any other call;
// an Env without the capability does nothing.
TEST_F(EnvTest, StartWritebackKeepsTheFileAndReportsErrorsAsErrnoValues) {
  int fd = -1;
  ASSERT_EQ(env_.Open(vault_.get(), "f", O_WRONLY | O_CREAT | O_EXCL, 0644, &fd), 0);
  Fd file(env_, fd);
  ASSERT_EQ(WriteAll(env_, file.get(), "hello"), 0);
  EXPECT_EQ(StartWriteback(env_, file.get()), 0);
  ASSERT_EQ(WriteAll(env_, file.get(), " world"), 0);
  EXPECT_EQ(env_.Fdatasync(file.get()), 0);
  file.reset();
  EXPECT_EQ(fs::file_size(root_ / "vault/f"), 11u);
  EXPECT_EQ(StartWriteback(env_, -1), EBADF);
  FaultInjectingEnv faulty(env_);
  faulty.Arm(1, EnvFault::kIo);
  EXPECT_EQ(StartWriteback(faulty, vault_.get()), EIO);
  EXPECT_EQ(StartWriteback(faulty, vault_.get()), 0);
  EnvWrapper plain(env_);
  EXPECT_EQ(StartWriteback(plain, -1), 0);
}

TEST_F(EnvTest, FaultEnvFailsExactlyTheNthCallWithTheArmedError) {
  FaultInjectingEnv faulty(env_);
  faulty.Arm(2, EnvFault::kNoSpace);
  EXPECT_EQ(faulty.MkdirAt(vault_.get(), "one", 0755), 0);
  EXPECT_EQ(faulty.MkdirAt(vault_.get(), "two", 0755), ENOSPC);
  EXPECT_EQ(faulty.MkdirAt(vault_.get(), "three", 0755), 0);
  EXPECT_TRUE(faulty.fired());
  EXPECT_EQ(faulty.calls(), 3u);
  EXPECT_FALSE(fs::exists(root_ / "vault/two"));
}

TEST_F(EnvTest, FaultEnvShortWriteWritesHalfAndWriteAllCompletesIt) {
  FaultInjectingEnv faulty(env_);
  int fd = -1;
  ASSERT_EQ(faulty.Open(vault_.get(), "f", O_WRONLY | O_CREAT, 0644, &fd), 0);
  Fd file(faulty, fd);
  faulty.Arm(1, EnvFault::kShortWrite);
  std::size_t wrote = 0;
  ASSERT_EQ(faulty.Write(file.get(), "abcdef", 6, &wrote), 0);
  EXPECT_EQ(wrote, 3u);
  faulty.Arm(1, EnvFault::kShortWrite);
  EXPECT_EQ(WriteAll(faulty, file.get(), "ghijkl"), 0);
  file.reset();
  EXPECT_EQ(fs::file_size(root_ / "vault/f"), 9u);
}

TEST_F(EnvTest, FaultEnvCrashFailsEveryLaterCallUntilDisarmed) {
  FaultInjectingEnv faulty(env_);
  std::string hit;
  faulty.set_on_fault([&](std::string_view call) { hit = std::string(call); });
  faulty.Arm(1, EnvFault::kCrash);
  EXPECT_EQ(faulty.MkdirAt(vault_.get(), "x", 0755), EIO);
  EXPECT_EQ(hit, "MkdirAt");
  struct stat st;
  EXPECT_EQ(faulty.StatAt(vault_.get(), "a", &st, 0), EIO);
  faulty.Disarm();
  EXPECT_EQ(faulty.StatAt(vault_.get(), "a", &st, 0), 0);
}

TEST(ClockTest, FakeClockAdvancesOnlyWhenToldOrSleptOn) {
  FakeClock clock(1000);
  const auto start = clock.Monotonic();
  EXPECT_EQ(clock.WallMs(), 1000);
  clock.SleepFor(std::chrono::milliseconds(250));
  clock.Advance(std::chrono::milliseconds(50));
  EXPECT_EQ(clock.WallMs(), 1300);
  EXPECT_EQ(clock.Monotonic() - start, std::chrono::milliseconds(300));
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(250));
}

TEST(ClockTest, RealClockIsMonotonic) {
  Clock& clock = RealClock::Get();
  const auto a = clock.Monotonic();
  const auto b = clock.Monotonic();
  EXPECT_LE(a, b);
  EXPECT_GT(clock.WallMs(), 1'600'000'000'000);
}

}  // namespace
}  // namespace hx
