// DetectLocalChangesOfScan must decide exactly what the two-step form
// DetectLocalChanges(base, ScannedWithBase(base, scan)) decides: it is the
// same rule without the intermediate copy of the scan.
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "index/index.h"
#include "scan/baseline.h"
#include "sync/internal.h"
#include "sync/planner.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

constexpr std::string_view kNode = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

Entry MakeEntry(int kind, int content) {
  Entry e;
  e.kind = static_cast<EntryKind>(kind);
  if (e.kind == EntryKind::kFile) {
    ChunkRef c;
    c.id.fill(static_cast<std::uint8_t>(content));
    c.size = 1 + static_cast<std::uint64_t>(content);
    e.size = c.size;
    e.chunks.push_back(c);
  } else if (e.kind == EntryKind::kSymlink) {
    e.symlink_target = "t" + std::to_string(content);
  }
  return e;
}

// Paths from a small alphabet, so that parents, children, errors and
// ignore patterns overlap often.
rc::Gen<std::string> GenPath() {
  return rc::gen::exec([] {
    const auto depth = static_cast<std::size_t>(*rc::gen::inRange(1, 4));
    const auto parts = *rc::gen::container<std::vector<std::string>>(
        depth, rc::gen::element<std::string>("a", "b", "c", "tmp", "x.log"));
    std::string path;
    for (const std::string& part : parts) path += (path.empty() ? "" : "/") + part;
    return path;
  });
}

EntryMap GenEntries(bool allow_tombstones) {
  EntryMap out;
  const auto paths = *rc::gen::container<std::vector<std::string>>(GenPath());
  for (const std::string& path : paths) {
    const int kind = *rc::gen::inRange(0, allow_tombstones ? 4 : 3);
    Entry e = MakeEntry(kind, *rc::gen::inRange(0, 3));
    e.vv = VersionVector({{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                           static_cast<std::uint64_t>(*rc::gen::inRange(1, 4))}});
    out.emplace(path, std::move(e));
  }
  return out;
}

RC_GTEST_PROP(DetectLocalChangesOfScan, DecidesExactlyWhatTheTwoStepFormDecides, ()) {
  BaseState base;
  base.entries = GenEntries(/*allow_tombstones=*/true);
  ScanResult scan;
  scan.entries = GenEntries(/*allow_tombstones=*/false);
  const auto error_count = static_cast<std::size_t>(*rc::gen::inRange(0, 3));
  for (const std::string& path :
       *rc::gen::unique<std::vector<std::string>>(error_count, GenPath())) {
    scan.errors.push_back({path, Error(SyncCode::kStateFailed, Category::kIo, "unreadable")});
  }
  std::sort(scan.errors.begin(), scan.errors.end(),
            [](const ScanError& x, const ScanError& y) { return x.path < y.path; });
  scan.ignore_rules = IgnoreRules::Parse(
      *rc::gen::element<std::string>("", "*.log\n", "tmp/\n", "/b\n!b/c\n"));

  const LocalChanges fused = DetectLocalChangesOfScan(base, scan, kNode);
  const LocalChanges two_step =
      DetectLocalChanges(base.entries, ScannedWithBase(base, scan), kNode);
  RC_ASSERT(fused.state == two_step.state);
  RC_ASSERT(fused.added == two_step.added);
  RC_ASSERT(fused.modified == two_step.modified);
  RC_ASSERT(fused.deleted == two_step.deleted);

  // The lighter forms give the same lists; the state only when asked.
  const LocalChanges lists = DetectLocalChangesOfScan(base, scan, kNode, StateWanted::kNever);
  RC_ASSERT(lists.added == fused.added && lists.modified == fused.modified &&
            lists.deleted == fused.deleted);
  RC_ASSERT(lists.state.empty());
  const LocalChanges if_changed =
      DetectLocalChangesOfScan(base, scan, kNode, StateWanted::kIfChanged);
  RC_ASSERT(if_changed.state == (fused.empty() ? EntryMap() : fused.state));

  // Taking the scan's entries instead of copying them changes nothing.
  ScanResult consumed = scan;
  const LocalChanges taken = TakeLocalChangesOfScan(base, consumed, kNode);
  RC_ASSERT(taken.state == if_changed.state);
  RC_ASSERT(taken.added == fused.added && taken.modified == fused.modified &&
            taken.deleted == fused.deleted);
  RC_ASSERT(consumed.entries.empty() == !fused.empty() || scan.entries.empty());
}

TEST(DetectLocalChangesOfScan, AnUnreadableDirectoryKeepsItsBaseSubtree) {
  BaseState base;
  base.entries = {{"d", MakeEntry(1, 0)}, {"d/f", MakeEntry(0, 1)}, {"g", MakeEntry(0, 2)}};
  for (auto& [path, entry] : base.entries) entry.vv.Bump("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ScanResult scan;
  scan.errors.push_back({"d", Error(SyncCode::kStateFailed, Category::kAuth, "denied")});
  const LocalChanges c = DetectLocalChangesOfScan(base, scan, kNode);
  EXPECT_EQ(c.deleted, std::vector<std::string>{"g"});
  EXPECT_EQ(c.state.at("d/f"), base.entries.at("d/f"));
}

TEST(DetectLocalChangesOfScan, ASiblingSortingBeforeTheSlashDoesNotEndAReplacedDirectorysShadow) {
  // d/ became a file d, and files d-x and d.txt sort between "d" and "d/":
  // d's ignored child is still beneath a file, so deleted (the comparison
  // once forgot d's leaf at d-x and kept it).
  BaseState base;
  base.entries = {{"d", MakeEntry(1, 0)}, {"d/keep.log", MakeEntry(0, 4)}};
  for (auto& [path, entry] : base.entries) entry.vv.Bump("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ScanResult scan;
  scan.entries = {{"d", MakeEntry(0, 5)}, {"d-x", MakeEntry(0, 1)}, {"d.txt", MakeEntry(0, 2)}};
  scan.ignore_rules = IgnoreRules::Parse("*.log\n");
  const LocalChanges c = DetectLocalChangesOfScan(base, scan, kNode);
  EXPECT_EQ(c.modified, std::vector<std::string>{"d"});
  EXPECT_EQ(c.added, (std::vector<std::string>{"d-x", "d.txt"}));
  EXPECT_EQ(c.deleted, std::vector<std::string>{"d/keep.log"});
  EXPECT_EQ(c.state.at("d/keep.log").kind, EntryKind::kTombstone);
}

TEST(DetectLocalChangesOfScan, ADirectoryReplacedByAFileKeepsItsChildrensTombstonesBeneathIt) {
  // The user removed d/ (with d/x and the tombstone d/old) and made a file d:
  // the children are deleted, and their tombstones stay beneath the file
  // (its tree's "shadow"), so that other devices delete them too. A child
  // the scan could not know about (now ignored) cannot live beneath a file:
  // deleted as well.
  BaseState base;
  base.entries = {{"d", MakeEntry(1, 0)},
                  {"d/ignored.tmp", MakeEntry(0, 4)},
                  {"d/old", MakeEntry(3, 0)},
                  {"d/x", MakeEntry(0, 1)},
                  {"e", MakeEntry(0, 2)}};
  for (auto& [path, entry] : base.entries) entry.vv.Bump("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ScanResult scan;
  scan.entries = {{"d", MakeEntry(0, 5)}, {"e", MakeEntry(0, 2)}};
  scan.ignore_rules = IgnoreRules::Parse("*.tmp\n");
  const LocalChanges c = DetectLocalChangesOfScan(base, scan, kNode);
  EXPECT_EQ(c.modified, std::vector<std::string>{"d"});
  EXPECT_EQ(c.deleted, (std::vector<std::string>{"d/ignored.tmp", "d/x"}));
  EXPECT_EQ(c.state.at("d").kind, EntryKind::kFile);
  for (const char* child : {"d/ignored.tmp", "d/x"}) {
    EXPECT_EQ(c.state.at(child).kind, EntryKind::kTombstone) << child;
    EXPECT_EQ(base.entries.at(child).vv.Compare(c.state.at(child).vv), VvOrder::kBefore) << child;
  }
  EXPECT_EQ(c.state.at("d/old"), base.entries.at("d/old"));  // an old tombstone as it was
  const auto built = BuildTrees(c.state, [](std::string_view bytes) {
    ObjectId id{};
    for (std::size_t i = 0; i < bytes.size(); ++i) id[i % id.size()] ^= static_cast<std::uint8_t>(bytes[i]);
    return id;
  });
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(built->tree_ids.count("d"), 1u);
}

// --- The no-change fast path: the scan baseline (local_changes.h) --------

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

// Files younger than the scanner's racy window (2 s) never go into a
// baseline: the tests that need one let their files age first.
void AgePastTheRacyWindow() { std::this_thread::sleep_for(std::chrono::milliseconds(2100)); }

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

fs::path BaselineFile(const Device& d) { return d.vault() / ".hx" / "baseline"; }
fs::path IndexFile(const Device& d) { return d.vault() / ".hx" / "index.sqlite"; }

// What a baseline of the current base is tagged with: the base token, the
// base snapshot and the head seq.
std::string BaseKey(const Device& d) {
  Result<std::unique_ptr<Index>> index = Index::Open(IndexFile(d));
  EXPECT_TRUE(index.ok());
  if (!index.ok()) return "";
  const auto meta = [&](std::string_view key) { return (*index)->GetMeta(key)->value_or("-"); };
  return meta(kMetaBaseToken) + ":" + meta(kMetaBaseSnapshotId) + ":" + meta(kMetaBaseHeadSeq);
}

// Whether .hx/baseline parses and names the index's current base.
bool BaselineIsCurrent(const Device& d) {
  const std::string bytes = ReadAll(BaselineFile(d));
  Result<BaselineView> view = ParseBaseline(bytes);
  return view.ok() && view->token() == BaseKey(d);
}

// Makes the stat cache unloadable (a row whose chunks do not sum to its
// size) without touching the base token: a sync that loads the base and
// the stat cache then fails, one that trusts the baseline does not. That is
// how the tests see which path was taken.
void PoisonStatCache(const Device& d) {
  Result<std::unique_ptr<Index>> index = Index::Open(IndexFile(d));
  ASSERT_TRUE(index.ok());
  Result<Index::Transaction> txn = (*index)->Begin();
  ASSERT_TRUE(txn.ok());
  StatCacheEntry bad;
  bad.stat.size = 5;
  ASSERT_TRUE(txn->PutStat("poison", bad).ok());
  ASSERT_TRUE(txn->Commit().ok());
}

class BaselineSyncTest : public ::testing::Test {
 protected:
  BaselineSyncTest() : store_(MakeFolderStoreFixture()), a_(*store_, "a", 1) {}

  // A vault pushed once, aged, and a status that found no change (and so
  // wrote the baseline).
  void SetUpSyncedVault() {
    HX_ASSERT_OK(a_.Init());
    a_.Write("a.txt", "hello");
    a_.Write("dir/sub/deep.txt", "deep");
    a_.Write("dir/other.txt", "other");
    fs::create_directories(a_.vault() / "empty");
    fs::create_symlink("a.txt", a_.vault() / "link");
    HX_ASSERT_OK(a_.Push(2000));
    AgePastTheRacyWindow();
    Result<StatusReport> status = a_.Status(3000);
    HX_ASSERT_OK(status);
    EXPECT_EQ(status->local_changes.added + status->local_changes.modified +
                  status->local_changes.deleted,
              0u);
    ASSERT_TRUE(BaselineIsCurrent(a_));
  }

  std::unique_ptr<StoreFixture> store_;
  Device a_;
};

TEST_F(BaselineSyncTest, AnUnchangedVaultIsRecognisedWithoutLoadingTheBase) {
  SetUpSyncedVault();
  PoisonStatCache(a_);
  Result<StatusReport> status = a_.Status(4000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.added + status->local_changes.modified +
                status->local_changes.deleted,
            0u);
  EXPECT_TRUE(status->scan_issues.empty());
  Result<PushReport> push = a_.Push(5000);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "up_to_date");
  EXPECT_EQ(push->files_hashed, 0u);
  // A change sends both to the full comparison (which meets the poison).
  a_.Write("a.txt", "hello!");
  EXPECT_FALSE(a_.Status(6000).ok());
  EXPECT_FALSE(a_.Push(7000).ok());
}

TEST_F(BaselineSyncTest, ChangesMadeAfterTheBaselineAreAllSeenAndPublished) {
  SetUpSyncedVault();
  Device b(*store_, "b", 2);
  HX_ASSERT_OK(b.Init());
  HX_ASSERT_OK(b.Pull(3500));
  // Same size, mtime put back: only ctime and the content differ.
  struct stat st {};
  ASSERT_EQ(::lstat((a_.vault() / "a.txt").c_str(), &st), 0);
  a_.Write("a.txt", "jello");
  const struct timespec times[2] = {{0, UTIME_OMIT}, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (a_.vault() / "a.txt").c_str(), times, 0), 0);
  a_.Remove("dir/other.txt");
  fs::create_directory(a_.vault() / "dir/sub/new_empty");
  fs::remove(a_.vault() / "link");
  fs::create_symlink("b.txt", a_.vault() / "link");
  fs::permissions(a_.vault() / "dir/sub/deep.txt", fs::perms::owner_exec, fs::perm_options::add);
  Result<StatusReport> status = a_.Status(4000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.added, 1u);
  EXPECT_EQ(status->local_changes.modified, 3u);
  EXPECT_EQ(status->local_changes.deleted, 1u);
  EXPECT_EQ(status->local_changes.paths,
            (std::vector<std::string>{"a.txt", "dir/other.txt", "dir/sub/deep.txt",
                                      "dir/sub/new_empty", "link"}));
  Result<PushReport> push = a_.Push(5000);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "published");
  HX_ASSERT_OK(b.Pull(6000));
  EXPECT_EQ(b.Snapshot(), a_.Snapshot());
}

TEST_F(BaselineSyncTest, AnHxignoreEditThatUncoversADeletionIsSeen) {
  HX_ASSERT_OK(a_.Init());
  a_.Write("build/x.o", "object");
  a_.Write("keep.txt", "k");
  HX_ASSERT_OK(a_.Push(2000));
  // .hxignore ignores itself, so only its bytes (not its stat) say it changed.
  a_.Write(".hxignore", ".hxignore\nbuild/\n");
  fs::remove_all(a_.vault() / "build");  // ignored now: not a deletion
  AgePastTheRacyWindow();
  Result<StatusReport> status = a_.Status(3000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.deleted, 0u);
  ASSERT_TRUE(BaselineIsCurrent(a_));
  a_.Write(".hxignore", ".hxignore\n");  // build/ no longer ignored, and gone
  status = a_.Status(4000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.deleted, 2u);
  EXPECT_EQ(status->local_changes.paths, (std::vector<std::string>{"build", "build/x.o"}));
}

TEST_F(BaselineSyncTest, AMissingDamagedOrForeignBaselineIsIgnoredAndRebuilt) {
  SetUpSyncedVault();
  const std::string good = ReadAll(BaselineFile(a_));
  const auto expect_unchanged_and_rebuilt = [&](const char* what) {
    SCOPED_TRACE(what);
    Result<StatusReport> status = a_.Status(4000);
    HX_ASSERT_OK(status);
    EXPECT_EQ(status->local_changes.added + status->local_changes.modified +
                  status->local_changes.deleted,
              0u);
    EXPECT_TRUE(BaselineIsCurrent(a_));
  };
  fs::remove(BaselineFile(a_));
  expect_unchanged_and_rebuilt("missing");
  WriteAll(BaselineFile(a_), "garbage");
  expect_unchanged_and_rebuilt("garbage");
  WriteAll(BaselineFile(a_), good.substr(0, good.size() / 2));
  expect_unchanged_and_rebuilt("truncated");
  WriteAll(BaselineFile(a_), "");
  expect_unchanged_and_rebuilt("empty");
  fs::remove(BaselineFile(a_));
  fs::create_directory(BaselineFile(a_));
  Result<StatusReport> status = a_.Status(4000);
  HX_ASSERT_OK(status);  // a directory in its place: a miss, and not rewritable
  fs::remove(BaselineFile(a_));

  // A baseline of this very folder for another base is not trusted.
  Result<BaselineView> view = ParseBaseline(good);
  ASSERT_TRUE(view.ok());
  std::vector<std::pair<std::string, std::vector<BaselineChild>>> dirs;
  for (const BaselineView::Dir& dir : view->dirs()) {
    dirs.emplace_back(std::string(dir.path), view->Children(dir));
  }
  WriteAll(BaselineFile(a_),
           EncodeBaselineFile(MakeScanBaseline(view->ignore_digest(), dirs), "another base"));
  PoisonStatCache(a_);
  EXPECT_FALSE(a_.Status(5000).ok()) << "the full comparison ran (and met the poison)";
  WriteAll(BaselineFile(a_), EncodeBaselineFile(MakeScanBaseline(view->ignore_digest(), dirs),
                                                BaseKey(a_)));
  EXPECT_TRUE(a_.Status(5000).ok()) << "the same baseline for this base is trusted";
}

TEST_F(BaselineSyncTest, AnIndexFromAnHxWithoutBaseTokensGetsOneAndThenABaseline) {
  SetUpSyncedVault();
  {
    Result<std::unique_ptr<Index>> index = Index::Open(IndexFile(a_));
    ASSERT_TRUE(index.ok());
    Result<Index::Transaction> txn = (*index)->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->DeleteMeta(kMetaBaseToken).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  PoisonStatCache(a_);
  EXPECT_FALSE(a_.Status(4000).ok()) << "no token: the old baseline is not trusted";
  // (Poison removed: the full comparison then succeeds and tags a baseline.)
  {
    Result<std::unique_ptr<Index>> index = Index::Open(IndexFile(a_));
    ASSERT_TRUE(index.ok());
    Result<Index::Transaction> txn = (*index)->Begin();
    ASSERT_TRUE(txn->DeleteStat("poison").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  HX_ASSERT_OK(a_.Status(5000));
  EXPECT_EQ(BaseKey(a_).size(), 32u + 1 + 64 + 1 + 1) << BaseKey(a_);
  EXPECT_TRUE(BaselineIsCurrent(a_));
  // A base moved by an hx that does not renew the token (only the snapshot
  // and seq move) is noticed as well.
  {
    Result<std::unique_ptr<Index>> index = Index::Open(IndexFile(a_));
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->SetMeta(kMetaBaseHeadSeq, "99").ok());
  }
  EXPECT_FALSE(BaselineIsCurrent(a_));
}

// The push commits its new base, then writes the baseline. Whichever of the
// two a crash loses, the next run must see exactly what changed.
TEST_F(BaselineSyncTest, ACrashBetweenTheIndexAndTheBaselineLeavesNothingWrong) {
  SetUpSyncedVault();
  const std::string old_baseline = ReadAll(BaselineFile(a_));
  const std::string old_index = ReadAll(IndexFile(a_));
  ASSERT_FALSE(fs::exists(IndexFile(a_).string() + "-wal") &&
               fs::file_size(IndexFile(a_).string() + "-wal") > 0);
  a_.Write("new.txt", "new");
  AgePastTheRacyWindow();  // so that the push writes a baseline too
  Result<PushReport> push = a_.Push(4000);
  HX_ASSERT_OK(push);
  ASSERT_EQ(push->outcome, "published");
  ASSERT_TRUE(BaselineIsCurrent(a_));
  const std::string new_baseline = ReadAll(BaselineFile(a_));

  // Lost: the baseline write (the old one is still there). The folder is
  // the new base: no change.
  WriteAll(BaselineFile(a_), old_baseline);
  Result<StatusReport> status = a_.Status(5000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.added, 0u);
  EXPECT_TRUE(BaselineIsCurrent(a_)) << "rebuilt";

  // Lost: the index commit, with the baseline already written (the order
  // hx never uses): the base is the old one, so new.txt is a change, and the
  // baseline of the new folder must not hide it.
  WriteAll(IndexFile(a_), old_index);
  WriteAll(BaselineFile(a_), new_baseline);
  status = a_.Status(6000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.added, 1u);
  EXPECT_EQ(status->local_changes.paths, std::vector<std::string>{"new.txt"});
  // And the push finishes the bookkeeping of its own published snapshot.
  push = a_.Push(7000);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "published");
  status = a_.Status(8000);
  HX_ASSERT_OK(status);
  EXPECT_EQ(status->local_changes.added, 0u);
}

// The agent's scoped push (SyncOptions::scope): exactly the changes at its
// paths (a file, a deleted directory, a directory moved, one replaced by a
// file, a new nested directory), as a full push would publish them, and
// nothing elsewhere; the full push that follows finds only what the scope
// left out (an extra tombstone or a missed change would show there), and
// the stat cache of the unlisted directories survives (nothing re-hashed).
TEST_F(BaselineSyncTest, AScopedPushPublishesExactlyTheChangesAtItsPaths) {
  HX_ASSERT_OK(a_.Init());
  a_.Write("dir/a.txt", "a");
  a_.Write("dir/keep.txt", "keep");
  a_.Write("old/x.txt", "x");
  a_.Write("old/sub/y.txt", "y");
  a_.Write("m/one.txt", "one");
  a_.Write("m/deep/two.txt", "two");
  a_.Write("r/inside.txt", "inside");
  a_.Write("elsewhere/z.txt", "z");
  a_.Write("elsewhere/deep/w.txt", "w");
  AgePastTheRacyWindow();  // every file in the stat cache
  HX_ASSERT_OK(a_.Push(2000));
  Device b(*store_, "b", 2);
  HX_ASSERT_OK(b.Init());
  HX_ASSERT_OK(b.Pull(2500));

  a_.Write("dir/a.txt", "a, edited");
  fs::remove_all(a_.vault() / "old");
  fs::create_directories(a_.vault() / "n");
  fs::rename(a_.vault() / "m", a_.vault() / "n/m2");
  fs::remove_all(a_.vault() / "r");
  a_.Write("r", "now a file");
  a_.Write("new/deep/x.txt", "new");
  a_.Write("elsewhere/z.txt", "z, edited outside the scope");
  AgePastTheRacyWindow();

  SyncOptions scoped = a_.options(3000);
  scoped.scope = std::vector<std::string>{"dir/a.txt", "old", "m", "n/m2", "r", "new"};
  scoped.allow_mass_delete = true;  // 5 of 9 files (moved ones included)
  Result<PushReport> push = SyncPush(a_.vault(), scoped);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "published");
  // added: n, n/m2 (+ one.txt, deep, deep/two.txt), r as a file, new,
  // new/deep, new/deep/x.txt; modified: dir/a.txt; deleted: old (+ x.txt,
  // sub, sub/y.txt), m (+ 4), r/inside.txt (r itself is modified).
  EXPECT_EQ(push->changes.modified, 2u);  // dir/a.txt, r (a directory, now a file)
  EXPECT_EQ(push->changes.added, 8u);
  EXPECT_EQ(push->changes.deleted, 9u);
  // dir/a.txt, r, new/deep/x.txt and the two moved files (new paths to the
  // stat cache); nothing outside the scope.
  EXPECT_EQ(push->files_hashed, 5u);
  HX_ASSERT_OK(b.Pull(3500, /*allow_mass_delete=*/true));
  std::map<std::string, std::string> want = a_.Snapshot();
  want["elsewhere/z.txt"] = "file:z";
  EXPECT_EQ(b.Snapshot(), want);

  Result<PushReport> full = a_.Push(4000);
  HX_ASSERT_OK(full);
  EXPECT_EQ(full->outcome, "published");
  EXPECT_EQ(full->changes.added, 0u);
  EXPECT_EQ(full->changes.modified, 1u);
  EXPECT_EQ(full->changes.deleted, 0u);
  EXPECT_EQ(full->files_hashed, 1u);  // elsewhere/z.txt: every other file's stat was kept
  HX_ASSERT_OK(b.Pull(4500));
  EXPECT_EQ(b.Snapshot(), a_.Snapshot());
}

// .hxignore among the scope's paths: the rules of the whole folder changed,
// so the push scans all of it.
TEST_F(BaselineSyncTest, AScopeNamingHxignoreScansTheWholeFolder) {
  HX_ASSERT_OK(a_.Init());
  a_.Write("build/x.o", "object");
  a_.Write("other/y.txt", "y");
  HX_ASSERT_OK(a_.Push(2000));
  a_.Write(".hxignore", ".hxignore\nbuild/\n");
  a_.Write("other/y.txt", "y, edited");
  SyncOptions scoped = a_.options(3000);
  scoped.scope = std::vector<std::string>{".hxignore"};
  Result<PushReport> push = SyncPush(a_.vault(), scoped);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->changes.modified, 1u);  // other/y.txt, outside the scope: found
  EXPECT_EQ(push->changes.deleted, 0u);   // build/ is ignored now, not deleted
}

}  // namespace
}  // namespace hx
