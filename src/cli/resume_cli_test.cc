// Resumable transfers through the command line: `hx sync push` and `hx sync
// pull` killed with SIGKILL at a checkpoint (HX_TEST_CRASH_AT, cmd_sync.cc)
// and run again move only what is missing. The first run's progress is read
// from what it left (the packs on the folder store; the fetch journal in
// .hx/staging), the rerun's from its --json report. The engine-level cases
// with a counting store and 800 MB are src/sync/resume_test.cc.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/process_test_util.h"
#include "base/seeded_file_test_util.h"
#include "base/temp_dir_test_util.h"


namespace {

namespace fs = std::filesystem;

using hx::testing::FolderStorePackSizes;
using hx::testing::Largest;
using hx::testing::Sum;
using hx::testing::WriteSeededFile;

using hx::testing::TempDir;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

using HxRun = hx::testing::ProcessRun;

HxRun RunHx(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
  env.push_back("HX_PASSPHRASE=resume test passphrase");
  return hx::testing::RunProcess(HX_BINARY, args, env);
}

// The number after "<key>": in a --json report.
std::uint64_t JsonNumber(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  EXPECT_NE(at, std::string::npos) << key << " in " << json;
  if (at == std::string::npos) return 0;
  return std::strtoull(json.c_str() + at + key.size() + 3, nullptr, 10);
}

class ResumeCliTest : public ::testing::Test {
 protected:
  fs::path store() const { return dir_.path() / "store"; }
  fs::path vault(const std::string& name) const { return dir_.path() / name; }
  void Init(const std::string& name) {
    fs::create_directories(vault(name));
    HxRun r = RunHx({"sync", "init", vault(name).string(), store().string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  void WriteData(const std::string& name) {
    for (int i = 0; i < 4; ++i) {
      WriteSeededFile(vault(name) / ("d" + std::to_string(i)) / "data.bin", 16 * kMiB, 100 + i);
    }
  }
  TempDir dir_;
};

TEST_F(ResumeCliTest, AKilledPushUploadsOnItsRerunOnlyThePacksItHadNotStored) {
  Init("a");
  WriteData("a");
  HxRun killed = RunHx({"sync", "push", vault("a").string()},
                       {"HX_TEST_CRASH_AT=push.pack_stored:2"});
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  const std::uint64_t stored = Sum(FolderStorePackSizes(store()));
  ASSERT_GT(stored, 0u);
  HxRun again = RunHx({"--json", "sync", "push", vault("a").string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::uint64_t uploaded = JsonNumber(again.output, "bytes_uploaded");
  const std::vector<std::uint64_t> packs = FolderStorePackSizes(store());
  EXPECT_LE(stored + uploaded, Sum(packs) + Largest(packs))
      << "stored " << stored << ", rerun uploaded " << uploaded << ", needed " << Sum(packs);

  Init("b");
  HxRun pulled = RunHx({"sync", "pull", vault("b").string()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.output;
  for (int i = 0; i < 4; ++i) {
    const std::string rel = "d" + std::to_string(i) + "/data.bin";
    EXPECT_EQ(fs::file_size(vault("b") / rel), 16 * kMiB) << rel;
  }
}

TEST_F(ResumeCliTest, AKilledPullFetchesOnItsRerunOnlyWhatItHadNotStaged) {
  Init("a");
  WriteData("a");
  ASSERT_EQ(RunHx({"sync", "push", vault("a").string()}).exit_code, 0);
  Init("c");
  HxRun clean = RunHx({"--json", "sync", "pull", vault("c").string()});
  ASSERT_EQ(clean.exit_code, 0) << clean.output;
  const std::uint64_t all = JsonNumber(clean.output, "bytes_fetched");

  Init("b");
  HxRun killed = RunHx({"sync", "pull", vault("b").string()},
                       {"HX_TEST_CRASH_AT=pull.objects_staged:20"});
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  std::uint64_t staged = 0;
  for (const auto& e : fs::directory_iterator(vault("b") / ".hx" / "staging")) {
    if (e.path().filename().string().starts_with("fetched-")) staged += e.file_size();
  }
  ASSERT_GT(staged, 0u);
  HxRun again = RunHx({"--json", "sync", "pull", vault("b").string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::uint64_t fetched = JsonNumber(again.output, "bytes_fetched");
  EXPECT_LE(fetched + staged, all + Largest(FolderStorePackSizes(store())))
      << "staged " << staged << ", rerun fetched " << fetched << ", a clean pull " << all;
  EXPECT_LT(fetched, all);
  for (int i = 0; i < 4; ++i) {
    const std::string rel = "d" + std::to_string(i) + "/data.bin";
    std::ifstream x(vault("a") / rel, std::ios::binary), y(vault("b") / rel, std::ios::binary);
    EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(x), std::istreambuf_iterator<char>(),
                           std::istreambuf_iterator<char>(y), std::istreambuf_iterator<char>()))
        << rel;
  }
}

}  // namespace
