// Gets a push's new objects onto the store: objects the local index does not
// know are sealed (compressed and encrypted) and packed, and each full pack
// is uploaded as one blob.
//
// Determinism: objects are packed in a fixed order — the new chunks of the
// changed files in path order, then the trees in the order given — so the
// same changes give the same packs, blob ids and snapshot bytes, however the
// scanner's threads interleaved. Chunks are read back from the vault folder
// (the scan only computed their ids) and checked against their ids; sealing
// runs on worker threads, appending stays in order.
//
// Resuming: as soon as a pack's upload has returned (the store holds it
// durably), the pack and the objects in it are recorded in the local index
// as unpublished (index.h), so that a push interrupted by a crash, a reboot
// or a lost connection uploads on its rerun only what is missing. An
// object that the index knows only from an unpublished pack is skipped
// only after that pack was seen on the store with its recorded size (one
// List of its key per pack, at most once per push): a store restored from
// a backup since, or a pack lost otherwise, is uploaded again, never
// assumed. A reused object's location joins added() (the snapshot must
// list it: no published snapshot does yet). Packs are recorded in pack
// order, when the window of uploads in flight moves on or Flush waits; so
// a process killed at any instant re-sends at most the packs that were in
// flight (uploads_in_flight) and, killed right after a pack is recorded
// (checkpoint "push.pack_stored"), at most one.
//
// Thread-safety: not thread-safe; one uploader per push, used from one thread
// (it runs its own sealing workers and upload threads; the store must be
// thread-safe, as every Store is).
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/error.h"
#include "index/index.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

struct UploadStats {
  std::uint64_t objects = 0;  // objects packed by this push
  std::uint64_t blobs = 0;    // packs uploaded
  std::uint64_t bytes = 0;    // blob bytes uploaded
  std::uint64_t known = 0;    // objects the store already had (skipped)
  // Objects an earlier, interrupted push uploaded (in unpublished packs
  // seen on the store), skipped, and their sealed bytes.
  std::uint64_t resumed = 0;
  std::uint64_t resumed_bytes = 0;
  // Unpublished packs looked up on the store, and those found missing (or
  // of another size) and forgotten.
  std::uint64_t packs_verified = 0;
  std::uint64_t packs_lost = 0;
};

struct UploaderOptions {
  PackOptions pack;
  // Plaintext read and sealed per round; bounds the uploader's memory (about
  // twice this, plus one pack).
  std::uint64_t batch_bytes = std::uint64_t{8} << 20;
  // Sealing threads; 0: the number of cores, at most 4.
  int threads = 0;
  // Packs being uploaded at once, while the next ones are sealed. Over a
  // network store this overlaps the uploads' round trips; each costs one
  // pack of memory (about 16 MiB), unless the store streams writes (a
  // folder store: its commit's fsync, no memory). 1: one at a time, still
  // overlapping sealing.
  int uploads_in_flight = 2;
  // Changed files are read back through this Env. Null: Env::Default().
  Env* env = nullptr;
  // Called with "push.pack_stored" after each pack is recorded in the index
  // (the crash tests kill there). Null: none.
  std::function<void(std::string_view)> checkpoint;

  // The defaults, reading through `env`.
  static UploaderOptions ReadingThrough(Env* env) {
    UploaderOptions options;
    options.env = env;
    return options;
  }
};

class ObjectUploader {
 public:
  // Borrows everything; all must outlive the uploader.
  ObjectUploader(Store& store, const VaultContext& ctx, Index& index, UploaderOptions options = {});

  // Packs the chunks of `files` (vault-relative paths with their scanned
  // entries, in path order: pointers into the caller's state, which must
  // outlive the call, so that no path is copied) that the store lacks,
  // reading them from `vault`.
  // A file whose bytes no longer match the scan fails the push with
  // KC_SYNC_STATE_FAILED, category aborted ("changed during the push": run
  // it again).
  Status AddFileChunks(const std::filesystem::path& vault,
                       const std::vector<const EntryMap::value_type*>& files);

  // Packs one object unless the store or this push already has it.
  Status Add(ObjectKind kind, const ObjectId& id, std::span<const std::uint8_t> plaintext);

  // Uploads the last, partial pack and waits for every upload; the first
  // failed upload's error (an earlier one may also surface from Add).
  // Flush ends the packing: the pack buffers kept for reuse and the ids
  // handled are freed (a push's snapshot and commit come after it: ~23 MB
  // less at its peak with 100,000 new objects), and AddFileChunks or Add
  // after it fail with KC_SYNC_INTERNAL.
  Status Flush();

  // The locations of every object packed by this push (a copy).
  std::vector<ObjectLocation> added() const;
  // Moves added() out (left empty; relied_packs() then no longer names
  // their packs), so that a push hands it on without a copy; GiveBackAdded
  // puts such a list back. Only after Flush (no upload left to record).
  std::vector<ObjectLocation> TakeAdded();
  void GiveBackAdded(std::vector<ObjectLocation> added);
  // The packs the snapshot relies on: those of the objects skipped because
  // the index locates them, and those of added() (the push checks them
  // against a prune that ran meanwhile: sync/prune_guard.h).
  std::set<std::string> relied_packs() const;
  const UploadStats& stats() const { return stats_; }

 private:
  struct Pending {
    ObjectKind kind;
    ObjectId id;
    std::vector<std::uint8_t> sealed;
    std::uint64_t raw_length;
  };
  // True if the object needs packing (not known to the index or this push).
  // The index locates exactly what the history of the head this device
  // synced records: a pull of a head that does not descend from the base
  // rebuilds it from that head's history (SyncedState::history), so an
  // object that only abandoned snapshots located is packed again, never
  // skipped because this device once uploaded it.
  Result<bool> IsNew(const ObjectId& id);
  // An upload under way and what recording it takes: its locations are
  // added_[segment] (not a copy: ~16 MB for a pack of 100,000 tiny
  // objects).
  struct InFlight {
    std::future<Status> done;
    UnpublishedPack pack;
    std::size_t segment = 0;
  };
  Status Append(Pending pending);
  // Writes the pack's bytes so far to out_ (started on its first drain).
  Status DrainPack();
  Status Upload(FinishedPack pack);
  // Waits for the oldest uploads until at most `keep` are under way, and
  // records every finished one at the front (in pack order) as well.
  Status Harvest(std::size_t keep);
  // Records a finished upload as an unpublished pack (best effort: a pack
  // not recorded is only uploaded again by a rerun).
  void Record(const InFlight& upload);
  // Whether the unpublished pack `blob_id` is on the store with its
  // recorded size (asked once per push); a pack that is not is forgotten.
  Result<bool> UnpublishedPackStored(const std::string& blob_id);

  Store& store_;
  const VaultContext& ctx_;
  Index& index_;
  UploaderOptions options_;
  PackWriter writer_;
  // A store that streams writes (a folder store) gets each pack's bytes as
  // it fills, at least kDrainBytes at a time, through out_ (null until the
  // pack's first drain): no pack is held in memory whole (two at a time
  // otherwise, one filling and one uploading: 34 MB at the peak of a first
  // push of 100,000 files).
  static constexpr std::uint64_t kDrainBytes = std::uint64_t{1} << 20;
  const bool streaming_;
  std::unique_ptr<StoreWriter> out_;
  // Ids are keyed hashes (uniform): their first 8 bytes are a good hash.
  struct IdHash {
    std::size_t operator()(const ObjectId& id) const {
      std::size_t h = 0;
      std::memcpy(&h, id.data(), sizeof(h));
      return h;
    }
  };
  // The ids handled by this push (as arrays, not strings: ~50 bytes less
  // each, 5 MB at 100,000 new objects).
  std::unordered_set<ObjectId, IdHash> seen_;
  bool flushed_ = false;  // Flush ran: no more packing
  Status CheckNotFlushed() const;
  std::set<std::string> known_packs_;      // packs of objects skipped as known
  // The locations of added(), in order: one segment per pack (its id once,
  // and its objects: repo/vault_context.h PackedObject), and one for each
  // run of resumed objects between
  // packs (each in a pack of its own: whole locations). Never one vector
  // grown by doubling: at 100,000 objects that held up to twice the ~17 MB
  // list, and both the old and the new buffer while it moved, at the peak
  // of a first push.
  struct Segment {
    bool pack = false;
    std::string blob_id;                  // pack: the pack of every object
    std::vector<PackedObject> objects;    // pack: in offset order
    std::vector<ObjectLocation> resumed;  // not a pack
    std::size_t size() const { return pack ? objects.size() : resumed.size(); }
    // Appends the segment's locations to `out`.
    void AppendTo(std::vector<ObjectLocation>& out) const;
  };
  std::vector<Segment> added_;
  UploadStats stats_;
  // Unpublished packs recorded by earlier pushes (their sizes), loaded at
  // construction; empty: no lookup per object. Each checked on the store at
  // most once (pack_checked_).
  std::unordered_map<std::string, std::uint64_t> unpublished_;
  std::unordered_map<std::string, bool> pack_checked_;
  // Buffers of packs whose upload ended, for the next packs
  // (PackWriter::Reuse): at most one, at most twice
  // the pack target. Guarded by spare_mu_ (the uploads return them).
  void Recycle(std::vector<std::uint8_t> buffer);
  std::vector<std::uint8_t> TakeSpare();
  std::mutex spare_mu_;
  std::vector<std::vector<std::uint8_t>> spare_;
  // Uploads under way, oldest first; at most options_.uploads_in_flight.
  // Destroying them waits for them (std::async futures), so no upload
  // outlives the uploader or the store it borrows.
  std::deque<InFlight> uploads_;
};

}  // namespace hx
