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
// Thread-safety: not thread-safe; one uploader per push, used from one thread
// (it runs its own sealing workers and upload threads; the store must be
// thread-safe, as every Store is).
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <optional>
#include <span>
#include <string>
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
  // pack of memory (about 16 MiB). 1: one at a time, still overlapping
  // sealing.
  int uploads_in_flight = 2;
  // Changed files are read back through this Env. Null: Env::Default().
  Env* env = nullptr;

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
  // entries, in path order) that the store lacks, reading them from `vault`.
  // A file whose bytes no longer match the scan fails the push with
  // KC_SYNC_STATE_FAILED, category aborted ("changed during the push": run
  // it again).
  Status AddFileChunks(const std::filesystem::path& vault,
                       const std::vector<std::pair<std::string, const Entry*>>& files);

  // Packs one object unless the store or this push already has it.
  Status Add(ObjectKind kind, const ObjectId& id, std::span<const std::uint8_t> plaintext);

  // Uploads the last, partial pack and waits for every upload; the first
  // failed upload's error (an earlier one may also surface from Add).
  Status Flush();

  // The locations of every object packed by this push.
  const std::vector<ObjectLocation>& added() const { return added_; }
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
  Status Append(Pending pending);
  Status Upload(FinishedPack pack);

  Store& store_;
  const VaultContext& ctx_;
  Index& index_;
  UploaderOptions options_;
  PackWriter writer_;
  std::unordered_set<std::string> seen_;  // raw ids handled by this push
  std::vector<ObjectLocation> added_;
  UploadStats stats_;
  // Uploads under way, oldest first; at most options_.uploads_in_flight.
  // Destroying them waits for them (std::async futures), so no upload
  // outlives the uploader or the store it borrows.
  std::deque<std::future<Status>> uploads_;
};

}  // namespace hx
