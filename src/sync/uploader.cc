#include "sync/uploader.h"

#include <string>
#include <utility>

namespace hx {

ObjectUploader::ObjectUploader(Store& store, const VaultContext& ctx, Index& index,
                               PackOptions options)
    : store_(store), ctx_(ctx), index_(index), writer_(ctx, options) {}

void ObjectUploader::Fail(const Error& error) {
  MutexLock lock(mu_);
  if (!error_) error_ = error;
}

Status ObjectUploader::status() const {
  MutexLock lock(mu_);
  if (error_) return *error_;
  return OkStatus();
}

Status ObjectUploader::Add(ObjectKind kind, const ObjectId& id,
                           std::span<const std::uint8_t> plaintext) {
  std::optional<FinishedPack> full;
  {
    MutexLock lock(mu_);
    if (error_) return *error_;
    std::string key(reinterpret_cast<const char*>(id.data()), id.size());
    if (seen_.count(key) != 0) return OkStatus();
    auto known = index_.HasObject(id);
    if (!known.ok()) {
      error_ = known.error();
      return *error_;
    }
    if (*known) {
      ++stats_.known;
      seen_.insert(std::move(key));
      return OkStatus();
    }
    if (!writer_.HasRoomFor(plaintext.size())) full = writer_.Finish();
    auto added = writer_.Add(kind, id, plaintext);
    if (!added.ok()) {
      error_ = added.error();
      return *error_;
    }
    seen_.insert(std::move(key));
    ++stats_.objects;
  }
  if (full) return Upload(std::move(*full));
  return OkStatus();
}

Status ObjectUploader::Flush() {
  std::optional<FinishedPack> last;
  {
    MutexLock lock(mu_);
    if (error_) return *error_;
    if (!writer_.empty()) last = writer_.Finish();
  }
  if (last) return Upload(std::move(*last));
  return OkStatus();
}

Status ObjectUploader::Upload(FinishedPack pack) {
  // A pack's name is the hash of its bytes, so re-uploading the same pack
  // after a crash writes the same object: Put is idempotent here.
  Status put = store_.Put(BlobKey(pack.blob_id), pack.bytes);
  if (!put.ok()) {
    Fail(put.error());
    return put;
  }
  MutexLock lock(mu_);
  ++stats_.blobs;
  stats_.bytes += pack.bytes.size();
  added_.insert(added_.end(), pack.locations.begin(), pack.locations.end());
  return OkStatus();
}

std::vector<ObjectLocation> ObjectUploader::added() const {
  MutexLock lock(mu_);
  return added_;
}

UploadStats ObjectUploader::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

}  // namespace hx
