// The check behind hx sync verify and the object repair (verify.h): what the
// store holds, what the retained snapshots reference, and what of it is
// damaged, with where each damaged object is used. Internal to the history
// module.
//
// Thread-safety: one check per operation, on its session's thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "history/verify.h"
#include "meta/snapshot.h"
#include "repo/tree.h"
#include "repo/vault_context.h"
#include "sync/fetcher.h"
#include "sync/session.h"

namespace hx {

// Where a damaged chunk is used in a file: the bytes [offset, offset + size)
// of the file at `path` (in some snapshot).
struct ChunkUse {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  friend auto operator<=>(const ChunkUse&, const ChunkUse&) = default;
};

struct Damage {
  ObjectKind kind = ObjectKind::kChunk;
  std::optional<ObjectLocation> location;
  std::string problem;
  std::string message;
  std::set<std::string> paths;
  std::set<std::uint64_t> seqs;
  std::set<ChunkUse> uses;  // chunks only, at most kMaxUsesKept
};
inline constexpr std::size_t kMaxUsesKept = 64;

class StoreCheck {
 public:
  // Borrows the session, which must outlive the check.
  explicit StoreCheck(Session& s);

  // Runs the whole check and fills `report` (not its error).
  Status Run(const VerifyOptions& options, std::int64_t now_ms, VerifyReport& report);

  // After Run: every damaged object by id.
  std::map<ObjectId, Damage>& damage() { return damage_; }
  // After Run: the location of `id` some readable snapshot records.
  std::optional<ObjectLocation> Locate(const ObjectId& id) const;
  // After Run: every location in the pack `blob`, by offset.
  std::vector<ObjectLocation> InBlob(const std::string& blob) const;
  // After Run: the packs the store lists, with their sizes.
  const std::map<std::string, std::uint64_t>& blobs() const { return blobs_; }

  // Before Run: snapshots retained even if a forget record names them (the
  // prune keeps the head and what each device's manifest last saw).
  void RetainAlso(std::set<std::string> ids, std::set<std::uint64_t> seqs) {
    retain_ids_ = std::move(ids);
    retain_seqs_ = std::move(seqs);
  }
  // After Run: every snapshot body that read, with what it locates (the
  // prune's input: which pack a reader finds each object in).
  struct Body {
    std::string id;
    std::uint64_t seq = 0;
    bool retained = false;
    bool in_head_history = false;  // the head or an ancestor of it
    std::vector<ObjectLocation> added;
    std::vector<std::string> parents;
    ObjectId root{};
    std::int64_t created_ms = 0;
    std::uint64_t size = 0;  // of the body's zip, as listed
    SnapshotSummary summary;
  };
  const std::vector<Body>& bodies() const { return bodies_; }
  // After Run: the trees and chunks the retained snapshots reference.
  const std::set<ObjectId>& live_trees() const { return live_trees_; }
  const std::set<ObjectId>& live_chunks() const { return live_chunks_; }
  // After Run: listed snapshots that did not read, and damaged trees (what
  // they reference is unknown).
  std::size_t unreadable_snapshots() const { return unreadable_snapshots_; }

 private:
  // Run without the request count.
  Status Check(const VerifyOptions& options, std::int64_t now_ms, VerifyReport& report);
  // Opens (or finds damaged) the tree `id`; null if it is damaged.
  Result<const Tree*> CheckTree(const ObjectId& id);
  // Records a damaged object (the first problem found wins).
  void Mark(const ObjectId& id, ObjectKind kind, std::string problem, std::string message);
  // Problems of an object's location without reading it: not located,
  // missing or truncated pack. True if the object can be read.
  bool CheckLocation(const ObjectId& id, ObjectKind kind);
  // The damaged objects beneath the tree `id` as (relative path, object,
  // use): memoized per tree.
  struct Hit {
    std::string path;
    ObjectId object{};
    std::optional<ChunkUse> use;  // relative path inside
  };
  const std::vector<Hit>& Affected(const ObjectId& id, std::size_t depth = 0);

  Session& s_;
  std::unique_ptr<ObjectFetcher> fetcher_;
  std::vector<ObjectLocation> locations_;  // sorted by id, one per id
  std::map<std::string, std::uint64_t> blobs_;
  std::map<ObjectId, Tree> trees_;
  std::map<ObjectId, Damage> damage_;
  std::map<ObjectId, std::vector<Hit>> affected_;
  std::set<std::string> retain_ids_;
  std::set<std::uint64_t> retain_seqs_;
  std::vector<Body> bodies_;
  std::set<ObjectId> live_trees_;
  std::set<ObjectId> live_chunks_;
  std::size_t unreadable_snapshots_ = 0;
};

}  // namespace hx
