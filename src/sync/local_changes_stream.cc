// The streaming comparison (local_changes_stream.h).
#include "sync/local_changes_stream.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

#include "scan/directory_scan.h"

namespace hx {
namespace {

using Child = std::pair<std::string, Entry>;

// Whether `path` is `dir` or below it.
bool AtOrBelow(std::string_view path, std::string_view dir) {
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

class Streamer {
 public:
  Streamer(Index& index, DirectoryScanner& scanner, std::string_view node, bool with_entries,
           bool collect_baseline, const KeepScannedFn& keep)
      : index_(index),
        scanner_(scanner),
        node_(node),
        with_entries_(with_entries),
        keep_(keep ? &keep : nullptr),
        baseline_fit_(collect_baseline) {
    fresh_.Bump(node);
  }

  Result<StreamedLocalChanges> Run() {
    HX_ASSIGN_OR_RETURN(Index::StatCacheChildren cache, index_.LoadStatCacheChildren(""));
    KeepRows(cache.files);
    HX_ASSIGN_OR_RETURN(DirectoryScan root, scanner_.ScanRoot(std::move(cache.files)));
    HX_RETURN_IF_ERROR(Visit(Pending{}, root, cache.dirs));
    // Depth first, so that only the directories beside the current path
    // wait (their names and base entries), not the whole tree.
    while (!pending_.empty()) {
      Pending next = std::move(pending_.back());
      pending_.pop_back();
      HX_ASSIGN_OR_RETURN(cache, index_.LoadStatCacheChildren(next.dir.path));
      KeepRows(cache.files);
      DirectoryScan scan = scanner_.Scan(next.dir, std::move(cache.files));
      HX_RETURN_IF_ERROR(Visit(next, scan, cache.dirs));
    }
    return Finish();
  }

 private:
  // A directory the scan reached but has not listed yet, with its base
  // entry (nullopt: the base has none).
  struct Pending {
    DirectoryScan::Subdir dir;  // path "" for the root
    std::optional<Entry> base;
  };

  // `scan` of `at`; `cached_dirs`: the names of its children with stat
  // cache rows below them.
  Status Visit(const Pending& at, DirectoryScan& scan, const std::vector<std::string>& cached_dirs) {
    const std::string& path = at.dir.path;
    NoteIssues(path, scan);
    HX_RETURN_IF_ERROR(StaleBelow(path, scan, cached_dirs));
    if (!path.empty()) HX_RETURN_IF_ERROR(CompareSelf(at, scan));
    if (!scan.listed) return OkStatus();
    HX_ASSIGN_OR_RETURN(std::vector<Child> base, index_.LoadBaseChildren(path));
    // Three sorted lists of distinct paths: the files and symlinks
    // scanned, the directories scanned, the base's children.
    auto file = scan.entries.begin();
    auto dir = scan.subdirs.begin();
    auto was = base.begin();
    std::vector<Pending> subdirs;
    while (file != scan.entries.end() || dir != scan.subdirs.end() || was != base.end()) {
      const std::string* next = nullptr;
      for (const std::string* candidate :
           {file != scan.entries.end() ? &file->first : nullptr,
            dir != scan.subdirs.end() ? &dir->path : nullptr,
            was != base.end() ? &was->first : nullptr}) {
        if (candidate != nullptr && (next == nullptr || *candidate < *next)) next = candidate;
      }
      const bool in_base = was != base.end() && was->first == *next;
      if (dir != scan.subdirs.end() && dir->path == *next) {
        // Compared when it is listed: only then is it known to be there.
        subdirs.push_back({std::move(*dir), std::nullopt});
        if (in_base) subdirs.back().base = std::move(was->second);
        ++dir;
      } else if (file != scan.entries.end() && file->first == *next) {
        if (keep_ != nullptr && (*keep_)(file->first)) {
          Keep(file->first, file->second, /*with_row=*/true);
        }
        if (in_base) {
          HX_RETURN_IF_ERROR(CompareBoth(file->first, file->second, was->second));
        } else {
          Changed(changes_.added, file->first, std::move(file->second), fresh_);
        }
        ++file;
      } else {
        HX_RETURN_IF_ERROR(BaseOnly(was->first, was->second, scan.errors));
      }
      if (in_base) ++was;
    }
    std::move(subdirs.rbegin(), subdirs.rend(), std::back_inserter(pending_));
    return OkStatus();
  }

  // The directory's own entry, known once it is listed (a directory the
  // scan could not list is not in the scan, as ScanVault leaves it out).
  Status CompareSelf(const Pending& at, const DirectoryScan& scan) {
    const std::string& path = at.dir.path;
    if (scan.listed) {
      Entry dir;
      dir.kind = EntryKind::kDir;
      if (keep_ != nullptr && (*keep_)(path)) Keep(path, dir, /*with_row=*/false);
      if (!at.base) {
        Changed(changes_.added, path, std::move(dir), fresh_);
      } else if (!at.base->SameContent(dir)) {
        Changed(at.base->kind != EntryKind::kTombstone ? changes_.modified : changes_.added, path,
                std::move(dir), Bumped(at.base->vv));
      }
      return OkStatus();
    }
    // Unreadable (its error names it): its base state is kept, below it too.
    if (!scan.errors.empty()) return OkStatus();
    // Gone since its parent was listed.
    if (at.base) return BaseOnly(path, *at.base, {});
    return DeleteBelow(path, /*whatever_the_rules=*/false, {});
  }

  // A scanned file or symlink at a base path.
  Status CompareBoth(const std::string& path, Entry& scanned, const Entry& was) {
    if (!was.SameContent(scanned)) {
      Changed(was.kind != EntryKind::kTombstone ? changes_.modified : changes_.added, path,
              std::move(scanned), Bumped(was.vv));
    }
    // Nothing lives beneath a file: what was below the directory it
    // replaced is deleted, unreadable or ignored or not.
    if (was.kind == EntryKind::kDir) return DeleteBelow(path, /*whatever_the_rules=*/true, {});
    return OkStatus();
  }

  // A base path the scan lacks: deleted, with what is below it, unless the
  // scan could not read it or .hxignore now ignores it (then it and all
  // below it are unknown, not deleted).
  Status BaseOnly(const std::string& path, const Entry& was, const std::vector<ScanError>& errors) {
    if (was.kind == EntryKind::kTombstone || Unknown(path, was, errors)) return OkStatus();
    Deleted(path, was);
    if (was.kind != EntryKind::kDir) return OkStatus();
    return DeleteBelow(path, /*whatever_the_rules=*/false, errors);
  }

  // Every live base path below `dir` is deleted; unless
  // `whatever_the_rules`, those the scan could not read or .hxignore
  // ignores are kept.
  Status DeleteBelow(const std::string& dir, bool whatever_the_rules,
                     const std::vector<ScanError>& errors) {
    return index_.ForEachBaseBelow(dir, [&](std::string_view path, Entry&& was) {
      if (was.kind == EntryKind::kTombstone) return OkStatus();
      const std::string at(path);
      if (!whatever_the_rules && Unknown(at, was, errors)) return OkStatus();
      Deleted(at, was);
      return OkStatus();
    });
  }

  bool Unknown(const std::string& path, const Entry& was,
               const std::vector<ScanError>& errors) const {
    for (const ScanError& error : errors) {
      if (AtOrBelow(path, error.path)) return true;
    }
    return scanner_.ignore_rules().IsIgnored(path, was.kind == EntryKind::kDir);
  }

  VersionVector Bumped(const VersionVector& vv) const {
    VersionVector next = vv;
    next.Bump(node_);
    return next;
  }

  void Changed(std::vector<std::string>& list, const std::string& path, Entry entry,
               const VersionVector& vv) {
    list.push_back(path);
    if (keep_ != nullptr && entry.kind != EntryKind::kTombstone) {
      Keep(path, entry, /*with_row=*/false);
    }
    if (with_entries_) {
      entry.vv = vv;
      changes_.state.emplace(path, std::move(entry));
    }
    DropBaseline();
  }

  // With keep_: copies the rows of `rows` (a directory's, before its scan
  // takes them) that keep_ accepts.
  void KeepRows(const StatCache& rows) {
    if (keep_ == nullptr) return;
    rows_.clear();
    for (const auto& row : rows) {
      if ((*keep_)(row.first)) rows_.insert(row);
    }
  }

  // Keeps the scan's view of `path` (a child of the directory being
  // visited, or that directory): its entry and, `with_row` (a path keep_
  // accepts), its stat cache row as the scan started from it. (A changed
  // file's old row says nothing a pull needs: the scan put its new stat or
  // removed the row.)
  void Keep(const std::string& path, const Entry& scanned, bool with_row) {
    kept_scan_.try_emplace(path, scanned);
    if (!with_row || scanned.kind != EntryKind::kFile) return;
    if (auto row = rows_.find(path); row != rows_.end()) kept_stats_.insert(rows_.extract(row));
  }

  void Deleted(const std::string& path, const Entry& was) {
    Entry tombstone;
    tombstone.kind = EntryKind::kTombstone;
    Changed(changes_.deleted, path, std::move(tombstone), Bumped(was.vv));
  }

  // Status saves a baseline only for a folder without local changes.
  void DropBaseline() {
    baseline_fit_ = false;
    std::vector<std::pair<std::string, std::string>>().swap(baseline_);
  }

  // The stat cache rows below `path` the scan did not confirm: those of its
  // children it did not reuse or put, and all below each child directory
  // it will not list (gone, now a file, ignored, or `path` itself not
  // listed). A listed child directory's own visit sees to its rows.
  Status StaleBelow(const std::string& path, DirectoryScan& scan,
                    const std::vector<std::string>& cached_dirs) {
    std::vector<std::string>& remove = stat_changes_.remove;
    std::move(scan.stat_changes.remove.begin(), scan.stat_changes.remove.end(),
              std::back_inserter(remove));
    stat_changes_.put.merge(scan.stat_changes.put);
    for (const std::string& name : cached_dirs) {
      const std::string child = path.empty() ? name : path + '/' + name;
      const bool listed_next =
          scan.listed && std::binary_search(scan.subdirs.begin(), scan.subdirs.end(), child,
                                            [](const auto& a, const auto& b) {
                                              return PathOf(a) < PathOf(b);
                                            });
      if (listed_next) continue;
      HX_ASSIGN_OR_RETURN(std::vector<std::string> below, index_.StatCachePathsBelow(child));
      std::move(below.begin(), below.end(), std::back_inserter(remove));
    }
    return OkStatus();
  }
  static const std::string& PathOf(const DirectoryScan::Subdir& dir) { return dir.path; }
  static const std::string& PathOf(const std::string& path) { return path; }

  // Copies the errors: the comparison of this directory still needs them.
  void NoteIssues(const std::string& path, DirectoryScan& scan) {
    std::move(scan.skipped.begin(), scan.skipped.end(), std::back_inserter(skipped_));
    errors_.insert(errors_.end(), scan.errors.begin(), scan.errors.end());
    AddScanStats(stats_, scan.stats);
    if (scan.baseline) {
      if (baseline_fit_) baseline_.emplace_back(path, std::move(*scan.baseline));
    } else {
      DropBaseline();
    }
  }

  Result<StreamedLocalChanges> Finish() {
    StreamedLocalChanges out;
    for (std::vector<std::string>* list : {&changes_.added, &changes_.modified, &changes_.deleted}) {
      std::sort(list->begin(), list->end());
    }
    std::sort(stat_changes_.remove.begin(), stat_changes_.remove.end());
    std::sort(skipped_.begin(), skipped_.end(),
              [](const ScanSkip& a, const ScanSkip& b) { return a.path < b.path; });
    std::sort(errors_.begin(), errors_.end(),
              [](const ScanError& a, const ScanError& b) { return a.path < b.path; });
    if (baseline_fit_ && skipped_.empty() && errors_.empty()) {
      out.baseline = MakeScanBaselineFromBlocks(scanner_.ignore_rules().source_digest(),
                                                std::move(baseline_));
    }
    out.changes = std::move(changes_);
    out.stat_changes = std::move(stat_changes_);
    out.skipped = std::move(skipped_);
    out.errors = std::move(errors_);
    out.stats = stats_;
    out.ignore_rules = scanner_.ignore_rules();
    out.kept_scan = std::move(kept_scan_);
    out.kept_stats = std::move(kept_stats_);
    return out;
  }

  Index& index_;
  DirectoryScanner& scanner_;
  const std::string_view node_;
  const bool with_entries_;
  const KeepScannedFn* const keep_;  // null: keep nothing
  // With keep_: the rows keep_ accepts of the directory being visited, as
  // they were before its scan; what is kept of the scan's view.
  StatCache rows_;
  EntryMap kept_scan_;
  StatCache kept_stats_;
  VersionVector fresh_;  // {node: 1}, a new path's
  std::vector<Pending> pending_;
  LocalChanges changes_;
  StatCacheChanges stat_changes_;
  std::vector<ScanSkip> skipped_;
  std::vector<ScanError> errors_;
  ScanStats stats_;
  bool baseline_fit_;
  std::vector<std::pair<std::string, std::string>> baseline_;  // (dir, block)
};

}  // namespace

Result<StreamedLocalChanges> StreamLocalChanges(Index& index, const std::filesystem::path& vault,
                                                const ScanOptions& options, const FastCdc& cdc,
                                                const ChunkIdFn& chunk_id, std::string_view node,
                                                bool with_entries, const KeepScannedFn& keep) {
  HX_ASSIGN_OR_RETURN(std::unique_ptr<DirectoryScanner> scanner,
                      DirectoryScanner::Open(vault, options, cdc, chunk_id));
  Streamer streamer(index, *scanner, node, with_entries, options.collect_baseline, keep);
  return streamer.Run();
}

}  // namespace hx
