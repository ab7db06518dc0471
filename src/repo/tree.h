// The vault's content model: entries with version vectors, and the Merkle
// trees that store them.
//
// In memory the engine works on an EntryMap: every path of the vault (files,
// symlinks, directories, and tombstones of deleted ones) with its Entry. On
// the store the same state is a Merkle tree: one Tree object per directory,
// listing its children by name; a child directory points to its subtree by
// id, so an unchanged subtree keeps its id and is skipped without being read.
// The root tree's id is the snapshot's manifest_hash.
//
// Version vectors. Every entry carries {node_id: counter}. A device that
// changes an entry (content, kind, executable bit, symlink target, creation
// or deletion) sets its own counter to one more than the highest counter in
// the entry's vector. Comparing the vectors of two versions of an entry says
// whether one descends from the other (take the newer), they are equal, or
// they are concurrent (a conflict for the merge policy to decide). A deletion
// is a tombstone entry with its own vector, so a device that never saw the
// deletion cannot resurrect the file, and an edit concurrent with the
// deletion is never lost.
//
// Thread-safety: values; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hx {

// A keyed BLAKE3 object id (see repo/object_codec.h).
using ObjectId = std::array<std::uint8_t, 32>;

enum class VvOrder { kEqual, kBefore, kAfter, kConcurrent };

// {node_id: counter}, node ids are 32 lowercase hex digits; counters > 0.
class VersionVector {
 public:
  VersionVector() = default;
  explicit VersionVector(std::map<std::string, std::uint64_t> counters);

  // How *this relates to `other`: kBefore if every counter of *this is <= the
  // other's and one is smaller (other descends from this), kAfter for the
  // reverse, kEqual, or kConcurrent.
  VvOrder Compare(const VersionVector& other) const;
  // Pointwise maximum (the join): commutative, associative, idempotent.
  VersionVector Merge(const VersionVector& other) const;
  // Records a change by `node`: its counter becomes max(all counters) + 1.
  void Bump(std::string_view node);

  const std::map<std::string, std::uint64_t>& counters() const { return counters_; }
  bool empty() const { return counters_.empty(); }
  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::map<std::string, std::uint64_t> counters_;
};

enum class EntryKind { kFile, kDir, kSymlink, kTombstone };
// "file", "dir", "symlink", "tombstone".
std::string_view ToString(EntryKind kind);

struct ChunkRef {
  ObjectId id{};
  std::uint64_t size = 0;  // plaintext bytes of the chunk
  friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

struct Entry {
  EntryKind kind = EntryKind::kFile;
  // kFile: total size, chunk list in order, executable bit, mtime (ns since
  // the epoch; restored on pull, not part of SameContent).
  std::uint64_t size = 0;
  std::vector<ChunkRef> chunks;
  bool executable = false;
  std::int64_t mtime_ns = 0;
  // kSymlink: the link target, stored as is, never followed.
  std::string symlink_target;
  VersionVector vv;

  // Same kind and content (size, chunk ids, executable bit, link target);
  // ignores mtime and vv. Two tombstones are always the same content.
  bool SameContent(const Entry& other) const;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// Every path of the vault, '/'-separated relative UTF-8 paths, sorted by
// bytes (so a directory comes right before its children... NOTE: byte order
// puts "a/b" after "a-b"; code that walks subtrees must not assume
// contiguity beyond what std::map's lower_bound gives).
using EntryMap = std::map<std::string, Entry>;

// One directory's listing, as stored: entries sorted by name (bytes), each
// with the entry and, for kDir (and kTombstone of a directory), the id of the
// subtree that lists its children.
struct TreeEntry {
  std::string name;
  Entry entry;
  std::optional<ObjectId> subtree;
  friend bool operator==(const TreeEntry&, const TreeEntry&) = default;
};
struct Tree {
  std::vector<TreeEntry> entries;
  friend bool operator==(const Tree&, const Tree&) = default;
};

// Canonical JSON of a tree (docs/FORMAT.md, "Trees").
std::string EncodeTree(const Tree& tree);
// Strict decoding of untrusted bytes: names non-empty, no '/', NUL, not "."
// or "..", valid UTF-8, sorted and unique; known kinds; counters > 0; node
// ids 32 hex; chunk sizes summing to size. Failures: KC_SYNC_STATE_FAILED,
// Category::kCorrupt, naming the problem.
Result<Tree> DecodeTree(std::string_view bytes);

// Whether `name` is a valid entry name (see DecodeTree).
bool IsValidEntryName(std::string_view name);

}  // namespace hx
