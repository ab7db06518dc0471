// Gets new objects onto the store during a push: objects that neither the
// local index nor this push already knows are sealed into packs, and each
// full pack is uploaded as one blob. Called from the scanner's threads, so a
// changed file is read once: its chunks are hashed and, if new, packed as
// they stream by.
//
// Thread-safety: Add() and Flush() are thread-safe. Sealing (compression and
// encryption) runs on the caller's thread; the index and the pack under
// construction are guarded by one mutex; uploads run outside it.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "base/mutex.h"
#include "index/index.h"
#include "repo/pack.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

struct UploadStats {
  std::uint64_t objects = 0;  // objects packed by this push
  std::uint64_t blobs = 0;    // packs uploaded
  std::uint64_t bytes = 0;    // blob bytes uploaded
  std::uint64_t known = 0;    // objects the store already had (skipped)
};

class ObjectUploader {
 public:
  // Borrows everything; all must outlive the uploader.
  ObjectUploader(Store& store, const VaultContext& ctx, Index& index, PackOptions options = {});

  // Ensures the store will hold object (kind, id) with this plaintext once
  // Flush() has succeeded. After the first failure every call returns it
  // (the push then stops); uploaded packs stay on the store, unreferenced,
  // and their objects are reused by the next push only if it packs them
  // again (they are not indexed until a snapshot names them).
  Status Add(ObjectKind kind, const ObjectId& id, std::span<const std::uint8_t> plaintext);

  // Uploads the last, partial pack.
  Status Flush();

  // The first error any call met, if any.
  Status status() const;
  // The locations of every object packed by this push.
  std::vector<ObjectLocation> added() const;
  UploadStats stats() const;

 private:
  Status Upload(FinishedPack pack) HX_EXCLUDES(mu_);
  void Fail(const Error& error) HX_EXCLUDES(mu_);

  Store& store_;
  const VaultContext& ctx_;
  Index& index_;
  mutable Mutex mu_;
  PackWriter writer_ HX_GUARDED_BY(mu_);
  std::unordered_set<std::string> seen_ HX_GUARDED_BY(mu_);  // raw ids packed by this push
  std::vector<ObjectLocation> added_ HX_GUARDED_BY(mu_);
  UploadStats stats_ HX_GUARDED_BY(mu_);
  std::optional<Error> error_ HX_GUARDED_BY(mu_);
};

}  // namespace hx
