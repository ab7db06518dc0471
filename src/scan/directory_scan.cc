#include "scan/directory_scan.h"

#include <algorithm>
#include <iterator>

#include "base/clock.h"
#include "scan/walk.h"

namespace hx {

using scan_internal::DirFd;
using scan_internal::DirNode;
using scan_internal::OpenVaultRoot;
using scan_internal::Output;
using scan_internal::PathEntry;
using scan_internal::ScanThreads;
using scan_internal::Walk;

void AddScanStats(ScanStats& into, const ScanStats& from) {
  into.files += from.files;
  into.dirs += from.dirs;
  into.symlinks += from.symlinks;
  into.files_hashed += from.files_hashed;
  into.bytes_hashed += from.bytes_hashed;
  into.files_from_cache += from.files_from_cache;
  into.ignored += from.ignored;
}

struct DirectoryScanner::Impl {
  Impl(Env& e, int fd, IgnoreRules ignore_rules, const ScanOptions& options, const FastCdc& c,
       const ChunkIdFn& id)
      : env(e),
        root(e, fd, /*owned=*/true),
        rules(std::move(ignore_rules)),
        threads(ScanThreads(options)),
        // Read once, as ScanVault does: one racy window for the whole walk.
        now_ns(options.now_ns.value_or(
            (options.clock != nullptr ? *options.clock : e.clock()).WallNs())),
        collect_baseline(options.collect_baseline),
        cdc(c),
        chunk_id(id) {}

  Env& env;
  const DirFd root;
  const IgnoreRules rules;
  const int threads;
  const std::int64_t now_ns;
  const bool collect_baseline;
  const FastCdc& cdc;
  const ChunkIdFn chunk_id;
};

Result<std::unique_ptr<DirectoryScanner>> DirectoryScanner::Open(const std::filesystem::path& root,
                                                                 const ScanOptions& options,
                                                                 const FastCdc& cdc,
                                                                 const ChunkIdFn& chunk_id) {
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(const int root_fd, OpenVaultRoot(env, root));
  Result<IgnoreRules> rules = LoadIgnoreFile(root, root_fd, env);
  if (!rules.ok()) {
    (void)env.Close(root_fd);
    return std::move(rules).error();
  }
  return std::make_unique<DirectoryScanner>(
      std::make_unique<Impl>(env, root_fd, std::move(rules).value(), options, cdc, chunk_id));
}

DirectoryScanner::DirectoryScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DirectoryScanner::~DirectoryScanner() = default;

const IgnoreRules& DirectoryScanner::ignore_rules() const { return impl_->rules; }

Result<DirectoryScan> DirectoryScanner::ScanRoot(StatCache&& cache) {
  DirectoryScan scan = ScanOne({}, std::move(cache));
  // The root could not be listed: there is no result to speak of (as
  // ScanVault).
  for (ScanError& error : scan.errors) {
    if (error.path.empty()) return std::move(error.error);
  }
  return scan;
}

DirectoryScan DirectoryScanner::Scan(const DirectoryScan::Subdir& dir, StatCache&& cache) {
  return ScanOne(dir, std::move(cache));
}

DirectoryScan DirectoryScanner::ScanOne(DirectoryScan::Subdir dir, StatCache&& cache) {
  const Impl& impl = *impl_;
  Walk walk(impl.env, impl.root.fd, cache, &cache, impl.cdc, impl.chunk_id, impl.rules,
            impl.now_ns, impl.collect_baseline, /*scope=*/nullptr,
            scan_internal::WalkStart{std::move(dir.path), dir.dev, dir.ino, /*descend=*/false});
  std::vector<Output> outputs = walk.Run(impl.threads);
  DirNode& node = walk.root();

  DirectoryScan out;
  out.listed = node.listed;
  std::move(node.items.begin(), node.items.end(), std::back_inserter(out.entries));
  for (std::vector<PathEntry>& slot : node.hashed) {
    for (PathEntry& item : slot) {
      if (!item.first.empty()) out.entries.push_back(std::move(item));  // (empty: not read)
    }
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const PathEntry& a, const PathEntry& b) { return a.first < b.first; });
  for (const PathEntry& item : out.entries) {
    ++(item.second.kind == EntryKind::kFile ? out.stats.files : out.stats.symlinks);
  }
  out.stats.dirs = node.listed && !node.path.empty() ? 1 : 0;
  for (const std::unique_ptr<DirNode>& sub : node.subdirs) {
    out.subdirs.push_back({sub->path, sub->dev, sub->ino});
  }
  std::sort(out.subdirs.begin(), out.subdirs.end(),
            [](const DirectoryScan::Subdir& a, const DirectoryScan::Subdir& b) {
              return a.path < b.path;
            });
  // As ScanVault's consuming scan: what the walk took out of the cache was
  // reused, put, or dropped; what is left it never listed.
  for (Output& o : outputs) {
    out.stat_changes.put.merge(o.cache_put);
    std::move(o.cache_dropped.begin(), o.cache_dropped.end(),
              std::back_inserter(out.stat_changes.remove));
    std::move(o.skipped.begin(), o.skipped.end(), std::back_inserter(out.skipped));
    std::move(o.errors.begin(), o.errors.end(), std::back_inserter(out.errors));
    AddScanStats(out.stats, o.stats);
  }
  for (auto& [path, entry] : cache) out.stat_changes.remove.push_back(path);
  std::sort(out.stat_changes.remove.begin(), out.stat_changes.remove.end());
  std::sort(out.skipped.begin(), out.skipped.end(),
            [](const ScanSkip& a, const ScanSkip& b) { return a.path < b.path; });
  std::sort(out.errors.begin(), out.errors.end(),
            [](const ScanError& a, const ScanError& b) { return a.path < b.path; });
  if (impl.collect_baseline && node.listed && walk.baseline_ok()) {
    out.baseline = std::move(node.baseline);
  }
  return out;
}

}  // namespace hx
