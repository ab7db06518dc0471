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
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace hx {

// A keyed BLAKE3 object id (see repo/object_codec.h).
using ObjectId = std::array<std::uint8_t, 32>;

enum class VvOrder { kEqual, kBefore, kAfter, kConcurrent };

inline constexpr std::uint64_t kMaxVvCounter = (std::uint64_t{1} << 63) - 1;

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
  // Records a change by `node`: its counter becomes max(all counters) + 1,
  // so the result is kAfter the old vector. Counters stop at
  // kMaxVvCounter (2^63-1, the largest a tree can store; unreachable in
  // practice), where Bump no longer moves them.
  void Bump(std::string_view node);

  const std::map<std::string, std::uint64_t>& counters() const;
  bool empty() const { return counters_ == nullptr || counters_->empty(); }
  friend bool operator==(const VersionVector& a, const VersionVector& b) {
    return a.counters_ == b.counters_ || a.counters() == b.counters();
  }

 private:
  // Immutable and shared between copies: a vault's entries hold few
  // distinct vectors, and an EntryMap of 100,000 entries is copied whole
  // (the base, the state to publish), so a copy costs a reference count,
  // not a map. Bump and Merge make a new one. Null means empty.
  std::shared_ptr<const std::map<std::string, std::uint64_t>> counters_;
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
  // the epoch; restored on pull, not part of SameContent). (The bit is
  // declared next to `kind`: 96 bytes instead of 104, so that a node of an
  // EntryMap fits jemalloc's 160-byte class instead of the 192-byte one,
  // ~3 MB less per vault-sized map at 100,000 files.)
  bool executable = false;
  std::uint64_t size = 0;
  std::vector<ChunkRef> chunks;
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
// with the entry and, for kDir, the id of the subtree that lists its
// children. A tombstone, file or symlink has a subtree only when there are
// tombstones beneath it: a deleted directory's, or those of the directory a
// file or symlink replaced (its "shadow"; beneath a file or symlink nothing
// but tombstones can lie), so that every device learns of the deletions.
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

// The most a tree may hold: its encoding is at most kMaxTreeBytes (a
// directory of roughly 250,000 files), a chunk at most kMaxChunkSize bytes (the
// chunker's largest max_size), a path at most kMaxTreeDepth directories deep,
// and a whole flattened vault at most kMaxFlattenedEntries entries. The limits
// bound the memory a hostile or corrupt store object can make a reader use.
inline constexpr std::size_t kMaxTreeBytes = std::size_t{64} << 20;
inline constexpr std::uint64_t kMaxChunkSize = std::uint64_t{1} << 26;
inline constexpr std::size_t kMaxTreeDepth = 1024;
inline constexpr std::size_t kMaxFlattenedEntries = std::size_t{1} << 24;

// Canonical JSON of a tree (docs/FORMAT.md, "Trees"):
//   {"entries":[<entry>...],"format_version":1}
// with each entry an object holding exactly the fields of its kind:
//   file      {"chunks":[["<64 hex id>",<size>]...],"executable":<bool>,
//              "kind":"file","mtime_ns":<int>,"name":..,"size":<int>,"vv":{..}}
//   dir       {"kind":"dir","name":..,"tree":"<64 hex id>","vv":{..}}
//   symlink   {"kind":"symlink","name":..,"target":"<link target>","vv":{..}}
//   tombstone {"kind":"tombstone","name":..,"vv":{..}}
// and a tombstone, file or symlink also has "tree":"<64 hex id>" (between
// "size"/"target"/"name" and "vv") when tombstones lie beneath it
// and "vv" {"<32 hex node id>":<counter > 0>,...}, never empty.
// Fails (KC_SYNC_INTERNAL, Category::kInternal, naming the entry) for a tree
// that DecodeTree would refuse: an invalid or unsorted name, a field set that
// the kind does not use (e.g. a dir with a size or without a subtree), an
// empty vv, a node id that is not 32 lowercase hex, a counter or size above
// 2^63-1, chunk sizes that are zero, above kMaxChunkSize or do not sum to
// size, or a symlink target that is empty, contains NUL or is not UTF-8.
// Such a tree is a bug in the code that built it. A tree whose encoding
// would exceed kMaxTreeBytes (a directory with too many entries) fails with
// KC_SYNC_INPUT_INVALID, Category::kInvalidInput.
// EncodeTree(DecodeTree(b)) == b for every b DecodeTree accepts.
Result<std::string> EncodeTree(const Tree& tree);
// Strict decoding of untrusted bytes: the bytes must be exactly the canonical
// JSON EncodeTree writes (so equal trees have equal bytes and equal ids);
// names non-empty, no '/', NUL, not "." or "..", valid UTF-8, sorted and
// unique; known kinds with exactly their fields; counters > 0; node ids 32
// hex; chunk sizes > 0, <= kMaxChunkSize, summing to size; "tree" present for
// every dir. Failures: KC_SYNC_STATE_FAILED, Category::kCorrupt, naming the
// problem (details "entry" when one entry is at fault).
Result<Tree> DecodeTree(std::string_view bytes);

// Whether `name` is a valid entry name (see DecodeTree).
bool IsValidEntryName(std::string_view name);

// ---- Merkle trees of an EntryMap ------------------------------------------

// The id of the tree object with these bytes (the caller's ComputeObjectId
// for ObjectKind::kTree; see repo/object_codec.h TreeIdFn).
using ObjectIdFn = std::function<ObjectId(std::string_view tree_bytes)>;

// The tree id of every directory of a vault by path: "" for the root, "a/b"
// for the directory a/b (and for a tombstone, file or symlink that has a
// subtree).
using TreeIds = std::map<std::string, ObjectId>;

struct BuiltTrees {
  ObjectId root{};
  // Every tree object once (identical directories share one), children
  // before their parents, the root last.
  std::vector<std::pair<ObjectId, std::string /*tree bytes*/>> trees;
  TreeIds tree_ids;
};

// Builds the Merkle trees of `entries`, bottom up: the tree of a directory
// lists its direct children; a "dir" entry points to its subtree (an empty
// tree if it has no children), a tombstone, file or symlink to the subtree of
// its children's entries if it has any (no "tree" otherwise); the root tree lists the
// top-level entries. Deterministic: equal maps give equal bytes and ids, so
// an unchanged directory keeps its id and a change to one file changes only
// the ids of the trees on its path to the root.
// Fails with KC_SYNC_INPUT_INVALID (Category::kInvalidInput, details "path")
// if a path has an empty or invalid component, if a path's parent is not in
// the map, if a path beneath a file or symlink is not a tombstone, or if a directory's tree would
// exceed kMaxTreeBytes; and with EncodeTree's errors for invalid entries.
Result<BuiltTrees> BuildTrees(const EntryMap& entries, const ObjectIdFn& object_id);

// What a push needs from BuildTrees at 100,000 files: not to hold every
// tree's bytes at once, and not to rebuild the directories nothing changed
// in.
struct BuildTreesOptions {
  // Receives each tree that BuiltTrees::trees would hold, in the same order
  // (children before parents), instead of it being kept. An error stops the
  // build and is returned.
  std::function<Status(const ObjectId& id, std::string bytes)> sink;
  // The tree ids of a previous state of the same vault (the base). A
  // directory with an id there for which `reuse(dir, id)` is true keeps that
  // id without being built: neither it nor its subtrees are encoded or
  // emitted, and their ids are copied from `known` into tree_ids. The
  // caller answers true only when nothing at or beneath `dir` differs from
  // the state `known` was built from, and the store holds that tree.
  const TreeIds* known = nullptr;
  std::function<bool(std::string_view dir, const ObjectId& id)> reuse;
};
Result<BuiltTrees> BuildTrees(const EntryMap& entries, const ObjectIdFn& object_id,
                              const BuildTreesOptions& options);

// Loads (reads, opens and decodes) the tree with this id.
using TreeLoader = std::function<Result<Tree>(const ObjectId& id)>;

// The inverse of BuildTrees: the EntryMap of the tree `root` and its
// subtrees, loaded through `load`. Errors of `load` pass through unchanged.
// A tree nested deeper than kMaxTreeDepth, a live entry beneath a file or
// symlink, a root entry named ".hx" (a vault's local state, never synced:
// details "path"), or a result above kMaxFlattenedEntries entries fails with
// KC_SYNC_STATE_FAILED, Category::kCorrupt. `load` is called once per
// distinct id.
Result<EntryMap> FlattenTrees(const ObjectId& root, const TreeLoader& load);

// A flattening that reuses what the caller already has.
struct FlattenedTrees {
  EntryMap entries;
  TreeIds tree_ids;
  // The directories ("" for the root) whose tree id equalled the base's at
  // the same path: their descendants were copied from the base, not loaded.
  std::vector<std::string> reused;
  // How many trees were loaded through `load`.
  std::size_t trees_loaded = 0;
};

// Pull's flattening: like FlattenTrees, but wherever the tree id of a
// directory equals base_tree_ids at the same path, its subtree is not loaded;
// every base entry and base tree id strictly under that path is copied
// instead. So a pull reads only the trees whose ids differ from the last
// state it synced. Precondition: base_entries and base_tree_ids describe the
// same state (both from one BuildTrees result, or one FlattenTreesDiff
// result); with empty bases this is FlattenTrees. Same errors as
// FlattenTrees, with `max_entries` in place of kMaxFlattenedEntries (tests
// lower it).
Result<FlattenedTrees> FlattenTreesDiff(const ObjectId& root, const TreeLoader& load,
                                        const EntryMap& base_entries,
                                        const TreeIds& base_tree_ids,
                                        std::size_t max_entries = kMaxFlattenedEntries);

}  // namespace hx
