// The streaming comparison (local_changes_stream.h) must find, to the byte,
// what the whole-map comparison finds: DetectLocalChangesOfScan over
// ScanVault's result, on real folders (a random one, its base, and random
// edits since), with the same stat cache and the same unreadable paths.
#include "sync/local_changes_stream.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "base/temp_dir_test_util.h"
#include "chunk/fastcdc.h"
#include "chunk/gear_table.h"
#include "hash/blake3.h"
#include "os/env.h"
#include "sync/internal.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using hx::testing::TempDir;

constexpr std::string_view kNode = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr std::string_view kOtherNode = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
// After every file the tests write: nothing is racy unless a test says so.
const std::int64_t kLater = Env::Default().clock().WallNs() + 3'600'000'000'000;

FastCdc SmallChunks() {
  ChunkerOptions options;
  options.min_size = 256;
  options.avg_size = 1024;
  options.max_size = 4096;
  return std::move(FastCdc::Create(options, GearTable::Default())).value();
}

ObjectId IdOf(std::span<const std::uint8_t> bytes) { return Blake3Hash(bytes); }

// Fails the opening of the named paths with EACCES: a directory (opened by
// its vault-relative path) or a file (opened by its name in its directory
// when it is hashed). Deterministic, whatever order the scan runs in.
class UnreadableEnv final : public EnvWrapper {
 public:
  UnreadableEnv(Env& target, std::set<std::string> unreadable)
      : EnvWrapper(target), unreadable_(std::move(unreadable)) {}
  int Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    if (unreadable_.count(path) != 0) return EACCES;
    return EnvWrapper::Open(dirfd, path, flags, mode, fd);
  }

 private:
  const std::set<std::string> unreadable_;
};

// A folder, its index (base and stat cache), and the two comparisons.
class Fixture {
 public:
  Fixture() : cdc_(SmallChunks()) {
    vault_ = dir_.path() / "vault";
    fs::create_directory(vault_);
  }
  const fs::path& vault() const { return vault_; }

  void Write(const std::string& path, const std::string& bytes) {
    std::ofstream(vault_ / path, std::ios::binary | std::ios::trunc) << bytes;
  }

  ScanOptions Options(Env& env, std::int64_t now_ns = kLater) const {
    ScanOptions options;
    options.threads = 2;
    options.now_ns = now_ns;
    options.env = &env;
    options.collect_baseline = true;
    return options;
  }

  // Takes the folder as it is now as the base (every entry's vector
  // {other: vv_counter(path)}) and the stat cache, and writes both to the
  // index.
  void TakeAsBase(const std::function<std::uint64_t(const std::string&)>& counter,
                  EntryMap extra = {}) {
    Result<ScanResult> scan = ScanVault(vault_, Options(Env::Default()), StatCache(), cdc_, IdOf);
    ASSERT_TRUE(scan.ok()) << scan.error().message;
    base_.entries = std::move(scan->entries);
    for (auto& [path, entry] : base_.entries) {
      entry.vv = VersionVector({{std::string(kOtherNode), counter(path)}});
    }
    base_.entries.merge(extra);
    stats_ = std::move(scan->stat_changes.put);
  }
  StatCache& stat_cache() { return stats_; }
  EntryMap& base() { return base_.entries; }

  struct Both {
    ScanResult scan;
    LocalChanges whole;
    StreamedLocalChanges streamed;
    // What the streaming one must keep of the scan (KeepScannedFn, here
    // every path whose bytes add up to an even number), taken from the whole scan: its entries
    // of those paths and of the added and modified ones, and the stat
    // cache rows the scan started from of the files among those paths.
    EntryMap kept_scan;
    StatCache kept_stats;
    // The base with the streaming one's changed entries put over it.
    EntryMap overlaid;
  };
  // The whole-map comparison and the streaming one, on the same folder,
  // base and stat cache.
  Both Compare(Env& env, std::int64_t now_ns = kLater) {
    Both both;
    Result<ScanResult> scan = ScanVault(vault_, Options(env, now_ns), stats_, cdc_, IdOf);
    EXPECT_TRUE(scan.ok()) << scan.error().message;
    both.scan = std::move(scan).value();
    both.whole = DetectLocalChangesOfScan(base_, both.scan, kNode, StateWanted::kAlways);
    const KeepScannedFn keep = [](const std::string& path) {
      unsigned sum = 0;
      for (const char c : path) sum += static_cast<unsigned char>(c);
      return sum % 2 == 0;
    };
    for (const EntryMap::value_type& scanned : both.scan.entries) {
      const std::string& path = scanned.first;
      const Entry& entry = scanned.second;
      const auto listed = [&path](const std::vector<std::string>& paths) {
        return std::binary_search(paths.begin(), paths.end(), path);
      };
      if (!keep(path) && !listed(both.whole.added) && !listed(both.whole.modified)) continue;
      both.kept_scan.emplace(path, entry);
      auto row = stats_.find(path);
      if (keep(path) && entry.kind == EntryKind::kFile && row != stats_.end()) {
        both.kept_stats.insert(*row);
      }
    }

    const fs::path file = dir_.path() / ("index" + std::to_string(++indexes_) + ".sqlite");
    Result<std::unique_ptr<Index>> index = Index::Open(file);
    EXPECT_TRUE(index.ok());
    {
      Result<Index::Transaction> txn = (*index)->Begin();
      EXPECT_TRUE(txn.ok());
      EXPECT_TRUE(txn->ReplaceBase(base_.entries).ok());
      EXPECT_TRUE(txn->ReplaceStatCache(stats_).ok());
      EXPECT_TRUE(txn->Commit().ok());
    }
    Result<StreamedLocalChanges> streamed = StreamLocalChanges(
        **index, vault_, Options(env, now_ns), cdc_, IdOf, kNode, /*with_entries=*/true, keep);
    EXPECT_TRUE(streamed.ok()) << streamed.error().message;
    both.streamed = std::move(streamed).value();
    both.overlaid = base_.entries;
    for (const auto& [path, entry] : both.streamed.changes.state) both.overlaid[path] = entry;
    return both;
  }

 private:
  TempDir dir_{"hx_stream"};
  fs::path vault_;
  FastCdc cdc_;
  BaseState base_;
  StatCache stats_;
  int indexes_ = 0;
};

// The whole comparison's entries of the changed paths: what the streaming
// one keeps.
EntryMap ChangedEntries(const LocalChanges& whole) {
  EntryMap out;
  for (const auto* list : {&whole.added, &whole.modified, &whole.deleted}) {
    for (const std::string& path : *list) out.emplace(path, whole.state.at(path));
  }
  return out;
}

std::vector<std::string> PathsOf(const std::vector<ScanError>& errors) {
  std::vector<std::string> out;
  for (const ScanError& e : errors) out.push_back(e.path + ": " + e.error.message);
  return out;
}

// Asserts (rapidcheck or gtest) that the two comparisons agree.
#define HX_EXPECT_SAME(both, ASSERT)                                                     \
  do {                                                                                   \
    const auto& s_ = (both).streamed;                                                    \
    const auto& w_ = (both).whole;                                                       \
    ASSERT(s_.changes.added == w_.added);                                                \
    ASSERT(s_.changes.modified == w_.modified);                                          \
    ASSERT(s_.changes.deleted == w_.deleted);                                            \
    ASSERT(s_.changes.state == ChangedEntries(w_));                                      \
    ASSERT(s_.stat_changes.put == (both).scan.stat_changes.put);                         \
    ASSERT(s_.stat_changes.remove == (both).scan.stat_changes.remove);                   \
    ASSERT(s_.skipped == (both).scan.skipped);                                           \
    ASSERT(PathsOf(s_.errors) == PathsOf((both).scan.errors));                           \
    ASSERT(s_.stats.files == (both).scan.stats.files);                                   \
    ASSERT(s_.stats.dirs == (both).scan.stats.dirs);                                     \
    ASSERT(s_.stats.symlinks == (both).scan.stats.symlinks);                             \
    ASSERT(s_.stats.files_hashed == (both).scan.stats.files_hashed);                     \
    ASSERT(s_.stats.files_from_cache == (both).scan.stats.files_from_cache);             \
    ASSERT(s_.stats.ignored == (both).scan.stats.ignored);                               \
    ASSERT(s_.ignore_rules.source_digest() == (both).scan.ignore_rules.source_digest()); \
    ASSERT(s_.kept_scan == (both).kept_scan);                                            \
    ASSERT(s_.kept_stats == (both).kept_stats);                                          \
    /* the local state a pull plans on: the base, the changes over it */                \
    ASSERT((both).overlaid == w_.state);                                                 \
    if (w_.empty()) {                                                                    \
      ASSERT(s_.baseline.has_value() == (both).scan.baseline.has_value());               \
      if (s_.baseline) {                                                                 \
        ASSERT(s_.baseline->dirs == (both).scan.baseline->dirs);                         \
      }                                                                                  \
    }                                                                                    \
  } while (false)

// Names chosen so that siblings sort around a directory's contents ("a" <
// "a-b" < "a.txt" < "a/..."), and ignore patterns and faults hit often.
rc::Gen<std::string> GenPath() {
  return rc::gen::exec([] {
    const auto depth = static_cast<std::size_t>(*rc::gen::inRange(1, 4));
    const auto parts = *rc::gen::container<std::vector<std::string>>(
        depth, rc::gen::element<std::string>("a", "a-b", "a.txt", "b", "x.log", "tmp"));
    std::string path;
    for (const std::string& part : parts) path += (path.empty() ? "" : "/") + part;
    return path;
  });
}

// Makes `path` a file, a directory or a symlink (kind 0, 1, 2) if its
// parent is a directory; replaces what is there.
void Make(const fs::path& vault, const std::string& path, int kind, int content) {
  const fs::path at = vault / path;
  std::error_code ec;
  if (!fs::is_directory(at.parent_path(), ec)) return;
  fs::remove_all(at, ec);
  if (kind == 0) {
    std::ofstream(at, std::ios::binary) << std::string(static_cast<std::size_t>(content) * 700, 'x')
                                        << content;
  } else if (kind == 1) {
    fs::create_directory(at, ec);
  } else if (kind == 2) {
    fs::create_symlink("target" + std::to_string(content), at, ec);
  } else {
    ::mkfifo(at.c_str(), 0644);  // skipped by the scan (a special file)
  }
}

RC_GTEST_PROP(StreamLocalChanges, FindsExactlyWhatTheWholeComparisonFinds, ()) {
  Fixture f;
  for (const std::string& path : *rc::gen::container<std::vector<std::string>>(GenPath())) {
    Make(f.vault(), path, *rc::gen::inRange(0, 3), *rc::gen::inRange(0, 4));
  }
  EntryMap tombstones;
  for (const std::string& path : *rc::gen::container<std::vector<std::string>>(GenPath())) {
    Entry t;
    t.kind = EntryKind::kTombstone;
    t.vv = VersionVector({{std::string(kOtherNode), 7}});
    tombstones.emplace(path, std::move(t));
  }
  f.TakeAsBase([](const std::string& path) { return 1 + path.size() % 3; });
  // A tombstone where the base has no live entry, beneath a live directory,
  // a file (a replaced directory's shadow) or another tombstone.
  for (auto& [path, tombstone] : tombstones) {
    const std::size_t slash = path.rfind('/');
    const bool parent_ok = slash == std::string::npos || f.base().contains(path.substr(0, slash));
    if (parent_ok && !f.base().contains(path)) f.base().emplace(path, tombstone);
  }
  // Some files' stat cache rows lost (they are hashed again).
  for (const std::string& path : *rc::gen::container<std::vector<std::string>>(GenPath())) {
    f.stat_cache().erase(path);
  }

  // The edits since: anything made, replaced or removed anywhere.
  const auto edits = *rc::gen::container<std::vector<std::pair<std::string, int>>>(
      rc::gen::pair(GenPath(), rc::gen::inRange(0, 6)));
  for (const auto& [path, what] : edits) {
    if (what == 5) {
      std::error_code ec;
      fs::remove_all(f.vault() / path, ec);
    } else {
      // 0-3: a file (3: another content), a directory, a symlink; 4: a FIFO.
      Make(f.vault(), path, what == 4 ? 3 : what % 3, *rc::gen::inRange(0, 4));
    }
  }
  f.Write(std::string(kIgnoreFileName),
          *rc::gen::element<std::string>("", "*.log\n", "tmp/\n", "/a\n!a/b\n", "a-b\n"));
  const auto unreadable = *rc::gen::container<std::vector<std::string>>(
      static_cast<std::size_t>(*rc::gen::inRange(0, 3)),
      rc::gen::oneOf(GenPath(), rc::gen::element<std::string>("a", "b", "a.txt")));
  UnreadableEnv env(Env::Default(), std::set<std::string>(unreadable.begin(), unreadable.end()));

  const Fixture::Both both = f.Compare(env);
  HX_EXPECT_SAME(both, RC_ASSERT);
}

TEST(StreamLocalChanges, AFileReplacedByADirectoryAndBack) {
  Fixture f;
  fs::create_directory(f.vault() / "d");
  f.Write("d/x", "x");
  f.Write("f", "f");
  f.TakeAsBase([](const std::string&) { return 1; });
  // d becomes a file, f a directory with a file in it.
  fs::remove_all(f.vault() / "d");
  f.Write("d", "now a file");
  fs::remove(f.vault() / "f");
  fs::create_directory(f.vault() / "f");
  f.Write("f/y", "y");
  const Fixture::Both both = f.Compare(Env::Default());
  HX_EXPECT_SAME(both, EXPECT_TRUE);
  EXPECT_EQ(both.streamed.changes.modified, (std::vector<std::string>{"d", "f"}));
  EXPECT_EQ(both.streamed.changes.deleted, std::vector<std::string>{"d/x"});
  EXPECT_EQ(both.streamed.changes.added, std::vector<std::string>{"f/y"});
}

TEST(StreamLocalChanges, ADeletedDirectoryDeletesItsSubtreeButNotItsTombstones) {
  Fixture f;
  fs::create_directories(f.vault() / "d/e");
  f.Write("d/e/x", "x");
  f.Write("d/y", "y");
  f.Write("d-z", "z");  // sorts between "d" and "d/..."
  Entry tombstone;
  tombstone.kind = EntryKind::kTombstone;
  tombstone.vv = VersionVector({{std::string(kOtherNode), 3}});
  f.TakeAsBase([](const std::string&) { return 1; }, {{"d/old", tombstone}});
  fs::remove_all(f.vault() / "d");
  const Fixture::Both both = f.Compare(Env::Default());
  HX_EXPECT_SAME(both, EXPECT_TRUE);
  EXPECT_EQ(both.streamed.changes.deleted,
            (std::vector<std::string>{"d", "d/e", "d/e/x", "d/y"}));
  EXPECT_EQ(both.streamed.stat_changes.remove, (std::vector<std::string>{"d/e/x", "d/y"}));
}

TEST(StreamLocalChanges, AnUnreadableDirectoryOrFileKeepsItsBase) {
  Fixture f;
  fs::create_directories(f.vault() / "locked/sub");
  f.Write("locked/sub/x", "x");
  f.Write("secret", "s");
  f.Write("gone", "g");
  f.TakeAsBase([](const std::string&) { return 2; });
  f.Write("secret", "changed, but unreadable");
  fs::remove(f.vault() / "gone");
  UnreadableEnv env(Env::Default(), {"locked", "secret"});
  const Fixture::Both both = f.Compare(env);
  HX_EXPECT_SAME(both, EXPECT_TRUE);
  EXPECT_EQ(both.streamed.changes.deleted, std::vector<std::string>{"gone"});
  EXPECT_TRUE(both.streamed.changes.modified.empty());
  EXPECT_EQ(both.streamed.errors.size(), 2u);
  EXPECT_FALSE(both.streamed.baseline.has_value());
}

TEST(StreamLocalChanges, IgnoredPathsAreNeitherAddedNorDeleted) {
  Fixture f;
  fs::create_directory(f.vault() / "build");
  f.Write("build/out.o", "o");
  f.Write("keep.log", "l");
  f.TakeAsBase([](const std::string&) { return 1; });
  f.Write(std::string(kIgnoreFileName), "build/\n*.log\n");
  f.Write("new.log", "n");
  fs::remove(f.vault() / "keep.log");
  const Fixture::Both both = f.Compare(Env::Default());
  HX_EXPECT_SAME(both, EXPECT_TRUE);
  EXPECT_EQ(both.streamed.changes.added, std::vector<std::string>{".hxignore"});
  EXPECT_TRUE(both.streamed.changes.deleted.empty());
  EXPECT_EQ(both.streamed.stats.ignored, 2u);
}

TEST(StreamLocalChanges, ARacyFileIsHashedButNotCached) {
  Fixture f;
  f.Write("old", "o");
  f.TakeAsBase([](const std::string&) { return 1; });
  f.Write("new", "n");
  // The scan starts right after the write: "new" is within the racy window.
  const Fixture::Both both = f.Compare(Env::Default(), Env::Default().clock().WallNs());
  HX_EXPECT_SAME(both, EXPECT_TRUE);
  EXPECT_EQ(both.streamed.changes.added, std::vector<std::string>{"new"});
  EXPECT_FALSE(both.streamed.stat_changes.put.contains("new"));
  EXPECT_FALSE(both.streamed.baseline.has_value());
}

TEST(StreamLocalChanges, AnUnchangedFolderHasTheWholeScansBaseline) {
  Fixture f;
  fs::create_directories(f.vault() / "a/b");
  f.Write("a/b/x", "x");
  f.Write("a-b", "y");
  f.Write("a.txt", "z");
  f.TakeAsBase([](const std::string&) { return 1; });
  const Fixture::Both both = f.Compare(Env::Default());
  HX_EXPECT_SAME(both, EXPECT_TRUE);
  EXPECT_TRUE(both.whole.empty());
  ASSERT_TRUE(both.streamed.baseline.has_value());
  EXPECT_EQ(both.streamed.baseline->dir_count, both.scan.baseline->dir_count);
  EXPECT_EQ(both.streamed.stats.files_from_cache, 3u);
}

}  // namespace
}  // namespace hx
