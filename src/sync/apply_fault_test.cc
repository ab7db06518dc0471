// A local I/O fault at any single call of a pull's apply phase (through the
// fault-injecting Env) fails only what it touches, with a KC_SYNC_* code, and
// loses nothing: the next pull without faults finishes the job.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "merge/policy.h"
#include "os/fault_env.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

TEST(ApplyFaultTest, AFaultAtAnyCallOfTheApplyLosesNothingAndTheNextPullFinishes) {
  auto store = MakeFolderStoreFixture();
  std::int64_t now = 1'700'000'000'000;
  Device a(*store, "a");
  HX_ASSERT_OK(a.Init(now += 1000));
  a.Write("top.txt", "top");
  a.Write("d/f.txt", "f");
  a.Write("d/e/g.txt", "g");
  // (Dangling: Device::Snapshot names entries through fs::relative, which
  // would resolve a link to an existing file.)
  fs::create_symlink("nowhere", a.vault() / "link");
  HX_ASSERT_OK(a.Push(now += 1000));

  // One pull by a fresh device, with `arm` called when the apply starts;
  // *apply_calls: the calls counted during the apply.
  std::uint64_t apply_calls = 0;
  auto pull = [&](FaultInjectingEnv& env, const std::function<void()>& arm,
                  std::unique_ptr<Device>& b) {
    b = std::make_unique<Device>(*store, "b");
    EXPECT_TRUE(b->Init(now += 1000).ok());
    SyncOptions o = b->options(now += 1000);
    o.env = &env;
    o.checkpoint = [&](std::string_view point) {
      if (point == "pull.before_apply") arm();
      if (point == "pull.after_apply") {
        apply_calls = env.calls();
        env.Disarm();
      }
    };
    return SyncPull(b->vault(), o);
  };
  FaultInjectingEnv counter(Env::Default());
  std::unique_ptr<Device> b0;
  HX_ASSERT_OK(pull(
      counter, [&] { counter.Disarm(); }, b0));
  const std::uint64_t calls = apply_calls;
  ASSERT_GT(calls, 10u);

  for (const EnvFault fault :
       {EnvFault::kIo, EnvFault::kNoSpace, EnvFault::kShortWrite, EnvFault::kCrash}) {
    for (std::uint64_t nth = 1; nth <= calls; ++nth) {
      SCOPED_TRACE(std::string(ToString(fault)) + " at call " + std::to_string(nth));
      FaultInjectingEnv env(Env::Default());
      std::unique_ptr<Device> b;
      Result<PullReport> pulled = pull(
          env, [&] { env.Arm(nth, fault); }, b);
      ASSERT_TRUE(pulled.ok()) << pulled.error().ToShortString();
      for (const PullItem& item : pulled->items) {
        if (item.status != "failed") continue;
        ASSERT_TRUE(item.error.has_value());
        // The folder store reads through the same Env (h-env): a failed
        // read of a blob fails the item with the store's own error.
        const bool store_read =
            item.error->code == SyncCode::kStateFailed &&
            item.error->message.find(store->TargetUri() + "/") != std::string::npos;
        EXPECT_TRUE(item.error->code == SyncCode::kApplyFailed || store_read)
            << item.error->ToShortString();
        EXPECT_TRUE(item.error->details.count("path")) << item.error->ToShortString();
      }
      // Whatever was applied is whole: never a half-written file.
      for (const auto& [path, what] : b->Snapshot()) {
        const auto want = a.Snapshot();
        ASSERT_TRUE(want.count(path)) << path;
        EXPECT_EQ(what, want.at(path)) << path;
      }
      // The next pull, without faults, brings the vault to the store's state.
      SyncOptions o = b->options(now += 1000);
      HX_ASSERT_OK(SyncPull(b->vault(), o));
      EXPECT_EQ(b->Snapshot(), a.Snapshot());
    }
  }
}

// Fails every fstatat of the name `leaf` with `err` while armed (the
// applier's re-check of that path, and nothing else).
class FailingStatOf final : public EnvWrapper {
 public:
  FailingStatOf(Env& target, std::string leaf, int err)
      : EnvWrapper(target), leaf_(std::move(leaf)), err_(err) {}
  std::atomic<bool> armed{false};
  int StatAt(int dirfd, const char* path, struct stat* st, int flags) override {
    if (armed && leaf_ == path) return err_;
    return EnvWrapper::StatAt(dirfd, path, st, flags);
  }

 private:
  std::string leaf_;
  int err_;
};

// The defect class: a re-check before an install (or a move aside) that
// could not look at the path was reported as "changed during the pull"
// (category conflict). It is the I/O error itself, with its category, and
// names the path — for a plain remote change and for a resolved conflict.
TEST(ApplyFaultTest, ARecheckThatCannotLookIsItsIoErrorNamingThePathNotAChange) {
  for (const bool conflict : {false, true}) {
    for (const int err : {EIO, EACCES}) {
      SCOPED_TRACE(std::string(conflict ? "cloud_preferred conflict" : "remote change") +
                   ", errno " + std::to_string(err));
      auto store = MakeFolderStoreFixture();
      std::int64_t now = 1'700'000'000'000;
      Device a(*store, "a", 1), b(*store, "b", 2);
      HX_ASSERT_OK(a.Init(now += 1000));
      a.Write("docs/notes.txt", "one\n");
      HX_ASSERT_OK(a.Push(now += 1000));
      HX_ASSERT_OK(b.Init(now += 1000));
      HX_ASSERT_OK(b.Pull(now += 1000));
      a.Write("docs/notes.txt", "two, from a\n");
      HX_ASSERT_OK(a.Push(now += 1000));
      if (conflict) b.Write("docs/notes.txt", "two, from b\n");

      FailingStatOf env(Env::Default(), "notes.txt", err);
      SyncOptions o = b.options(now += 1000);
      o.env = &env;
      if (conflict) o.auto_merge = MergePolicy::kCloudPreferred;
      o.checkpoint = [&](std::string_view point) {
        if (point == "pull.before_apply") env.armed = true;
      };
      Result<PullReport> pulled = SyncPull(b.vault(), o);
      env.armed = false;
      ASSERT_TRUE(pulled.ok()) << pulled.error().ToShortString();
      ASSERT_TRUE(pulled->error.has_value());
      EXPECT_EQ(pulled->error->category, err == EIO ? Category::kIo : Category::kAuth)
          << pulled->error->ToShortString();
      EXPECT_EQ(pulled->error->message.find("changed during"), std::string::npos)
          << pulled->error->ToShortString();
      const PullItem* item = nullptr;
      for (const PullItem& i : pulled->items) {
        if (i.path == "docs/notes.txt") item = &i;
      }
      ASSERT_NE(item, nullptr);
      ASSERT_EQ(item->status, "failed");
      ASSERT_TRUE(item->error.has_value());
      EXPECT_EQ(item->error->code, SyncCode::kApplyFailed);
      EXPECT_EQ(item->error->category, err == EIO ? Category::kIo : Category::kAuth);
      EXPECT_NE(item->error->details.at("path").find("docs/notes.txt"), std::string::npos);
      EXPECT_NE(item->error->message.find(std::strerror(err)), std::string::npos)
          << item->error->ToShortString();
      // Nothing was lost, and the next pull finishes.
      EXPECT_EQ(b.Read("docs/notes.txt"), conflict ? "two, from b\n" : "one\n");
      SyncOptions again = b.options(now += 1000);
      if (conflict) again.auto_merge = MergePolicy::kCloudPreferred;
      Result<PullReport> rerun = SyncPull(b.vault(), again);
      HX_ASSERT_OK(rerun);
      EXPECT_FALSE(rerun->error.has_value());
      EXPECT_EQ(b.Read("docs/notes.txt"), "two, from a\n");
    }
  }
}

// Counts the opens beneath the vault root that found nothing, by path.
class MissCounter final : public EnvWrapper {
 public:
  explicit MissCounter(Env& target) : EnvWrapper(target) {}
  int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    const int err = EnvWrapper::OpenBeneath(dirfd, path, flags, mode, fd);
    if (err == ENOENT) ++misses[path];
    return err;
  }
  std::map<std::string, int> misses;
};

// The re-check before anything is staged looks a directory up once for the
// files beside each other in it: a first pull into an empty folder does not
// try to open each file's missing directory once per file (100,000 failed
// opens at 100,000 files), and still writes every file.
TEST(ApplyRecheckTest, AMissingDirectoryIsLookedUpOnceForAllItsFiles) {
  auto store = MakeFolderStoreFixture();
  std::int64_t now = 1'700'000'000'000;
  Device a(*store, "a", 1), b(*store, "b", 2);
  HX_ASSERT_OK(a.Init(now += 1000));
  for (int i = 0; i < 40; ++i) a.Write("d/e/f" + std::to_string(i), std::to_string(i));
  a.Write("d/top", "top");
  HX_ASSERT_OK(a.Push(now += 1000));
  HX_ASSERT_OK(b.Init(now += 1000));
  MissCounter env(Env::Default());
  SyncOptions o = b.options(now += 1000);
  o.env = &env;
  Result<PullReport> pulled = SyncPull(b.vault(), o);
  HX_ASSERT_OK(pulled);
  EXPECT_FALSE(pulled->error.has_value());
  EXPECT_EQ(b.Read("d/e/f39"), "39");
  EXPECT_EQ(b.Read("d/top"), "top");
  // Once by the re-check, once by the directory's creation.
  EXPECT_LE(env.misses["d/e"], 2);
  EXPECT_LE(env.misses["d"], 2);
}

}  // namespace
}  // namespace hx::testing
