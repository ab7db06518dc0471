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
// With read-ahead (ReadAhead), the reads of what the caller declared it will
// need run ahead of it: up to a few ranged reads in flight at once on worker
// threads, in the order the objects were first declared (the apply order),
// holding a bounded window of read, not yet fetched bytes. Against a distant
// store the round trips then overlap each other and the caller's decrypting
// and writing, instead of adding up one request at a time (issue 15, item 6).
//
// Thread-safety: not thread-safe; one fetcher per pull, called from one
// thread (its read-ahead workers are internal).
#pragma once

#include <cstddef>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
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
  // Objects the read-ahead's plans walked (each read it starts is planned
  // by a walk over the expected objects that follow): a bound on its cost
  // that tests check, kept in proportion to the objects fetched.
  std::uint64_t planned = 0;
};

class ObjectFetcher {
 public:
  // Borrows everything; all must outlive the fetcher.
  ObjectFetcher(Store& store, const VaultContext& ctx, Index& index);
  // Waits for the read-ahead requests in flight (bounded by the store's own
  // deadlines) and drops what they read.
  ~ObjectFetcher();
  ObjectFetcher(const ObjectFetcher&) = delete;
  ObjectFetcher& operator=(const ObjectFetcher&) = delete;

  // Read-ahead for a caller that fetches in the order it declares (the
  // applier): the objects declared with Expect from now on are read ahead in
  // the order of their first declaration, with up to `requests` ranged reads
  // in flight and at most `window_bytes` of sealed bytes read ahead and not
  // yet fetched (in flight or kept; each object also counts a fixed cost for
  // its bookkeeping, so a window of tiny objects holds what it counts; a
  // single read larger than the window is still made, alone). A read covers the objects that follow closely in the
  // same pack (coalesced as without read-ahead, up to kAheadSegmentBytes).
  // What it changes is only when bytes are read: each Fetch returns what it
  // returns without read-ahead. An object read ahead whose place in the order
  // the caller passes without fetching it (its item was skipped) is dropped,
  // and read again if it is fetched later; a failed read-ahead is forgotten,
  // and the Fetch that needs one of its objects reads it itself (and fails
  // with that read's error). requests 0: off (the default).
  static constexpr std::uint64_t kAheadSegmentBytes = std::uint64_t{4} << 20;
  void ReadAhead(int requests, std::uint64_t window_bytes);
  // Ends the read-ahead of a phase (the tree walk, the apply): turns it off
  // (as requests 0), drops the reads queued, waits for those in flight and
  // stops the workers, then drops every object read ahead and not fetched
  // (a caller that fetches one later reads it itself). What a phase read
  // ahead and never took (an item skipped at the end of the order, a
  // prefetched subtree not loaded) is then not held, nor counted in the
  // window, until the fetcher dies. Objects fetched and kept for their next
  // use stay. ReadAhead may start it again.
  void EndReadAhead();
  // The sealed bytes read ahead and not yet fetched, or being read (the
  // window's use).
  std::uint64_t read_ahead_bytes() const;

  // Keeps every object fetched from now on in `journal`, and takes objects
  // it keeps from there first (null: none). Borrowed: it must outlive the
  // fetcher's use, or be unset first.
  void KeepFetchedIn(FetchJournal* journal) { journal_ = journal; }

  // Locations learned from snapshot bodies during this pull (not yet in the
  // index). Taken by value and freed: they are kept in a compact form (each
  // names its pack by number; 64 bytes an object instead of ~170).
  void AddLocations(std::vector<ObjectLocation> locations);

  // Hands over the locations added with AddLocations (for the index),
  // sorted by id, one per id (the first added wins), and forgets them:
  // Locate then finds only what the index knows.
  std::vector<ObjectLocation> TakeLearned();

  // Reads `ids` ahead on the read-ahead workers (with ReadAhead on; else
  // nothing): objects the caller will Fetch soon in an order it cannot
  // declare (a tree's subtrees, loaded depth first), coalesced by pack,
  // unless cached, being read, kept by the journal, not locatable, or
  // already prefetched since ReadAhead (one fetched since would otherwise be
  // read again and held until EndReadAhead: the tree walk loads each tree id
  // once, however many directories list it). Stops at the window. Like
  // read-ahead, it changes when bytes are read, never what Fetch returns.
  // Errors: Locate's.
  Status Prefetch(const std::vector<ObjectId>& ids);

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

  // A copy (read-ahead workers update it).
  FetchStats stats() const;

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

  using ExpectedByBlob = std::map<std::string, std::map<std::uint64_t, Expected>>;
  // One object a read covers, and its place in the read-ahead order.
  struct Covered {
    std::uint64_t offset = 0;
    Expected object;
    std::size_t order = 0;
  };
  // One ranged read of a pack.
  struct Segment {
    std::string blob;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::vector<Covered> covered;
  };
  // Bytes read and not yet used. `ahead`: read ahead and not yet fetched
  // (they count in the window).
  struct Cached {
    std::vector<std::uint8_t> bytes;
    bool ahead = false;
  };
  struct Uses {
    std::uint64_t left = 0;
    std::size_t order = kNoOrder;  // place in order_, if read ahead
  };
  // An expected object in the read-ahead order (its blob's node in
  // expected_ and its offset there; the node outlives the fetcher's use).
  struct OrderEntry {
    ExpectedByBlob::iterator blob;
    std::uint64_t offset = 0;
  };
  static constexpr std::size_t kNoOrder = static_cast<std::size_t>(-1);

  // The read starting at `first` (kept in the blob `first_blob` of
  // expected_, if any) extended over the expected objects that follow it
  // closely, neither cached nor in flight, up to `max_bytes`. Under mu_.
  Segment PlanSegment(const std::string& blob, std::uint64_t offset, const Expected& first,
                      std::size_t first_order, std::uint64_t max_bytes);
  Status ReadSegment(const ObjectLocation& first);
  // The sealed bytes of `loc`'s object: read ahead, or read now.
  Status TakeSealed(const ObjectLocation& loc, std::vector<std::uint8_t>* out);

  // Read-ahead, under mu_: drops what was read ahead for the objects before
  // order place `to` (passed over), then starts reads until the requests or
  // the window are full.
  void PassTo(std::size_t to);
  void Pump();
  // What a read in flight counts in the window: its bytes and a fixed cost
  // per object it covers.
  static std::uint64_t SegmentCharge(const Segment& segment);
  // Whether a read of `charge` (SegmentCharge) does not fit the window now (one
  // always fits an empty window).
  bool WindowFull(std::uint64_t charge) const;
  // Queues `segment` for a worker unless the window is full (false).
  bool Dispatch(Segment segment);
  void Work();

  // Counts one use of `id` and drops what will not be needed again (the
  // cached bytes, the expected entry at `loc`, if any).
  void Used(const ObjectId& id, const ObjectLocation* loc);

  // A location learned from a snapshot body; its pack is learned_blobs_[blob]
  // (a 64-character id string per object was more than half the record).
  struct Learned {
    ObjectId id{};
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint64_t raw_length = 0;
    std::uint32_t blob = 0;
    ObjectKind kind = ObjectKind::kChunk;
  };
  ObjectLocation Expand(const Learned& learned) const;

  Store& store_;
  const VaultContext& ctx_;
  Index& index_;
  FetchJournal* journal_ = nullptr;
  std::vector<Learned> learned_;  // sorted by id, unique
  std::vector<std::string> learned_blobs_;
  // Expected objects by blob, ordered by offset. Ids and lengths only: a
  // pull of 100,000 files expects 100,000 objects.
  ExpectedByBlob expected_;
  std::unordered_map<ObjectId, Uses, IdHash> uses_;
  // Read-ahead (caller's thread only): the order, the next place to read
  // and the limits.
  std::vector<OrderEntry> order_;
  std::size_t next_ = 0;
  // The place whose read did not fit the window when last planned, and that
  // read's SegmentCharge (Pump).
  std::size_t blocked_at_ = kNoOrder;
  std::uint64_t blocked_charge_ = 0;
  int max_requests_ = 0;
  std::uint64_t window_bytes_ = 0;
  // The ids Prefetch read ahead since ReadAhead (cleared by EndReadAhead).
  std::unordered_set<ObjectId, IdHash> prefetched_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;    // a read queued, or stopping
  std::condition_variable landed_cv_;  // a read-ahead done
  // Guarded by mu_: sealed bytes read, until used; the objects being read
  // ahead; queued reads; reads queued or running; window bytes held (in
  // flight: the whole read; landed: the objects kept); the order place of
  // the object last fetched (read-ahead before it that lands is dropped).
  std::unordered_map<ObjectId, Cached, IdHash> cache_;
  std::unordered_set<ObjectId, IdHash> in_flight_;
  std::deque<Segment> queue_;
  int requests_ = 0;
  std::uint64_t window_used_ = 0;
  std::size_t passed_ = 0;
  bool stop_ = false;
  FetchStats stats_;
  std::vector<std::thread> workers_;
};

}  // namespace hx
