// Determinism: the same folder, node ids and now_ms give byte-identical store
// records. Two independent runs of one scenario must write the same bytes,
// and the records the issue names (head.json, snapshot zips, conflict
// artifacts, plus vault.json) are pinned by golden hashes in
// testdata/golden_store.txt. Set HX_UPDATE_GOLDEN=1 to rewrite that file
// after an intended format change (and say so in docs/FORMAT.md).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "hash/blake3.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

struct ScenarioOutput {
  std::map<std::string, std::string> store;
  std::map<std::string, std::string> local_conflicts;  // .hx/conflicts of b
};

void WriteWithMtime(Device& d, const std::string& path, const std::string& contents,
                    std::int64_t seconds) {
  d.Write(path, contents);
  fs::last_write_time(d.vault() / path,
                      fs::file_time_type::clock::time_point(std::chrono::seconds(seconds)));
}

// A fixed history: a creates the vault and pushes, b joins and pulls, both
// edit one file, a pushes, b's pull is refused with a conflict.
ScenarioOutput RunScenario(int extra_files = 0) {
  auto store = MakeFolderStoreFixture();
  Device a(*store, "a", /*seed=*/11);
  Device b(*store, "b", /*seed=*/22);
  EXPECT_TRUE(a.Init(1000).ok());
  // Many files: the scanner's threads finish them in varying order.
  for (int i = 0; i < extra_files; ++i) {
    WriteWithMtime(a, "many/d" + std::to_string(i % 7) + "/f" + std::to_string(i),
                   std::string(100 + i * 37, static_cast<char>('a' + i % 26)) + std::to_string(i),
                   1'600'000'000 + i);
  }
  WriteWithMtime(a, "notes/todo.txt", "milk, eggs", 1'700'000'000);
  WriteWithMtime(a, "README.md", "# vault", 1'700'000'001);
  WriteWithMtime(a, "data/blob.bin", std::string(100000, 'z'), 1'700'000'002);
  EXPECT_TRUE(a.Push(2000).ok());
  EXPECT_TRUE(b.Init(3000).ok());
  EXPECT_TRUE(b.Pull(4000).ok());
  WriteWithMtime(a, "notes/todo.txt", "milk, eggs, bread", 1'700'000'010);
  EXPECT_TRUE(a.Push(5000).ok());
  WriteWithMtime(b, "notes/todo.txt", "milk, eggs, tea", 1'700'000'011);
  auto refused = b.Pull(6000);
  EXPECT_FALSE(refused.ok());
  ScenarioOutput out;
  out.store = store->Objects();
  for (const auto& e : fs::directory_iterator(b.vault() / ".hx" / "conflicts")) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out.local_conflicts[e.path().filename().string()] = s.str();
  }
  return out;
}

bool Pinned(const std::string& key) {
  return key == "head.json" || key == "vault.json" || key.starts_with("snapshots/") ||
         key.starts_with("conflicts/");
}

TEST(SyncDeterminismTest, TwoRunsOfOneHistoryWriteIdenticalBytes) {
  const ScenarioOutput first = RunScenario();
  const ScenarioOutput second = RunScenario();
  ASSERT_EQ(first.store.size(), second.store.size());
  for (const auto& [key, bytes] : first.store) {
    ASSERT_TRUE(second.store.count(key)) << key;
    EXPECT_EQ(second.store.at(key), bytes) << key;
  }
  EXPECT_EQ(first.local_conflicts, second.local_conflicts);
  EXPECT_EQ(first.local_conflicts.size(), 1u);
}

TEST(SyncDeterminismTest, ManyFilesPackIdenticallyInEveryRun) {
  const ScenarioOutput first = RunScenario(/*extra_files=*/400);
  for (int run = 0; run < 2; ++run) {
    const ScenarioOutput again = RunScenario(/*extra_files=*/400);
    EXPECT_EQ(again.store, first.store) << "run " << run;
  }
}

TEST(SyncDeterminismTest, HeadSnapshotsAndConflictArtifactsMatchTheGoldenHashes) {
  const ScenarioOutput out = RunScenario();
  std::ostringstream actual;
  for (const auto& [key, bytes] : out.store) {
    if (Pinned(key)) actual << key << " " << Blake3Hex(bytes) << "\n";
  }
  for (const auto& [name, bytes] : out.local_conflicts) {
    actual << ".hx/conflicts/" << name << " " << Blake3Hex(bytes) << "\n";
  }
  const fs::path golden = fs::path(HX_SOURCE_DIR) / "src/sync/testdata/golden_store.txt";
  if (std::getenv("HX_UPDATE_GOLDEN") != nullptr) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden) << actual.str();
    GTEST_SKIP() << "rewrote " << golden;
  }
  std::ifstream in(golden);
  ASSERT_TRUE(in) << "missing " << golden << " (run with HX_UPDATE_GOLDEN=1 once)";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual.str(), expected.str());
}

}  // namespace
}  // namespace hx::testing
