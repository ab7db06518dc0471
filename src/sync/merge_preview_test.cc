// The merge preview of real vaults: change sets from entries, the decision
// on divergent devices, that a preview changes nothing, and that equivalent
// situations on two devices give byte-identical reports.
#include "sync/merge_preview.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "json/canonical_json.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

std::string H(std::string_view path) { return ObjectHashOfPath(path); }

Entry File(std::uint64_t size, std::uint8_t chunk_byte, bool executable = false) {
  Entry e;
  e.kind = EntryKind::kFile;
  e.size = size;
  ChunkRef chunk;
  chunk.id.fill(chunk_byte);
  chunk.size = size;
  e.chunks = {chunk};
  e.executable = executable;
  return e;
}

Entry Dir() {
  Entry e;
  e.kind = EntryKind::kDir;
  return e;
}

Entry Link(std::string target) {
  Entry e;
  e.kind = EntryKind::kSymlink;
  e.symlink_target = std::move(target);
  return e;
}

Entry Tombstone() {
  Entry e;
  e.kind = EntryKind::kTombstone;
  return e;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(ChangeSetBetween, ContentCreationAndDeletionAreObjectHashesOfThePath) {
  const EntryMap base = {{"a", File(1, 1)}, {"b", File(2, 2)}, {"c", File(3, 3)}};
  const EntryMap side = {{"a", File(1, 9)}, {"b", Tombstone()}, {"c", File(3, 3)},
                         {"d", File(4, 4)}};
  const SyncMergeChangeSetV1 set = ChangeSetBetween(base, side);
  EXPECT_EQ(set.object_hashes, Sorted({H("a"), H("b"), H("d")}));
  EXPECT_TRUE(set.overlay_ids.empty());
}

TEST(ChangeSetBetween, MetadataOnlyChangesAddAnOverlayIdToTheObjectHash) {
  const EntryMap base = {{"run.sh", File(1, 1)}, {"l", Link("x")}, {"gone", Dir()}};
  const EntryMap side = {{"run.sh", File(1, 1, true)}, {"l", Link("y")}, {"new", Dir()}};
  const SyncMergeChangeSetV1 set = ChangeSetBetween(base, side);
  EXPECT_EQ(set.object_hashes, Sorted({H("run.sh"), H("l")}));
  EXPECT_EQ(set.overlay_ids,
            Sorted({"mode:" + H("run.sh"), "symlink:" + H("l"), "dir_created:" + H("new"),
                    "dir_removed:" + H("gone")}));
}

TEST(ChangeSetBetween, MtimesVectorsAndTombstonesOfAbsentPathsAreNoChange) {
  Entry touched = File(1, 1);
  touched.mtime_ns = 99;
  touched.vv.Bump("00112233445566778899aabbccddeeff");
  const EntryMap base = {{"a", File(1, 1)}, {"d", Dir()}, {"t", Tombstone()}};
  const EntryMap side = {{"a", touched}, {"d", Dir()}, {"u", Tombstone()}};
  EXPECT_TRUE(ChangeSetBetween(base, side).empty());
  EXPECT_TRUE(ChangeSetBetween(side, side).empty());
}

TEST(ChangeSetBetween, ADirectoryReplacedByAFileIsRemovalPlusTheFile) {
  const SyncMergeChangeSetV1 set =
      ChangeSetBetween({{"x", Dir()}}, {{"x", File(1, 1)}});
  EXPECT_EQ(set.object_hashes, std::vector<std::string>{H("x")});
  EXPECT_EQ(set.overlay_ids, std::vector<std::string>{"dir_removed:" + H("x")});
}

// Every file under `root` (the vault with its .hx/, or the store): path -> bytes.
std::map<std::string, std::string> AllBytes(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_symlink()) {
      out[entry.path().lexically_relative(root).string()] = "link:" +
                                                             fs::read_symlink(entry).string();
    } else if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      out[entry.path().lexically_relative(root).string()] = bytes.str();
    }
  }
  return out;
}

class MergePreviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    a_.Write("shared.txt", "v1");
    a_.Write("notes/a.txt", "a1");
    HX_ASSERT_OK(a_.Push(2000));
    HX_ASSERT_OK(b_.Init(3000));
    HX_ASSERT_OK(b_.Pull(4000));
  }

  Result<MergePreviewReport> Preview(const Device& device, MergePolicy policy,
                                     std::int64_t now_ms = 9000) {
    return SyncMergePreview(device.vault(), device.options(now_ms), policy);
  }

  static std::string Bytes(const MergePreviewReport& report) {
    Result<std::string> bytes = WriteCanonicalJson(report.ToJson());
    EXPECT_TRUE(bytes.ok());
    return bytes.ok() ? *bytes : std::string();
  }

  std::unique_ptr<StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  Device b_{*store_, "b", 2};
};

TEST_F(MergePreviewTest, DisjointChangesAreSafeUnderConservative) {
  a_.Write("shared.txt", "v2 from a");
  HX_ASSERT_OK(a_.Push(5000));
  b_.Write("notes/b.txt", "new on b");

  Result<MergePreviewReport> report = Preview(b_, MergePolicy::kConservative);
  HX_ASSERT_OK(report);
  ASSERT_TRUE(std::holds_alternative<SyncMergePreviewReportV1>(report->report));
  const auto& v1 = std::get<SyncMergePreviewReportV1>(report->report);
  EXPECT_TRUE(v1.safe);
  EXPECT_EQ(v1.local.object_hashes, std::vector<std::string>{H("notes/b.txt")});
  EXPECT_EQ(v1.remote.object_hashes, std::vector<std::string>{H("shared.txt")});
  EXPECT_EQ(v1.generated_at_ms, 9000);
  EXPECT_TRUE(EnsureConservativeMergeSafe(v1).ok());
}

TEST_F(MergePreviewTest, TheSamePathChangedOnBothSidesIsNotSafe) {
  a_.Write("shared.txt", "v2 from a");
  HX_ASSERT_OK(a_.Push(5000));
  b_.Write("shared.txt", "v2 from b");

  for (const MergePolicy policy :
       {MergePolicy::kConservative, MergePolicy::kConservativePlusV2,
        MergePolicy::kConservativePlusV3, MergePolicy::kConservativePlusV4}) {
    Result<MergePreviewReport> report = Preview(b_, policy);
    HX_ASSERT_OK(report);
    EXPECT_FALSE(report->safe()) << MergePolicyName(policy);
    const nlohmann::json json = report->ToJson();
    EXPECT_EQ(json["overlap"]["object_hashes"], nlohmann::json::array({H("shared.txt")}));
  }
  Result<MergePreviewReport> v2 = Preview(b_, MergePolicy::kConservativePlusV2);
  HX_ASSERT_OK(v2);
  EXPECT_EQ(EnsureMergeSafe(std::get<SyncMergePreviewReportV2>(v2->report)).error().code,
            SyncCode::kMergeNotSafe);
}

TEST_F(MergePreviewTest, ResolvingPoliciesListTheConflictsWithPathsAndActions) {
  a_.Write("shared.txt", "v2 from a");
  HX_ASSERT_OK(a_.Push(5000));
  b_.Write("shared.txt", "v2 from b");
  const std::vector<std::pair<MergePolicy, std::string>> expected = {
      {MergePolicy::kNone, "conflict"},
      {MergePolicy::kKeepBoth, "kept_both"},
      {MergePolicy::kLocalPreferred, "kept_local"},
      {MergePolicy::kCloudPreferred, "kept_remote"},
      {MergePolicy::kManualPerItem, "await_decision"},
  };
  for (const auto& [policy, action] : expected) {
    Result<MergePreviewReport> report = Preview(b_, policy);
    HX_ASSERT_OK(report);
    const auto& v2 = std::get<SyncMergePreviewReportV2>(report->report);
    ASSERT_EQ(v2.items.size(), 1u) << MergePolicyName(policy);
    EXPECT_EQ(v2.items[0].path, "shared.txt");
    EXPECT_EQ(v2.items[0].object_hash, H("shared.txt"));
    EXPECT_EQ(v2.items[0].action, action);
    // keep_both names the renamed version exactly as the pull will.
    EXPECT_EQ(v2.items[0].renamed_to.empty(), policy != MergePolicy::kKeepBoth);
  }
  Result<MergePreviewReport> keep_both = Preview(b_, MergePolicy::kKeepBoth);
  HX_ASSERT_OK(keep_both);
  const std::string renamed = std::get<SyncMergePreviewReportV2>(keep_both->report).items[0].renamed_to;
  SyncOptions options = b_.options(9500);
  options.auto_merge = MergePolicy::kKeepBoth;
  Result<PullReport> pull = SyncPull(b_.vault(), options);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 1u);
  EXPECT_EQ(pull->resolutions[0].renamed_to.value_or(""), renamed);
}

TEST_F(MergePreviewTest, APreviewChangesNeitherTheVaultNorTheStore) {
  a_.Write("shared.txt", "v2 from a");
  HX_ASSERT_OK(a_.Push(5000));
  b_.Write("shared.txt", "v2 from b");
  b_.Write("new.txt", "new");
  // One status first so that whatever opening the index does once has happened.
  HX_ASSERT_OK(b_.Status(6000));
  const auto vault_before = AllBytes(b_.vault());
  const auto store_before = store_->Objects();
  for (const MergePolicy policy : kAllMergePolicies) {
    HX_ASSERT_OK(Preview(b_, policy));
  }
  EXPECT_EQ(AllBytes(b_.vault()), vault_before);
  EXPECT_EQ(store_->Objects(), store_before);
}

TEST_F(MergePreviewTest, EquivalentSituationsOnTwoDevicesGiveIdenticalBytes) {
  Device c{*store_, "c", 3};
  HX_ASSERT_OK(c.Init(3500));
  HX_ASSERT_OK(c.Pull(4500));
  a_.Write("shared.txt", "v2 from a");
  HX_ASSERT_OK(a_.Push(5000));
  // b and c make the same change (to different bytes even) at the same path.
  b_.Write("shared.txt", "b's edit");
  c.Write("shared.txt", "c's edit");
  b_.Write("notes/x.txt", "x");
  c.Write("notes/x.txt", "x");
  for (const MergePolicy policy : kAllMergePolicies) {
    Result<MergePreviewReport> on_b = Preview(b_, policy);
    Result<MergePreviewReport> on_c = Preview(c, policy);
    HX_ASSERT_OK(on_b);
    HX_ASSERT_OK(on_c);
    if (policy == MergePolicy::kKeepBoth) {
      // The conflict copy's name says which device made the losing change
      // (sync/resolve.h ConflictCopyName), so it differs; the rest may not.
      for (MergePreviewReport* report : {&*on_b, &*on_c}) {
        for (SyncMergeItemV2& item : std::get<SyncMergePreviewReportV2>(report->report).items) {
          EXPECT_FALSE(item.renamed_to.empty());
          item.renamed_to.clear();
        }
      }
    }
    EXPECT_EQ(Bytes(*on_b), Bytes(*on_c)) << MergePolicyName(policy);
    // And across runs.
    Result<MergePreviewReport> first = Preview(b_, policy);
    Result<MergePreviewReport> again = Preview(b_, policy);
    HX_ASSERT_OK(first);
    HX_ASSERT_OK(again);
    EXPECT_EQ(Bytes(*again), Bytes(*first));
  }
}

TEST_F(MergePreviewTest, AnUpToDateVaultStillReportsItsLocalChanges) {
  b_.Write("notes/a.txt", "edited");
  Result<MergePreviewReport> report = Preview(b_, MergePolicy::kConservativePlusV2);
  HX_ASSERT_OK(report);
  const auto& v2 = std::get<SyncMergePreviewReportV2>(report->report);
  EXPECT_EQ(v2.local.object_hashes, std::vector<std::string>{H("notes/a.txt")});
  EXPECT_TRUE(v2.remote.empty());
  EXPECT_TRUE(v2.safe);
}

TEST_F(MergePreviewTest, ANonVaultFolderIsAnError) {
  testing::TempDir empty;
  SyncOptions options = b_.options(1);
  Result<MergePreviewReport> report =
      SyncMergePreview(empty.path(), options, MergePolicy::kConservative);
  ASSERT_FALSE(report.ok());
}

}  // namespace
}  // namespace hx
