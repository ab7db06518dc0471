// Fetches objects for a pull: finds each object's location (the local index,
// or the snapshot bodies this pull imported), reads it with a ranged read of
// its pack, authenticates and opens it. Reads are coalesced: when an object
// is needed, the objects this pull will need from the same pack that follow
// it closely are read in the same request and kept until used, so many small
// files cost a few requests, not one each.
//
// Thread-safety: not thread-safe; one fetcher per pull.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "index/index.h"
#include "repo/tree.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

struct FetchStats {
  std::uint64_t requests = 0;
  std::uint64_t objects = 0;
  std::uint64_t bytes = 0;  // sealed bytes read
};

class ObjectFetcher {
 public:
  // Borrows everything; all must outlive the fetcher.
  ObjectFetcher(Store& store, const VaultContext& ctx, Index& index);

  // Locations learned from snapshot bodies during this pull (not yet in the
  // index).
  void AddLocations(const std::vector<ObjectLocation>& locations);

  // Declares that object `id` will be needed `uses` more times (enables
  // coalescing and tells when a cached object can be dropped).
  Status Expect(const ObjectId& id, std::uint64_t uses = 1);

  // The plaintext of object (kind, id). Failures: not locatable
  // (KC_SYNC_APPLY_FAILED, not_found), store errors, and OpenObject's
  // (corrupt, hash_mismatch).
  Result<std::vector<std::uint8_t>> Fetch(ObjectKind kind, const ObjectId& id);

  // The location of `id`, if known.
  Result<std::optional<ObjectLocation>> Locate(const ObjectId& id);

  const FetchStats& stats() const { return stats_; }

 private:
  Status ReadSegment(const ObjectLocation& first);

  Store& store_;
  const VaultContext& ctx_;
  Index& index_;
  std::unordered_map<std::string, ObjectLocation> extra_;  // raw id -> location
  // Expected objects by blob, ordered by offset, with remaining uses.
  std::map<std::string, std::map<std::uint64_t, ObjectLocation>> expected_;
  std::unordered_map<std::string, std::uint64_t> uses_;  // raw id -> uses left
  // Sealed bytes read ahead, by raw id, until used.
  std::unordered_map<std::string, std::vector<std::uint8_t>> cache_;
  FetchStats stats_;
};

}  // namespace hx
