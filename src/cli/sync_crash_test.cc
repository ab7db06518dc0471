// Crash safety, with real processes: an hx push or pull is killed with
// SIGKILL at named points (HX_TEST_CRASH_AT, see cmd_sync.cc), then the test
// checks that the store is still readable by another device, that the vault
// folder holds only whole files, and that running the command again
// completes it with nothing lost.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/process_test_util.h"
#include "base/temp_dir_test_util.h"


namespace {

namespace fs = std::filesystem;

using hx::testing::TempDir;

using HxRun = hx::testing::ProcessRun;

// Runs the hx binary with `args` and extra environment `env`.
HxRun RunHx(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
  env.push_back("HX_PASSPHRASE=crash test passphrase");
  return hx::testing::RunProcess(HX_BINARY, args, env);
}

void WriteFile(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

// Every file of a vault (not .hx/) with its contents.
std::map<std::string, std::string> Contents(const fs::path& vault) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(vault); it != fs::end(it); ++it) {
    const std::string rel = fs::relative(it->path(), vault).string();
    if (rel == ".hx") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) {
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      out[rel] = s.str();
    } else if (it->is_directory()) {
      out[rel] = "<dir>";
    }
  }
  return out;
}

class SyncCrashTest : public ::testing::Test {
 protected:
  fs::path store() const { return dir_->path() / "store"; }
  fs::path vault(const std::string& name) const { return dir_->path() / name; }

  HxRun Hx(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    return RunHx(args, env);
  }
  void MustRun(const std::vector<std::string>& args) {
    HxRun r = Hx(args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  void Init(const std::string& name) {
    fs::create_directories(vault(name));
    MustRun({"sync", "init", vault(name).string(), store().string()});
  }

  // A first state pushed by "a", then a second one written but not pushed.
  void PrepareTwoStates() {
    Init("a");
    for (int i = 0; i < 20; ++i) {
      WriteFile(vault("a") / ("dir" + std::to_string(i % 3)) / ("f" + std::to_string(i)),
                "version one of file " + std::to_string(i));
    }
    WriteFile(vault("a") / "big.bin", std::string(3 << 20, 'b'));
    MustRun({"sync", "push", vault("a").string()});
    old_state_ = Contents(vault("a"));
    for (int i = 0; i < 20; i += 2) {
      WriteFile(vault("a") / ("dir" + std::to_string(i % 3)) / ("f" + std::to_string(i)),
                "version two of file " + std::to_string(i));
    }
    fs::remove(vault("a") / "dir1" / "f1");
    WriteFile(vault("a") / "new" / "n.txt", "new file");
    WriteFile(vault("a") / "big.bin", std::string(3 << 20, 'c'));
    new_state_ = Contents(vault("a"));
  }

  std::unique_ptr<TempDir> dir_ = std::make_unique<TempDir>();
  std::map<std::string, std::string> old_state_;
  std::map<std::string, std::string> new_state_;
};

TEST_F(SyncCrashTest, APushKilledAtAnyPointLeavesAReadableStoreAndCompletesWhenRerun) {
  for (const std::string point :
       {"push.after_scan", "push.after_upload", "push.after_lock", "push.after_snapshot",
        "push.after_head", "push.after_release"}) {
    SCOPED_TRACE(point);
    dir_ = std::make_unique<TempDir>();
    PrepareTwoStates();
    HxRun killed = Hx({"sync", "push", vault("a").string()}, {"HX_TEST_CRASH_AT=" + point});
    ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
    EXPECT_EQ(Contents(vault("a")), new_state_);  // the folder is untouched

    // Another device reads the store: it sees the old or the new state,
    // whole.
    Init("b");
    HxRun pulled = Hx({"sync", "pull", vault("b").string()});
    ASSERT_EQ(pulled.exit_code, 0) << pulled.output;
    const auto seen = Contents(vault("b"));
    EXPECT_TRUE(seen == old_state_ || seen == new_state_);

    // Running the push again completes it; b then converges.
    HxRun again = Hx({"sync", "push", vault("a").string()});
    ASSERT_EQ(again.exit_code, 0) << again.output;
    HxRun converged = Hx({"sync", "pull", vault("b").string()});
    ASSERT_EQ(converged.exit_code, 0) << converged.output;
    EXPECT_EQ(Contents(vault("b")), new_state_);
  }
}

TEST_F(SyncCrashTest, APullKilledAtAnyPointLeavesWholeFilesAndCompletesWhenRerun) {
  for (const std::string point :
       {"pull.before_apply", "pull.apply_item:1", "pull.apply_item:5", "pull.after_apply"}) {
    SCOPED_TRACE(point);
    dir_ = std::make_unique<TempDir>();
    PrepareTwoStates();
    Init("b");
    HxRun first = Hx({"sync", "pull", vault("b").string()});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    ASSERT_EQ(Contents(vault("b")), old_state_);
    HxRun pushed = Hx({"sync", "push", vault("a").string()});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.output;

    HxRun killed = Hx({"sync", "pull", vault("b").string()}, {"HX_TEST_CRASH_AT=" + point});
    ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
    // Every file is whole: its old or its new version.
    for (const auto& [path, contents] : Contents(vault("b"))) {
      const bool is_old = old_state_.count(path) && old_state_.at(path) == contents;
      const bool is_new = new_state_.count(path) && new_state_.at(path) == contents;
      EXPECT_TRUE(is_old || is_new) << path;
    }
    HxRun again = Hx({"sync", "pull", vault("b").string()});
    ASSERT_EQ(again.exit_code, 0) << again.output;
    EXPECT_EQ(Contents(vault("b")), new_state_);
    // Nothing is left to push: b holds exactly the store's state.
    HxRun status = Hx({"--json", "sync", "push", vault("b").string()});
    ASSERT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("\"outcome\":\"up_to_date\""), std::string::npos)
        << status.output;
  }
}

TEST_F(SyncCrashTest, ALockLeftByACrashedDeviceBlocksOthersButNotItself) {
  PrepareTwoStates();
  Init("b");
  ASSERT_EQ(Hx({"sync", "pull", vault("b").string()}).exit_code, 0);
  HxRun killed =
      Hx({"sync", "push", vault("a").string()}, {"HX_TEST_CRASH_AT=push.after_lock"});
  ASSERT_EQ(killed.signal, SIGKILL);
  ASSERT_TRUE(fs::exists(store() / "locks" / "write.lock"));
  WriteFile(vault("b") / "from-b.txt", "b");
  HxRun blocked = Hx({"sync", "push", vault("b").string()});
  EXPECT_EQ(blocked.exit_code, 6) << blocked.output;  // KC_SYNC_LOCKED
  EXPECT_NE(blocked.output.find("KC_SYNC_LOCKED"), std::string::npos);
  HxRun again = Hx({"sync", "push", vault("a").string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_FALSE(fs::exists(store() / "locks" / "write.lock"));
}

}  // namespace
