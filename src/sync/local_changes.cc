// The comparison of the scanned folder with the base: DetectLocalChanges
// (planner.h) and its forms for a real scan, DetectLocalChangesOfScan and
// TakeLocalChangesOfScan (internal.h); and before it, the no-change fast
// path of the scan baseline (local_changes.h). Kept apart from the pull
// planner and the merge policies because it is the hot path of every push
// and status (100k+ entries): one walk, no copy of the scan, the state
// built only when wanted, and for an unchanged folder no base at all.
#include "sync/local_changes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "crypto/secret.h"
#include "repo/object_codec.h"
#include "sync/internal.h"
#include "sync/planner.h"

namespace hx {
namespace {

// How Compare builds the state to publish: not at all (status, and the
// check a push makes first), copying the scan's entries, or taking the
// scan's map nodes (the scan is consumed; no entry is allocated twice).
enum class Build { kListsOnly, kCopy, kTake };

// The walk every entry point shares: every path is in base, scanned, or
// both (both maps sorted). A live base path that `scanned` lacks becomes a
// tombstone unless `keep_missing(path, entry)` says it is unknown rather
// than deleted (then it stays as in the base).
template <Build kBuild, typename ScannedMap, typename KeepMissing>
LocalChanges Compare(const EntryMap& base, ScannedMap& scanned, std::string_view node,
                     const KeepMissing& keep_missing) {
  static_assert(kBuild != Build::kTake || !std::is_const_v<ScannedMap>);
  LocalChanges out;
  // Most entries share their vector with the one before (VersionVector is a
  // shared immutable map): bump each distinct vector once, and give every
  // new path the same fresh {node: 1}.
  VersionVector fresh;
  fresh.Bump(node);
  std::optional<std::pair<VersionVector, VersionVector>> last_bump;
  const auto bumped = [&](const VersionVector& vv) {
    if (!last_bump || !(last_bump->first == vv)) {
      VersionVector next = vv;
      next.Bump(node);
      last_bump.emplace(vv, std::move(next));
    }
    return last_bump->second;
  };
  const auto put = [&state = out.state](const std::string& path, auto&& entry) {
    if constexpr (kBuild != Build::kListsOnly) {
      state.emplace_hint(state.end(), path, std::forward<decltype(entry)>(entry));
    } else {
      (void)state;
      (void)path;
      (void)entry;
    }
  };
  // The scanned entry at `s`, made into `make(entry)`, into the state; `s`
  // moves on.
  const auto put_scanned = [&](auto& s, const auto& make) {
    if constexpr (kBuild == Build::kTake) {
      auto handle = scanned.extract(s++);
      make(handle.mapped());
      out.state.insert(out.state.end(), std::move(handle));
    } else {
      if constexpr (kBuild == Build::kCopy) {
        Entry e = s->second;
        make(e);
        out.state.emplace_hint(out.state.end(), s->first, std::move(e));
      }
      ++s;
    }
  };
  // A directory the user replaced by a file or a symlink: its base
  // descendants are deleted, whatever the scan could not read or .hxignore
  // now says (nothing can live beneath a file), and their tombstones stay in
  // the state beneath the file (the tree lists them as its "shadow"), so
  // every device learns of the deletions. "d/" for each such path "d" whose
  // descendants are still to come: a sibling that sorts between "d" and
  // "d/" ("d-x", "d.txt", a file too) must not end d's, so they are a stack,
  // the smallest on top, each dropped once the walk has passed it.
  std::vector<std::string> under_leaf;
  // A live base entry gone from the folder: a tombstone.
  const auto put_deleted = [&](const EntryMap::value_type& was) {
    Entry t;
    t.kind = EntryKind::kTombstone;
    t.vv = bumped(was.second.vv);
    out.deleted.push_back(was.first);
    put(was.first, std::move(t));
  };
  const auto note_leaf = [&under_leaf](const std::string& path, EntryKind kind) {
    if (kind == EntryKind::kFile || kind == EntryKind::kSymlink) under_leaf.push_back(path + "/");
  };
  // Whether `path` (the walk's next, in path order) is beneath a leaf.
  const auto beneath_leaf = [&under_leaf](const std::string& path) {
    while (!under_leaf.empty() && path > under_leaf.back() &&
           !path.starts_with(under_leaf.back())) {
      under_leaf.pop_back();
    }
    return !under_leaf.empty() && path.starts_with(under_leaf.back());
  };
  auto b = base.begin();
  auto s = scanned.begin();
  while (b != base.end() || s != scanned.end()) {
    const bool take_base = s == scanned.end() || (b != base.end() && b->first < s->first);
    const bool take_scan = b == base.end() || (s != scanned.end() && s->first < b->first);
    if (beneath_leaf(take_base ? b->first : s->first)) {
      if (!take_scan) {
        if (b->second.kind != EntryKind::kTombstone) {
          put_deleted(*b);
        } else {
          put(b->first, b->second);
        }
        ++b;
      }
      if (!take_base) ++s;  // (the scanner never lists one; left out)
      continue;
    }
    if (!take_base) note_leaf(s->first, s->second.kind);
    if (take_base) {
      if (b->second.kind != EntryKind::kTombstone && !keep_missing(b->first, b->second)) {
        put_deleted(*b);
      } else {
        note_leaf(b->first, b->second.kind);
        put(b->first, b->second);
      }
      ++b;
    } else if (take_scan) {
      out.added.push_back(s->first);
      put_scanned(s, [&](Entry& e) { e.vv = fresh; });
    } else {
      const Entry& was = b->second;
      if (was.SameContent(s->second)) {
        // Unchanged: the base entry as it is (its vector, its mtime).
        put_scanned(s, [&](Entry& e) { e = was; });
      } else {
        (was.kind != EntryKind::kTombstone ? out.modified : out.added).push_back(s->first);
        put_scanned(s, [&](Entry& e) { e.vv = bumped(was.vv); });
      }
      ++b;
    }
  }
  return out;
}

}  // namespace

LocalChanges DetectLocalChanges(const EntryMap& base, const EntryMap& scanned,
                                std::string_view node) {
  return Compare<Build::kCopy>(base, scanned, node,
                              [](const std::string&, const Entry&) { return false; });
}

namespace {

// A base path the scan lacks is unknown, not deleted, when the scan could
// not read it (or a directory above it) or .hxignore now ignores it: what
// ScannedWithBase adds back to the scan.
auto UnknownToScan(const ScanResult& scan) {
  return [&scan](const std::string& path, const Entry& entry) {
    for (const ScanError& error : scan.errors) {
      if (path == error.path ||
          (path.size() > error.path.size() && path.starts_with(error.path) &&
           path[error.path.size()] == '/')) {
        return true;
      }
    }
    return scan.ignore_rules.IsIgnored(path, entry.kind == EntryKind::kDir);
  };
}

}  // namespace

LocalChanges DetectLocalChangesOfScan(const BaseState& base, const ScanResult& scan,
                                      std::string_view node, StateWanted want) {
  const auto unknown = UnknownToScan(scan);
  if (want == StateWanted::kAlways) {
    return Compare<Build::kCopy>(base.entries, scan.entries, node, unknown);
  }
  // Most pushes and every status of an unchanged vault stop at the change
  // lists: no copy of the base as the state to publish.
  LocalChanges lists = Compare<Build::kListsOnly>(base.entries, scan.entries, node, unknown);
  if (want == StateWanted::kNever || lists.empty()) return lists;
  return Compare<Build::kCopy>(base.entries, scan.entries, node, unknown);
}

LocalChanges TakeLocalChangesOfScan(const BaseState& base, ScanResult& scan,
                                    std::string_view node) {
  const auto unknown = UnknownToScan(scan);
  LocalChanges lists = Compare<Build::kListsOnly>(base.entries, scan.entries, node, unknown);
  if (lists.empty()) return lists;
  LocalChanges taken = Compare<Build::kTake>(base.entries, scan.entries, node, unknown);
  scan.entries.clear();  // what is left: nothing (every scanned node was taken)
  return taken;
}

Result<BaseState> LoadBaseMeta(Index& index) {
  BaseState base;
  HX_ASSIGN_OR_RETURN(base.snapshot_id, index.GetMeta(kMetaBaseSnapshotId));
  HX_ASSIGN_OR_RETURN(std::optional<std::uint64_t> seq, index.GetMetaUint64(kMetaBaseHeadSeq));
  HX_ASSIGN_OR_RETURN(std::optional<std::uint64_t> max_seq, index.GetMetaUint64(kMetaMaxHeadSeq));
  base.head_seq = seq.value_or(0);
  base.max_head_seq = max_seq.value_or(0);
  Result<std::optional<std::string>> incomplete = index.GetMeta(kMetaIncomplete);
  if (!incomplete.ok()) return std::move(incomplete).error();
  base.complete = incomplete->value_or("0") != "1";
  return base;
}

namespace {

// A whole file read into memory of its own mapping rather than the heap,
// so that its pages leave the process as soon as it is dropped (the heap
// allocator would keep them, adding the file's size to the peak of a push
// that falls back to the full comparison). Read, not mapped from the file:
// a file truncated meanwhile by another program cannot fault.
class FileInMemory {
 public:
  // Reads `path`; empty() if it cannot be opened, is not a regular file,
  // is empty or is larger than any baseline may be.
  FileInMemory(Env& env, const std::filesystem::path& path) {
    int raw = -1;
    if (env.Open(AT_FDCWD, path.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw) != 0) return;
    const Fd fd(env, raw);
    struct stat st {};
    if (env.Fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        static_cast<std::uint64_t>(st.st_size) <= kMaxBaselineBytes) {
      const std::size_t size = static_cast<std::size_t>(st.st_size);
      void* data =
          ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (data != MAP_FAILED) {
        data_ = data;
        mapped_ = size;
        std::size_t done = 0;
        while (done < size) {
          std::size_t n = 0;
          if (env.Read(fd.get(), static_cast<char*>(data) + done, size - done, &n) != 0) break;
          if (n == 0) break;
          done += n;
        }
        size_ = done;  // shorter if it shrank or failed: then the checksum fails
      }
    }
  }
  ~FileInMemory() {
    if (data_ != nullptr) ::munmap(data_, mapped_);
  }
  FileInMemory(const FileInMemory&) = delete;
  FileInMemory& operator=(const FileInMemory&) = delete;

  bool empty() const { return data_ == nullptr; }
  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  std::size_t mapped_ = 0;
  std::size_t size_ = 0;
};

// The name of the current base that a baseline is tagged with: the index's
// base token (renewed by every base write of this hx), with the base
// snapshot and head seq (which any hx version moves when it syncs), so an
// older hx that wrote the base without renewing the token is noticed too.
std::optional<std::string> BaseKey(Index& index) {
  Result<std::optional<std::string>> token = index.GetMeta(kMetaBaseToken);
  Result<std::optional<std::string>> snapshot = index.GetMeta(kMetaBaseSnapshotId);
  Result<std::optional<std::string>> seq = index.GetMeta(kMetaBaseHeadSeq);
  if (!token.ok() || !token->has_value() || !snapshot.ok() || !seq.ok()) return std::nullopt;
  std::string key = **token + ":" + snapshot->value_or("-") + ":" + seq->value_or("-");
  if (key.size() > kMaxBaselineTokenBytes) return std::nullopt;
  return key;
}

}  // namespace

bool UnchangedSinceBaseline(Session& s) {
  const std::optional<std::string> key = BaseKey(*s.index);
  if (!key) return false;
  const FileInMemory file(*s.env, s.local.baseline_path());
  if (file.empty()) return false;
  Result<BaselineView> view = ParseBaseline(file.bytes());
  if (!view.ok() || view->token() != *key) return false;
  return FolderMatchesBaseline(s.local.vault(), *view, s.scan_threads, *s.env);
}

Result<ScanResult> ScanFolderForBaseline(Session& s, BaseState& base, ScannedFilesFn on_files) {
  ScanOptions options = s.scan_options();
  options.collect_baseline = true;
  // (Written by the push at once: SaveStatCacheOfScan.)
  options.cache_stats_in_entries = true;
  options.on_files = std::move(on_files);
  return ScanVault(s.local.vault(), options, std::move(base.stats), *s.chunker,
                   VaultChunkIds(s.ctx));
}

bool ScopeIsUsable(const std::vector<std::string>& scope) {
  return std::find(scope.begin(), scope.end(), std::string(kIgnoreFileName)) == scope.end();
}

Result<ScanResult> ScanScopedForPush(Session& s, BaseState& base,
                                     const std::vector<std::string>& scope) {
  const ChunkIdFn chunk_id = VaultChunkIds(s.ctx);
  ScanOptions options = s.scan_options();
  options.scope = scope;
  // The stat cache is consumed by the scan (its changes are in
  // scan.stat_changes): gone before the base's entries are copied in, so
  // the two are not held at once.
  HX_ASSIGN_OR_RETURN(ScanResult scan, ScanVault(s.local.vault(), options, std::move(base.stats),
                                                 *s.chunker, chunk_id));
  base.stats = StatCache();
  const std::vector<std::string>& listed = *scan.listed_dirs;
  // In path order a directory comes before everything below it, so a
  // directory taken from the base is there when its children are looked at.
  for (const auto& [path, entry] : base.entries) {
    if (entry.kind == EntryKind::kTombstone) continue;
    const std::size_t slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
    if (std::binary_search(listed.begin(), listed.end(), parent)) continue;  // the scan knows
    const auto dir = scan.entries.find(parent);
    if (dir == scan.entries.end() || dir->second.kind != EntryKind::kDir) continue;  // gone
    scan.entries.emplace(path, entry);
  }
  return scan;
}

void SaveBaseline(Session& s, const ScanBaseline& baseline) {
  const std::filesystem::path path = s.local.baseline_path();
  // An index whose base was last written by an hx without base tokens gets
  // one now (naming the base as it is: the caller just compared with it).
  Result<std::optional<std::string>> token = s.index->GetMeta(kMetaBaseToken);
  if (token.ok() && !token->has_value()) {
    std::array<std::uint8_t, 16> random{};
    RandomBytes(random);
    (void)s.index->SetMeta(kMetaBaseToken, ToHex(random));
  }
  const std::optional<std::string> key = BaseKey(*s.index);
  if (key) {
    const BaselineFileParts file = BaselineFile(baseline, *key);
    if (LocalState::WriteCacheFile(*s.env, path, {file.head, file.dirs, file.checksum}).ok()) {
      return;
    }
  }
  (void)s.env->UnlinkAt(AT_FDCWD, path.c_str(), 0);
}

}  // namespace hx
