#include "scan/scanner.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <string_view>
#include <utility>

#include "base/clock.h"
#include "scan/directory_scan.h"
#include "scan/path_order.h"
#include "scan/walk.h"

namespace hx {
namespace {

using scan_internal::DirFd;
using scan_internal::DirNode;
using scan_internal::OpenVaultRoot;
using scan_internal::Output;
using scan_internal::PathEntry;
using scan_internal::ScanScope;
using scan_internal::ScanThreads;
using scan_internal::Walk;
using scan_internal::WalkStart;
// names per directory is much cheaper than sorting 100,000 full paths.
// With `stats`, appends for each regular file moved into `out`, in the same
// order, the stat the stat cache is to keep for it (DirNode::hashed_stats;
// mode 0 for none).
void Emit(DirNode& node, EntryMap& out, std::vector<FileStat>* stats) {
  struct Item {
    std::string_view name;
    bool subtree = false;  // the contents of `dir`, not its entry
    PathEntry* file = nullptr;
    DirNode* dir = nullptr;
    const FileStat* stat = nullptr;  // for the stat cache: a hashed file's
  };
  const std::size_t offset = node.name_offset();
  std::vector<Item> items;
  items.reserve(node.items.size() + 2 * node.subdirs.size());
  for (PathEntry& item : node.items) {
    items.push_back({std::string_view(item.first).substr(offset), false, &item, nullptr});
  }
  for (std::size_t slot = 0; slot < node.hashed.size(); ++slot) {
    std::vector<PathEntry>& files = node.hashed[slot];
    const std::vector<FileStat>* read =
        stats != nullptr && slot < node.hashed_stats.size() ? &node.hashed_stats[slot] : nullptr;
    for (std::size_t i = 0; i < files.size(); ++i) {
      PathEntry& item = files[i];
      if (item.first.empty()) continue;  // not read: not in the result
      items.push_back({std::string_view(item.first).substr(offset), false, &item, nullptr,
                       read != nullptr && i < read->size() ? &(*read)[i] : nullptr});
    }
  }
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) {
    if (dir->listed || dir->out_of_scope) {
      const std::string_view name = std::string_view(dir->path).substr(offset);
      items.push_back({name, false, nullptr, dir.get()});
      if (dir->listed) items.push_back({name, true, nullptr, dir.get()});
    }
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return LessInPathOrder(a.name, a.subtree, b.name, b.subtree);
  });
  for (const Item& item : items) {
    if (item.file != nullptr) {
      if (stats != nullptr && item.file->second.kind == EntryKind::kFile) {
        stats->push_back(item.stat != nullptr ? *item.stat : FileStat{});
      }
      out.emplace_hint(out.end(), std::move(item.file->first), std::move(item.file->second));
    } else if (!item.subtree) {
      Entry entry;
      entry.kind = EntryKind::kDir;
      out.emplace_hint(out.end(), item.dir->path, std::move(entry));
    } else {
      Emit(*item.dir, out, stats);
    }
  }
  // Their entries are in `out` now: each directory's vectors go as soon as
  // it is emitted, so they and the map are not both held whole at the end
  // (~17 MB at 100,000 files).
  std::vector<PathEntry>().swap(node.items);
  std::vector<std::vector<PathEntry>>().swap(node.hashed);
  std::vector<std::vector<FileStat>>().swap(node.hashed_stats);
}

// Moves every listed directory's baseline children into `out`; false if a
// directory was found but not listed (it vanished or failed), so the
// children recorded for its parent do not describe the entries.
bool CollectBaseline(DirNode& node, std::vector<std::pair<std::string, std::string>>& out) {
  if (!node.listed) {
    return false;
  }
  out.emplace_back(node.path, std::move(node.baseline));
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) {
    if (!CollectBaseline(*dir, out)) {
      return false;
    }
  }
  return true;
}

// Appends the path of every directory of `node`'s subtree that was listed.
void CollectListed(const DirNode& node, std::vector<std::string>& out) {
  if (!node.listed) return;
  out.push_back(node.path);
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) CollectListed(*dir, out);
}

// The cached paths this scan did not confirm (see StatCacheChanges); with
// `listed` (a scoped scan), only those in a listed directory.
std::vector<std::string> StaleCachePaths(const StatCache& cache, std::vector<Output>& outputs,
                                         const StatCache& put,
                                         const std::vector<std::string>* listed,
                                         bool consumed) {
  if (consumed) {
    // What the walk took out was reused or put, or is in cache_dropped;
    // what is left it never listed (gone, or no longer a regular file), or
    // is below a directory a scoped scan did not list.
    std::vector<std::string> stale;
    for (Output& out : outputs) {
      std::move(out.cache_dropped.begin(), out.cache_dropped.end(), std::back_inserter(stale));
      out.cache_dropped = {};
    }
    for (const auto& [path, entry] : cache) {
      if (listed != nullptr) {
        const std::size_t slash = path.rfind('/');
        const std::string parent =
            slash == std::string::npos ? std::string() : path.substr(0, slash);
        if (!std::binary_search(listed->begin(), listed->end(), parent)) continue;
      }
      stale.push_back(path);
    }
    std::sort(stale.begin(), stale.end());
    return stale;
  }
  std::vector<const StatCacheEntry*> reused;
  for (Output& out : outputs) {
    reused.insert(reused.end(), out.cache_reused.begin(), out.cache_reused.end());
  }
  std::vector<std::string> stale;
  // The common case, nothing deleted or changed, costs no pass over the
  // cache: every entry was reused exactly once.
  if (reused.size() == cache.size()) {
    return stale;
  }
  std::sort(reused.begin(), reused.end());
  const auto in_listed_dir = [listed](const std::string& path) {
    if (listed == nullptr) return true;
    const std::size_t slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
    return std::binary_search(listed->begin(), listed->end(), parent);
  };
  for (const auto& [path, entry] : cache) {
    if (in_listed_dir(path) && !std::binary_search(reused.begin(), reused.end(), &entry) && !put.contains(path)) {
      stale.push_back(path);
    }
  }
  std::sort(stale.begin(), stale.end());
  return stale;
}

}  // namespace

std::string_view ToString(ScanSkipReason reason) {
  switch (reason) {
    case ScanSkipReason::kInvalidName:
      return "invalid_name";
    case ScanSkipReason::kSpecialFile:
      return "special_file";
    case ScanSkipReason::kInvalidSymlinkTarget:
      return "invalid_symlink_target";
  }
  return "unknown";
}

namespace {

// ScanVault, reading `cache`, or with `consumed` (== &cache) taking its
// entries out as it goes and freeing what is left at the end.
Result<ScanResult> Scan(const std::filesystem::path& root, const ScanOptions& options,
                        const StatCache& cache, StatCache* consumed, const FastCdc& cdc,
                        const ChunkIdFn& chunk_id) {
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(const int root_fd, OpenVaultRoot(env, root));
  const DirFd close_root(env, root_fd, /*owned=*/true);
  HX_ASSIGN_OR_RETURN(IgnoreRules rules, LoadIgnoreFile(root, root_fd, env));
  const int threads = ScanThreads(options);
  Clock& clock = options.clock != nullptr ? *options.clock : env.clock();
  std::optional<ScanScope> scope;
  if (options.scope) scope.emplace(*options.scope);
  // (Stats beside the entries: only a consuming scan of the whole vault.)
  const bool stats_in_entries = options.cache_stats_in_entries && !scope && consumed != nullptr;
  Walk walk(env, root_fd, cache, consumed, cdc, chunk_id, rules, options.now_ns.value_or(clock.WallNs()),
            options.collect_baseline && !scope, scope ? &*scope : nullptr, WalkStart(),
            scope ? nullptr : options.on_files, stats_in_entries);
  std::vector<Output> outputs = walk.Run(threads);
  if (walk.stopped()) {
    return Error(SyncCode::kInternal, Category::kAborted,
                 "the scan was stopped: the files it handed on were refused");
  }

  ScanResult result;
  if (scope) {
    result.listed_dirs.emplace();
    CollectListed(walk.root(), *result.listed_dirs);
    std::sort(result.listed_dirs->begin(), result.listed_dirs->end());
  }
  for (Output& out : outputs) {
    for (ScanError& error : out.errors) {
      // The root could not be listed: there is no result to speak of.
      if (error.path.empty()) {
        return std::move(error.error);
      }
    }
  }
  if (options.collect_baseline && !scope && walk.baseline_ok()) {
    // Before Emit, which moves the tree's entries away (not its baseline).
    std::vector<std::pair<std::string, std::string>> dirs;
    if (CollectBaseline(walk.root(), dirs)) {
      result.baseline = MakeScanBaselineFromBlocks(rules.source_digest(), std::move(dirs));
    }
  }
  if (!walk.released_all()) {
    return Error(SyncCode::kInternal, Category::kInternal,
                 "the scan handed on fewer files than it found");
  }
  Emit(walk.root(), result.entries, stats_in_entries ? &result.entry_stats : nullptr);
  for (Output& out : outputs) {
    // Every path is in one output only: the merge splices every node.
    if (result.stat_changes.put.empty()) {
      result.stat_changes.put = std::move(out.cache_put);
    } else {
      result.stat_changes.put.merge(out.cache_put);
    }
    out.cache_put = StatCache();
    std::move(out.skipped.begin(), out.skipped.end(), std::back_inserter(result.skipped));
    std::move(out.errors.begin(), out.errors.end(), std::back_inserter(result.errors));
    AddScanStats(result.stats, out.stats);  // (files, dirs, symlinks: counted below)
  }
  result.stat_changes.remove =
      StaleCachePaths(cache, outputs, result.stat_changes.put,
                      result.listed_dirs ? &*result.listed_dirs : nullptr, consumed != nullptr);
  if (consumed != nullptr) StatCache().swap(*consumed);
  for (const auto& [path, entry] : result.entries) {
    switch (entry.kind) {
      case EntryKind::kFile:
        ++result.stats.files;
        break;
      case EntryKind::kDir:
        ++result.stats.dirs;
        break;
      case EntryKind::kSymlink:
        ++result.stats.symlinks;
        break;
      case EntryKind::kTombstone:
        break;
    }
  }
  std::sort(result.skipped.begin(), result.skipped.end(),
            [](const ScanSkip& a, const ScanSkip& b) { return a.path < b.path; });
  std::sort(result.errors.begin(), result.errors.end(),
            [](const ScanError& a, const ScanError& b) { return a.path < b.path; });
  if (!result.errors.empty() || !result.skipped.empty()) {
    result.baseline.reset();
  }
  result.ignore_rules = std::move(rules);
  return result;
}

}  // namespace

Result<ScanResult> ScanVault(const std::filesystem::path& root, const ScanOptions& options,
                             const StatCache& cache, const FastCdc& cdc,
                             const ChunkIdFn& chunk_id) {
  return Scan(root, options, cache, nullptr, cdc, chunk_id);
}

Result<ScanResult> ScanVault(const std::filesystem::path& root, const ScanOptions& options,
                             StatCache&& cache, const FastCdc& cdc, const ChunkIdFn& chunk_id) {
  return Scan(root, options, cache, &cache, cdc, chunk_id);
}

}  // namespace hx
