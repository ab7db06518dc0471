// hx explain over every planner outcome, from the point of view of device b
// of a two-device vault on a folder store: unchanged, a local-only change, a
// remote-only change, both changed (concurrent and equal), delete against
// edit, an ignored path, a path another device locked, a failed object, the
// mass-delete guard. Each case also proves that explain is read-only: the
// store, the folder and .hx/ are byte for byte as they were.
#include "sync/explain.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sync/governance.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

constexpr std::int64_t kHour = 3600 * 1000;

// Every file under .hx/ with its bytes, except the process lock and
// SQLite's WAL side files (opening a database in WAL mode makes them).
std::map<std::string, std::string> LocalStateFiles(const fs::path& vault) {
  std::map<std::string, std::string> out;
  const fs::path dir = vault / ".hx";
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name == "lock" || name.ends_with("-wal") || name.ends_with("-shm")) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out[fs::relative(e.path(), dir).string()] = bytes.str();
  }
  return out;
}

std::string Pseudorandom(std::size_t n, std::uint64_t seed) {
  std::string out(n, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (char& c : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

struct ExplainCase {
  std::string name;
  // Brings devices a and b (both synced on "shared.txt" = "v1") to the state.
  std::function<void(Device& a, Device& b, StoreFixture& store)> setup;
  std::string path;
  std::string decision;
  std::string local_change;
  std::string relation;
  std::string plan_action;
  std::vector<std::string> blockers;  // kinds, in order
  std::string next_contains;          // a substring of one `next` line
};

void PrintTo(const ExplainCase& c, std::ostream* os) { *os << c.name; }

class ExplainTest : public ::testing::TestWithParam<ExplainCase> {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    a_.Write("shared.txt", "v1");
    HX_ASSERT_OK(a_.Push(2000));
    HX_ASSERT_OK(b_.Init(3000));
    HX_ASSERT_OK(b_.Pull(4000));
  }

  std::unique_ptr<StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 11};
  Device b_{*store_, "b", 12};
};

TEST_P(ExplainTest, SaysWhatThePlannerDecidesAndWhatBlocksItChangingNothing) {
  const ExplainCase& c = GetParam();
  c.setup(a_, b_, *store_);

  const auto store_before = store_->Objects();
  const auto folder_before = b_.Snapshot();
  const auto state_before = LocalStateFiles(b_.vault());
  Result<ExplainReport> r = SyncExplain(b_.vault(), b_.options(9000), c.path);
  HX_ASSERT_OK(r);
  EXPECT_EQ(store_->Objects(), store_before) << "explain wrote to the store";
  EXPECT_EQ(b_.Snapshot(), folder_before) << "explain changed the vault folder";
  EXPECT_EQ(LocalStateFiles(b_.vault()), state_before) << "explain changed .hx/";

  const std::string shown = r->ToHuman();
  EXPECT_EQ(r->path, c.path);
  EXPECT_EQ(r->decision, c.decision) << shown;
  EXPECT_EQ(r->local_change, c.local_change) << shown;
  EXPECT_EQ(r->relation, c.relation) << shown;
  EXPECT_EQ(r->plan_action, c.plan_action) << shown;
  std::vector<std::string> kinds;
  for (const ExplainBlocker& b : r->blockers) kinds.push_back(b.kind);
  EXPECT_EQ(kinds, c.blockers) << shown;
  EXPECT_TRUE(std::any_of(r->next.begin(), r->next.end(),
                          [&](const std::string& s) { return s.find(c.next_contains) != std::string::npos; }))
      << "no next step contains '" << c.next_contains << "'\n" << shown;
  // The JSON form carries the same decision and every blocker.
  const nlohmann::json j = r->ToJson();
  EXPECT_EQ(j["decision"], c.decision);
  EXPECT_EQ(j["blockers"].size(), c.blockers.size());
  EXPECT_NE(shown.find("decision: "), std::string::npos);
}

const std::vector<ExplainCase>& Cases() {
  static const auto* cases = new std::vector<ExplainCase>{
      {"Unchanged", [](Device&, Device&, StoreFixture&) {}, "shared.txt", "in_sync", "unchanged",
       "equal", "", {}, "nothing"},
      {"LocalOnlyChange",
       [](Device&, Device& b, StoreFixture&) { b.Write("shared.txt", "v2 from b"); },
       "shared.txt", "push", "modified", "local_newer", "", {}, "hx sync push"},
      {"LocalOnlyAdd", [](Device&, Device& b, StoreFixture&) { b.Write("new/file.txt", "new"); },
       "new/file.txt", "push", "added", "local_newer", "", {}, "hx sync push"},
      {"RemoteOnlyChange",
       [](Device& a, Device&, StoreFixture&) {
         a.Write("shared.txt", "v2 from a");
         ASSERT_TRUE(a.Push(5000).ok());
       },
       "shared.txt", "pull", "unchanged", "remote_newer", "take_remote", {}, "hx sync pull"},
      {"BothChangedConcurrently",
       [](Device& a, Device& b, StoreFixture&) {
         a.Write("shared.txt", "v2 from a");
         ASSERT_TRUE(a.Push(5000).ok());
         b.Write("shared.txt", "v2 from b");
       },
       "shared.txt", "conflict", "modified", "concurrent", "conflict", {"conflict"},
       "--auto-merge keep_both"},
      {"BothMadeTheSameChange",
       [](Device& a, Device& b, StoreFixture&) {
         a.Write("shared.txt", "same v2");
         ASSERT_TRUE(a.Push(5000).ok());
         b.Write("shared.txt", "same v2");
       },
       "shared.txt", "join", "modified", "same_content", "join", {}, "hx sync pull"},
      {"DeleteAgainstEdit",
       [](Device& a, Device& b, StoreFixture&) {
         a.Remove("shared.txt");
         ASSERT_TRUE(a.Push(5000, /*allow_mass_delete=*/true).ok());
         b.Write("shared.txt", "v2 from b");
       },
       "shared.txt", "conflict", "modified", "concurrent", "conflict", {"conflict"},
       "merge-preview"},
      {"Ignored",
       [](Device&, Device& b, StoreFixture&) {
         b.Write(".hxignore", "# private notes\n*.secret\n");
         b.Write("notes.secret", "do not sync");
       },
       "notes.secret", "ignored", "ignored", "equal", "", {"ignored"}, "line 2 of .hxignore"},
      {"LockedByAnotherDevice",
       [](Device& a, Device& b, StoreFixture&) {
         ASSERT_TRUE(SyncLockAdd(a.vault(), a.options(5000), "shared.txt", kHour).ok());
         b.Write("shared.txt", "v2 from b");
       },
       "shared.txt", "push", "modified", "local_newer", "", {"lock"}, "hx lock remove"},
      {"FailedObject",
       [](Device& a, Device& b, StoreFixture& store) {
         a.Write("big.bin", Pseudorandom(2 << 20, 7));
         ASSERT_TRUE(a.Push(5000).ok());
         // Damage the largest pack (the one holding big.bin's chunk).
         std::string victim;
         std::size_t largest = 0;
         for (const auto& [key, bytes] : store.Objects()) {
           if (key.starts_with("blobs/") && bytes.size() > largest) {
             largest = bytes.size();
             victim = key;
           }
         }
         ASSERT_FALSE(victim.empty());
         std::string bytes = store.Objects().at(victim);
         bytes[bytes.size() / 3] ^= 0x40;
         store.Overwrite(victim, bytes);
         Result<PullReport> pulled = b.Pull(6000);
         ASSERT_TRUE(pulled.ok());
         ASSERT_EQ(pulled->outcome, "partial");
       },
       "big.bin", "pull", "unchanged", "remote_newer", "take_remote", {"failed_item"},
       "push it again from a device that has it"},
      {"MassDeleteGuard",
       [](Device& a, Device& b, StoreFixture&) {
         for (int i = 0; i < 9; ++i) a.Write("f" + std::to_string(i), "x" + std::to_string(i));
         ASSERT_TRUE(a.Push(5000).ok());
         ASSERT_TRUE(b.Pull(6000).ok());
         for (int i = 0; i < 9; ++i) b.Remove("f" + std::to_string(i));
       },
       "f3", "push", "deleted", "local_newer", "", {"mass_delete"}, "--allow-mass-delete"},
  };
  return *cases;
}

INSTANTIATE_TEST_SUITE_P(Outcomes, ExplainTest, ::testing::ValuesIn(Cases()),
                         [](const auto& test) { return test.param.name; });

TEST(ExplainWordsTest, VersionVectorsInWordsNameTheLastChangeAndWhatItIncludes) {
  EXPECT_EQ(VersionVectorInWords({}, "aa"), "no history");
  EXPECT_EQ(VersionVectorInWords({{"aaaaaaaaaaaa", 1}}, "aaaaaaaaaaaa"),
            "last changed by this device (aaaaaaaa) (counter 1)");
  EXPECT_EQ(VersionVectorInWords({{"aaaaaaaaaaaa", 1}, {"bbbbbbbbbbbb", 3}, {"cccccccccccc", 2}},
                                 "aaaaaaaaaaaa"),
            "last changed by device bbbbbbbb (counter 3); includes the changes of device "
            "cccccccc up to 2, this device (aaaaaaaa) up to 1");
}

TEST(ExplainPathTest, APathOutsideTheVaultOrIntoHxIsRefused) {
  auto store = MakeFolderStoreFixture();
  Device a(*store, "a", 3);
  HX_ASSERT_OK(a.Init(1000));
  Result<ExplainReport> outside = SyncExplain(a.vault(), a.options(2000), "/etc/passwd");
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code, SyncCode::kInputInvalid);
  Result<ExplainReport> up = SyncExplain(a.vault(), a.options(2000), "../x");
  ASSERT_FALSE(up.ok());
  EXPECT_TRUE(up.error().message.starts_with("invalid path:")) << up.error().message;
  Result<ExplainReport> state = SyncExplain(a.vault(), a.options(2000), ".hx/key");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, SyncCode::kInputInvalid);
  // An absolute path inside the vault is the same as the relative one.
  a.Write("doc.txt", "d");
  Result<ExplainReport> absolute = SyncExplain(a.vault(), a.options(2000),
                                               (a.vault() / "doc.txt").string());
  HX_ASSERT_OK(absolute);
  EXPECT_EQ(absolute->path, "doc.txt");
  EXPECT_EQ(absolute->decision, "push");
  EXPECT_EQ(absolute->local_change, "added");
}

}  // namespace
}  // namespace hx
