// Fetches objects for a pull: finds each object's location (the local index,
// or the snapshot bodies this pull imported), reads it with a ranged read of
// its pack, authenticates and opens it. Reads are coalesced: when an object
// is needed, the objects this pull will need from the same pack that follow
// it closely are read in the same request and kept until used, so many small
// files cost a few requests, not one each.
//
// With a journal (KeepFetchedIn, fetch_journal.h), every object fetched and
// opened is also appended to it, and an object the journal keeps (from an
// earlier run of the same pull that was interrupted) is taken from there,
// once it verifies, instead of from the store: a rerun fetches only what is
// missing.
//
// Thread-safety: not thread-safe; one fetcher per pull.
#pragma once

#include <cstddef>
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

class FetchJournal;  // fetch_journal.h

struct FetchStats {
  std::uint64_t requests = 0;
  std::uint64_t objects = 0;
  std::uint64_t bytes = 0;  // sealed bytes read
  // Objects taken from the journal instead of the store, and their bytes.
  std::uint64_t journal_objects = 0;
  std::uint64_t journal_bytes = 0;
};

class ObjectFetcher {
 public:
  // Borrows everything; all must outlive the fetcher.
  ObjectFetcher(Store& store, const VaultContext& ctx, Index& index);

  // Keeps every object fetched from now on in `journal`, and takes objects
  // it keeps from there first (null: none). Borrowed: it must outlive the
  // fetcher's use, or be unset first.
  void KeepFetchedIn(FetchJournal* journal) { journal_ = journal; }

  // Locations learned from snapshot bodies during this pull (not yet in the
  // index). Taken by value: a caller that no longer needs them moves them
  // in, so the pull holds one copy (at 100,000 objects, ~17 MB each).
  void AddLocations(std::vector<ObjectLocation> locations);

  // The locations added with AddLocations, sorted by id, one per id (the
  // first added wins).
  const std::vector<ObjectLocation>& learned() const { return learned_; }
  // Hands them over (for the index) and forgets them: Locate then finds
  // only what the index knows.
  std::vector<ObjectLocation> TakeLearned();

  // Declares that object `id` will be needed `uses` more times (enables
  // coalescing and tells when a cached object can be dropped).
  Status Expect(const ObjectId& id, std::uint64_t uses = 1);

  // The plaintext of object (kind, id). Failures name the object (details
  // object, kind, and blob when located; the message says which pack):
  // not locatable (KC_SYNC_APPLY_FAILED, not_found); a pack that is missing
  // or too short for the object, or bytes that do not open (OpenObject: a
  // damaged or foreign pack): KC_SYNC_APPLY_FAILED with the category
  // (not_found, corrupt, hash_mismatch); other store errors keep their
  // code (network, auth, ...).
  Result<std::vector<std::uint8_t>> Fetch(ObjectKind kind, const ObjectId& id);

  // The location of `id`, if known.
  Result<std::optional<ObjectLocation>> Locate(const ObjectId& id);

  const FetchStats& stats() const { return stats_; }

 private:
  // What a segment read needs of an expected object (its blob is the key
  // of the map that holds it, its offset the key within).
  struct Expected {
    ObjectId id{};
    std::uint64_t length = 0;
  };
  struct IdHash {
    std::size_t operator()(const ObjectId& id) const;
  };

  Status ReadSegment(const ObjectLocation& first);

  // Counts one use of `id` and drops what will not be needed again (the
  // cached bytes, the expected entry at `loc`, if any).
  void Used(const ObjectId& id, const ObjectLocation* loc);

  Store& store_;
  const VaultContext& ctx_;
  Index& index_;
  FetchJournal* journal_ = nullptr;
  std::vector<ObjectLocation> learned_;  // sorted by id, unique
  // Expected objects by blob, ordered by offset. Ids and lengths only: a
  // pull of 100,000 files expects 100,000 objects.
  std::map<std::string, std::map<std::uint64_t, Expected>> expected_;
  std::unordered_map<ObjectId, std::uint64_t, IdHash> uses_;  // uses left
  // Sealed bytes read ahead, until used.
  std::unordered_map<ObjectId, std::vector<std::uint8_t>, IdHash> cache_;
  FetchStats stats_;
};

}  // namespace hx
