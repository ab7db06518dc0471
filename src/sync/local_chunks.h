// The chunks a pull needs that this device already holds in its own files
// (issue 15, item 5): a directory renamed or copied on another device, a
// file duplicated, or a file whose unchanged chunks survive an edit costs
// no fetched bytes for the content that is already here.
//
// The scan the pull planned from lists the local files it looked at with
// their chunk ids (read, or reused from the index's stat cache); the index
// knows the others: its stat cache has the chunk ids of every file hx read
// and cached, its base those of every file this device last synced (a pull
// scans only the directories whose trees changed, so an unchanged directory
// that another device copied is known from the index alone). Find() keeps,
// for each chunk the pull will write, one local file and offset that held
// it — only those chunks, so what is kept grows with the change, not with
// the vault. The applier then reads a chunk from there instead of
// fetching it, and uses it only if its bytes hash to its id (the vault's
// keyed BLAKE3, as the scanner computes it): a file that changed since it
// was scanned or indexed, a short read, or a file that cannot be opened
// gives nullopt, and the chunk is fetched from the store as before.
//
// Reads go through the vault's VaultDir (os/vault_dir.h), area kContent:
// the file's parent is opened beneath the vault root without following any
// symlink and the file itself O_NOFOLLOW, so a directory swapped for a
// symlink since the scan is not read through, and nothing outside the vault
// or inside .hx/ is ever read.
//
// Thread-safety: not thread-safe; one per ApplyPlan.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "index/stat_cache.h"
#include "os/vault_dir.h"
#include "repo/tree.h"
#include "scan/scanner.h"

namespace hx {

struct LocalChunkStats {
  std::uint64_t chunks = 0;      // chunks taken from local files
  std::uint64_t bytes = 0;       // their bytes
  std::uint64_t mismatches = 0;  // read but did not hash to their id (then fetched)
  std::uint64_t unreadable = 0;  // could not be read (then fetched)
};

class LocalChunks {
 public:
  struct IdHash {
    std::size_t operator()(const ObjectId& id) const;
  };
  using IdSet = std::unordered_set<ObjectId, IdHash>;

  LocalChunks() = default;

  // For each id of `wanted`, a file holding it and where: the first of
  // `scanned` (sorted by path), else one of `cache`, else the first of
  // `base` (either may be null). `chunk_id` checks what is read.
  static LocalChunks Find(const EntryMap& scanned, const StatCache* cache, const EntryMap* base,
                          const IdSet& wanted, ChunkIdFn chunk_id);

  // Whether a local file is known to have held `id`.
  bool Has(const ObjectId& id) const { return where_.count(id) != 0; }
  std::size_t size() const { return where_.size(); }

  // The bytes of `chunk`, read from its local file through `vault`, if they
  // hash to its id; nullopt otherwise (fetch it). A source that failed once
  // is not tried again.
  std::optional<std::vector<std::uint8_t>> Read(const VaultDir& vault, const ChunkRef& chunk);

  const LocalChunkStats& stats() const { return stats_; }

 private:
  struct Source {
    std::uint32_t file = 0;  // index into files_
    std::uint64_t offset = 0;
  };
  // The open file of the last read (consecutive chunks come from one file).
  struct OpenFile {
    std::uint32_t file = 0;
    Fd fd;
  };

  // Records the chunks of `path` that are wanted and not yet placed.
  void Offer(const std::string& path, const std::vector<ChunkRef>& chunks, const IdSet& wanted);

  std::vector<std::string> files_;  // vault-relative paths of the sources
  std::unordered_map<ObjectId, Source, IdHash> where_;
  ChunkIdFn chunk_id_;
  std::optional<OpenFile> open_;
  LocalChunkStats stats_;
};

}  // namespace hx
