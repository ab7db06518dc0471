// hx sync log, restore and diff over a folder store: every version a push
// kept is listed and can be brought back, a deleted directory included, and
// a restore never replaces anything.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/utc_time.h"
#include "history/history.h"
#include "history/reader.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

// 2026-12-06T08:00:00Z, and one push a minute after it.
constexpr std::int64_t kT0 = 1'796'544'000'000;
constexpr std::int64_t kMinute = 60'000;

class HistoryTest : public ::testing::Test {
 protected:
  HistoryTest() : store_(MakeFolderStoreFixture()), a_(*store_, "a", 11) {}
  void SetUp() override { HX_ASSERT_OK(a_.Init(kT0)); }

  // Pushes at kT0 + n minutes and returns the head seq.
  std::uint64_t PushAt(int minute) {
    Result<PushReport> pushed = a_.Push(kT0 + minute * kMinute, /*allow_mass_delete=*/true);
    EXPECT_TRUE(pushed.ok()) << pushed.error().ToShortString();
    EXPECT_EQ(pushed->outcome, "published");
    return pushed->head_seq.value_or(0);
  }

  Result<LogReport> Log(const std::string& path = "", std::size_t limit = 20,
                        std::size_t offset = 0) {
    return SyncLog(a_.vault(), a_.options(kT0 + 1000 * kMinute), {path, limit, offset});
  }
  Result<RestoreReport> Restore(const std::string& path, const std::string& at,
                                const std::string& to = "") {
    return SyncRestore(a_.vault(), a_.options(kT0 + 1000 * kMinute), {path, at, to});
  }

  std::unique_ptr<StoreFixture> store_;
  Device a_;
};

TEST_F(HistoryTest, AFileEditedFiveTimesIsRestorableAtEachVersion) {
  const std::vector<std::string> versions = {"one", "version two", "the third version",
                                             "fourth, longer still", "five: the last one!"};
  std::vector<std::uint64_t> seqs;
  a_.Write("other.txt", "unrelated");
  for (std::size_t i = 0; i < versions.size(); ++i) {
    a_.Write("notes/today.txt", versions[i]);
    if (i == 2) a_.Write("other.txt", "unrelated, edited");  // not a version of the path
    seqs.push_back(PushAt(static_cast<int>(i) + 1));
  }
  a_.Write("other.txt", "edited again");
  PushAt(10);

  // The log of the path: exactly its five versions, newest first, each with
  // its size and a content id of its own.
  Result<LogReport> log = Log("notes/today.txt");
  HX_ASSERT_OK(log);
  ASSERT_EQ(log->snapshots.size(), 5u);
  std::set<std::string> content_ids;
  for (std::size_t i = 0; i < 5; ++i) {
    const LogEntry& e = log->snapshots[4 - i];
    EXPECT_EQ(e.seq, seqs[i]);
    EXPECT_EQ(e.kind, "file");
    EXPECT_EQ(e.size, versions[i].size());
    ASSERT_TRUE(e.content_id.has_value());
    content_ids.insert(*e.content_id);
  }
  EXPECT_EQ(content_ids.size(), 5u);

  // Each version by seq, by snapshot id prefix and by time comes back
  // beside the current file, which is left alone.
  testing::TempDir outs;
  for (std::size_t i = 0; i < 5; ++i) {
    Result<RestoreReport> by_seq = Restore("notes/today.txt", "#" + std::to_string(seqs[i]));
    HX_ASSERT_OK(by_seq);
    EXPECT_EQ(a_.Read(by_seq->written_to), versions[i]) << by_seq->written_to;
    EXPECT_TRUE(by_seq->written_to.starts_with("notes/today.txt (restored 2026-12-06 08."))
        << by_seq->written_to;
    const std::string id = by_seq->from_snapshot_id;

    Result<RestoreReport> by_id = Restore("notes/today.txt", id.substr(0, 10),
                                          (outs.path() / ("out" + std::to_string(i))).string());
    HX_ASSERT_OK(by_id);
    EXPECT_FALSE(by_id->in_vault);
    EXPECT_EQ(by_id->from_seq, seqs[i]);
    std::ifstream in(by_id->written_to);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, versions[i]);

    // A time between two pushes names the older one.
    const std::string time =
        FormatUtcSeconds(kT0 + static_cast<std::int64_t>(i + 1) * kMinute + 30'000);
    Result<RestoreReport> by_time = Restore("notes/today.txt", time);
    HX_ASSERT_OK(by_time);
    EXPECT_EQ(by_time->from_seq, seqs[i]);
    EXPECT_EQ(a_.Read(by_time->written_to), versions[i]);
  }
  EXPECT_EQ(a_.Read("notes/today.txt"), versions.back());
}

TEST_F(HistoryTest, ADeletedDirectoryIsRestorableAsItWasJustBeforeItsDeletion) {
  a_.Write("docs/a.txt", "a first");
  a_.Write("docs/sub/b.txt", "b");
  a_.Write("keep.txt", "k");
  PushAt(1);
  a_.Write("docs/a.txt", "a edited before the deletion");
  a_.Write("docs/sub/c.txt", "c added");
  const std::uint64_t before = PushAt(2);
  a_.Remove("docs");
  const std::uint64_t deleted = PushAt(3);
  ASSERT_FALSE(a_.Exists("docs"));

  Result<LogReport> log = Log("docs");
  HX_ASSERT_OK(log);
  ASSERT_EQ(log->snapshots.size(), 3u);
  EXPECT_EQ(log->snapshots[0].kind, "deleted");
  EXPECT_EQ(log->snapshots[0].seq, deleted);
  EXPECT_EQ(log->snapshots[1].kind, "dir");

  // --at the head (where it is deleted): the last version before.
  Result<RestoreReport> restored = Restore("docs", "");
  HX_ASSERT_OK(restored);
  EXPECT_EQ(restored->seq, deleted);
  EXPECT_EQ(restored->from_seq, before);
  EXPECT_EQ(restored->files, 3u);
  const std::string top = restored->written_to;
  EXPECT_EQ(a_.Read(top + "/a.txt"), "a edited before the deletion");
  EXPECT_EQ(a_.Read(top + "/sub/b.txt"), "b");
  EXPECT_EQ(a_.Read(top + "/sub/c.txt"), "c added");

  // Into --to inside the vault, under its own name (free there).
  fs::create_directories(a_.vault() / "back");
  Result<RestoreReport> into = Restore("docs", std::to_string(deleted), (a_.vault() / "back").string());
  HX_ASSERT_OK(into);
  EXPECT_EQ(into->written_to, "back/docs");
  EXPECT_EQ(a_.Read("back/docs/sub/c.txt"), "c added");

  // The next push publishes the restored copies like any new files.
  Result<PushReport> pushed = a_.Push(kT0 + 20 * kMinute);
  HX_ASSERT_OK(pushed);
  EXPECT_EQ(pushed->changes.added, 11u);  // 5 + back/ and its 5
  const std::vector<std::string>& paths = pushed->changes.paths;
  EXPECT_NE(std::find(paths.begin(), paths.end(), top + "/sub/c.txt"), paths.end());
}

TEST_F(HistoryTest, RestoreNeverReplacesAnExistingFile) {
  a_.Write("f.txt", "old");
  const std::uint64_t first = PushAt(1);
  a_.Write("f.txt", "current version");
  PushAt(2);
  // The restored name is taken: the next one is used.
  const std::string stamp = FormatRestoreStamp(kT0 + kMinute);
  a_.Write("f.txt (restored " + stamp + ")", "mine, not hx's");
  Result<RestoreReport> restored = Restore("f.txt", std::to_string(first));
  HX_ASSERT_OK(restored);
  EXPECT_EQ(restored->written_to, "f.txt (restored " + stamp + " 2)");
  EXPECT_EQ(a_.Read(restored->written_to), "old");
  EXPECT_EQ(a_.Read("f.txt (restored " + stamp + ")"), "mine, not hx's");
  EXPECT_EQ(a_.Read("f.txt"), "current version");

  // --to a folder that already has the name: the restored name there.
  testing::TempDir out;
  {
    std::ofstream taken(out.path() / "f.txt");
    taken << "already here";
  }
  Result<RestoreReport> to = Restore("f.txt", std::to_string(first), out.path().string());
  HX_ASSERT_OK(to);
  EXPECT_EQ(fs::path(to->written_to).filename().string(), "f.txt (restored " + stamp + ")");
  std::ifstream kept(out.path() / "f.txt");
  std::string text((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "already here");
}

TEST_F(HistoryTest, RestoreKeepsSymlinksAsLinksAndTheExecutableBit) {
  a_.Write("tools/run.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(a_.vault() / "tools/run.sh", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("run.sh", a_.vault() / "tools/link");
  PushAt(1);
  a_.Remove("tools");
  PushAt(2);
  Result<RestoreReport> restored = Restore("tools", "");
  HX_ASSERT_OK(restored);
  EXPECT_EQ(restored->files, 1u);
  EXPECT_EQ(restored->symlinks, 1u);
  const fs::path top = a_.vault() / restored->written_to;
  EXPECT_TRUE(fs::is_symlink(top / "link"));
  EXPECT_EQ(fs::read_symlink(top / "link"), "run.sh");
  EXPECT_NE(fs::status(top / "run.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_EQ(a_.Read(restored->written_to + "/link"), "#!/bin/sh\necho hi\n");
}

TEST_F(HistoryTest, RestoreNeverWritesThroughASymlinkNorIntoDotHx) {
  a_.Write("f.txt", "v1");
  PushAt(1);
  testing::TempDir outside;
  fs::create_symlink(outside.path(), a_.vault() / "link");
  Result<RestoreReport> through = Restore("f.txt", "1", (a_.vault() / "link").string());
  ASSERT_FALSE(through.ok());
  EXPECT_EQ(through.error().category, Category::kConflict) << through.error().ToShortString();
  EXPECT_TRUE(fs::is_empty(outside.path()));

  Result<RestoreReport> into_state = Restore("f.txt", "1", (a_.vault() / ".hx").string());
  ASSERT_FALSE(into_state.ok());
  EXPECT_EQ(into_state.error().code, SyncCode::kInputInvalid);
  Result<RestoreReport> state_path = Restore(".hx/index.sqlite", "1");
  ASSERT_FALSE(state_path.ok());
  EXPECT_EQ(state_path.error().code, SyncCode::kInputInvalid);
  Result<RestoreReport> missing = Restore("nope.txt", "1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().category, Category::kNotFound);
  Result<RestoreReport> bad_spec = Restore("f.txt", "yesterday");
  ASSERT_FALSE(bad_spec.ok());
  EXPECT_EQ(bad_spec.error().code, SyncCode::kInputInvalid);
}

TEST_F(HistoryTest, LogPagesNewestFirstAndReadsOnlyWhatThePageNeeds) {
  for (int i = 1; i <= 7; ++i) {
    a_.Write("f.txt", std::string(static_cast<std::size_t>(i), 'x'));
    PushAt(i);
  }
  Result<LogReport> first = Log("", 3, 0);
  HX_ASSERT_OK(first);
  ASSERT_EQ(first->snapshots.size(), 3u);
  EXPECT_EQ(first->snapshots[0].seq, 7u);
  EXPECT_EQ(first->snapshots[2].seq, 5u);
  EXPECT_EQ(first->next_offset, 3u);
  EXPECT_LE(first->snapshots_read, 4u);  // the page and the parent in line
  EXPECT_EQ(first->snapshots[0].modified, 1u);
  EXPECT_EQ(first->snapshots[0].created_ms, kT0 + 7 * kMinute);

  Result<LogReport> last = Log("", 3, 6);
  HX_ASSERT_OK(last);
  ASSERT_EQ(last->snapshots.size(), 1u);
  EXPECT_EQ(last->snapshots[0].seq, 1u);
  EXPECT_EQ(last->snapshots[0].added, 1u);
  EXPECT_FALSE(last->next_offset.has_value());

  Result<LogReport> none = Log("", 0, 0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, SyncCode::kInputInvalid);
}

TEST_F(HistoryTest, DiffListsWhatChangedBetweenTwoSnapshots) {
  a_.Write("a.txt", "a");
  a_.Write("b.txt", "b");
  a_.Write("d/c.txt", "c");
  const std::uint64_t one = PushAt(1);
  a_.Write("a.txt", "a changed");
  a_.Remove("b.txt");
  a_.Write("e.txt", "new");
  const std::uint64_t two = PushAt(2);
  Result<DiffReport> diff = SyncDiff(a_.vault(), a_.options(kT0 + 100 * kMinute),
                                     std::to_string(one), std::to_string(two));
  HX_ASSERT_OK(diff);
  EXPECT_EQ(diff->added, std::vector<std::string>{"e.txt"});
  EXPECT_EQ(diff->modified, std::vector<std::string>{"a.txt"});
  EXPECT_EQ(diff->deleted, std::vector<std::string>{"b.txt"});
  Result<DiffReport> back = SyncDiff(a_.vault(), a_.options(kT0 + 100 * kMinute),
                                     std::to_string(two), std::to_string(one));
  HX_ASSERT_OK(back);
  EXPECT_EQ(back->added, std::vector<std::string>{"b.txt"});
  EXPECT_EQ(back->deleted, std::vector<std::string>{"e.txt"});
}

TEST_F(HistoryTest, ASnapshotIdThatStartsWithDigitsIsNotTakenForASeq) {
  // Push until some snapshot id starts with seven decimal digits (about one
  // in 27): its prefix must name it, not a seq. The device's keys are
  // seeded and the file's mtime pinned, so the ids are the same every run.
  std::string id;
  for (int i = 1; i <= 400 && id.empty(); ++i) {
    a_.Write("f.txt", std::string(static_cast<std::size_t>(i), 'x'));
    fs::last_write_time(a_.vault() / "f.txt",
                        fs::file_time_type(std::chrono::seconds(1'000'000 + i)));
    PushAt(i);
    Result<LogReport> log = Log("", 1, 0);
    HX_ASSERT_OK(log);
    const std::string& newest = log->snapshots[0].snapshot_id;
    if (newest.find_first_not_of("0123456789") >= 7) id = newest;
  }
  ASSERT_FALSE(id.empty());
  Result<RestoreReport> by_prefix = Restore("f.txt", id.substr(0, 7));
  HX_ASSERT_OK(by_prefix);
  EXPECT_EQ(by_prefix->snapshot_id, id);
  Result<RestoreReport> by_seq = Restore("f.txt", "#1");
  HX_ASSERT_OK(by_seq);
  EXPECT_EQ(by_seq->seq, 1u);
}

TEST_F(HistoryTest, ASnapshotThatDoesNotReadHidesNothingElseFromLogAndRestore) {
  a_.Write("f.txt", "first");
  PushAt(1);
  a_.Write("f.txt", "second version");
  const std::uint64_t two = PushAt(2);
  a_.Write("f.txt", "third version, longest");
  PushAt(3);
  // Truncate snapshot 2: its parent (1) is no longer reachable by parents.
  Result<LogReport> page = Log("", 1, 1);
  HX_ASSERT_OK(page);
  ASSERT_EQ(page->snapshots[0].seq, two);
  const std::string key = "snapshots/" + page->snapshots[0].snapshot_id + ".zip";
  const std::string zip = store_->Objects().at(key);
  store_->Overwrite(key, zip.substr(0, zip.size() / 3));

  Result<LogReport> log = Log("f.txt");
  HX_ASSERT_OK(log);
  ASSERT_EQ(log->snapshots.size(), 2u);  // 3 and 1 (found through the listing)
  EXPECT_EQ(log->snapshots[0].seq, 3u);
  EXPECT_EQ(log->snapshots[1].seq, 1u);
  ASSERT_EQ(log->warnings.size(), 1u);
  EXPECT_NE(log->warnings[0].find("hx sync verify"), std::string::npos);
  Result<RestoreReport> first = Restore("f.txt", "#1");
  HX_ASSERT_OK(first);
  EXPECT_EQ(a_.Read(first->written_to), "first");
  EXPECT_EQ(first->warnings.size(), 1u);
}

TEST(HistoryTimes, TimeSpecsParseToTheEndOfWhatTheyName) {
  EXPECT_EQ(ParseSnapshotTime("2026-12-06T08:00:00Z"), kT0 + 999);
  EXPECT_EQ(ParseSnapshotTime("2026-12-06 08:01"), kT0 + kMinute + 59'999);
  EXPECT_EQ(ParseSnapshotTime("2026-12-06"), kT0 - 8 * 60 * kMinute + 86'400'000 - 1);
  EXPECT_FALSE(ParseSnapshotTime("2026-13-06").has_value());
  EXPECT_FALSE(ParseSnapshotTime("2026-12-06T08").has_value());
  EXPECT_FALSE(ParseSnapshotTime("12").has_value());
  EXPECT_EQ(FormatUtcSeconds(kT0), "2026-12-06T08:00:00Z");
  EXPECT_EQ(FormatRestoreStamp(kT0 + 61'000), "2026-12-06 08.01.01");
}

}  // namespace
}  // namespace hx
