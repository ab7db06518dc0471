// The stat cache: what a local file looked like (size, times, inode, mode)
// when hx last read it, and the chunk list of the content it read then.
//
// The scanner compares a file's fresh lstat with its cached stat and reuses
// the cached chunks when nothing changed, so a no-change scan of 100,000
// files hashes nothing. The rule is git's: content is assumed unchanged while
// size, mtime (ns), ctime (ns) and inode are all unchanged. ctime catches
// what mtime misses (a chmod, a `touch -d` back to the old mtime, a rename
// of another file over this one); the inode catches a file replaced by an
// editor's save-to-temp-and-rename that happened to keep size and times.
//
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "repo/tree.h"

namespace hx {

struct FileStat {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;  // since the epoch
  std::int64_t ctime_ns = 0;  // since the epoch
  std::uint64_t inode = 0;
  std::uint32_t mode = 0;  // st_mode: type and permission bits
  friend bool operator==(const FileStat&, const FileStat&) = default;
};

// True if a file whose stat is now `fresh` may be assumed to still have the
// content that was read when its stat was `cached`: size, mtime_ns,
// ctime_ns and inode are all equal. The mode is not compared (a permission
// change also moves ctime, and the executable bit is taken from the fresh
// stat anyway).
inline bool SameStatForCache(const FileStat& cached, const FileStat& fresh) {
  return cached.size == fresh.size && cached.mtime_ns == fresh.mtime_ns &&
         cached.ctime_ns == fresh.ctime_ns && cached.inode == fresh.inode;
}

struct StatCacheEntry {
  FileStat stat;
  // The chunks of the content read under `stat`; their sizes sum to
  // stat.size.
  std::vector<ChunkRef> chunks;
  friend bool operator==(const StatCacheEntry&, const StatCacheEntry&) = default;
};

// Keyed by vault-relative '/'-separated path. Only regular files have entries.
// Unordered: the scanner does one lookup per file, and hashing beats a
// string-comparing tree walk at 100,000 paths.
using StatCache = std::unordered_map<std::string, StatCacheEntry>;

// What a scan learned that the stat cache should remember, as a delta: a
// no-change scan of 100,000 files produces an empty one instead of a
// 100,000-entry copy of the cache.
struct StatCacheChanges {
  // Entries to write: files read by the scan (new or replacing a stale
  // entry).
  StatCache put;
  // Paths whose entries are no longer useful (the file is gone, is not a
  // regular file any more, or changed since it was cached), sorted. Never
  // a path that is also in `put`.
  std::vector<std::string> remove;

  bool empty() const { return put.empty() && remove.empty(); }

  // Applies the changes to an in-memory cache (e.g. one kept between scans).
  void ApplyTo(StatCache& cache) const {
    for (const std::string& path : remove) {
      cache.erase(path);
    }
    for (const auto& [path, entry] : put) {
      cache.insert_or_assign(path, entry);
    }
  }
};

}  // namespace hx
