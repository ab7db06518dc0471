#include "sync/uploader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <thread>

#include "base/hex.h"
#include "base/os_error.h"
#include "repo/object_codec.h"

namespace hx {
namespace {

struct ChunkTask {
  const std::string* path;
  std::uint64_t offset;
  std::uint64_t size;
  ObjectId id;
};

Error ChangedDuringPush(const std::string& path) {
  return Error(SyncCode::kStateFailed, Category::kAborted,
               path + " changed while it was being pushed; nothing was published. Run the push "
                      "again")
      .With("path", path);
}

// Reads one chunk of a file into `bytes` (its size); a short read means the
// file changed.
Status ReadChunk(Env& env, int fd, const ChunkTask& task, std::span<std::uint8_t> bytes) {
  std::uint64_t done = 0;
  while (done < task.size) {
    std::size_t n = 0;
    const int err = env.PRead(fd, bytes.data() + done, task.size - done, task.offset + done, &n);
    if (err != 0) {
      return OsError(SyncCode::kStateFailed, "cannot read", *task.path, err);
    }
    if (n == 0) return ChangedDuringPush(*task.path);
    done += n;
  }
  return OkStatus();
}

}  // namespace

ObjectUploader::ObjectUploader(Store& store, const VaultContext& ctx, Index& index,
                               UploaderOptions options)
    : store_(store), ctx_(ctx), index_(index), options_(options),
      writer_(ctx, options.pack,
              store.streams_writes() ? PackWriter::Buffering::kDrained
                                     : PackWriter::Buffering::kWhole),
      streaming_(store.streams_writes()) {
  if (options_.threads <= 0) {
    options_.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  }
  // Best effort: an index that cannot list them resumes nothing.
  Result<std::vector<UnpublishedPack>> packs = index_.LoadUnpublishedPacks();
  if (packs.ok()) {
    for (UnpublishedPack& pack : *packs) unpublished_.emplace(std::move(pack.blob_id), pack.size);
  }
}

Status ObjectUploader::CheckNotFlushed() const {
  if (!flushed_) return OkStatus();
  return Error(SyncCode::kInternal, Category::kInternal,
               "uploader: an object was added after Flush ended the packing");
}

Result<bool> ObjectUploader::IsNew(const ObjectId& id) {
  if (!seen_.insert(id).second) return false;
  HX_ASSIGN_OR_RETURN(const std::optional<ObjectLocation> known, index_.FindObject(id));
  if (known) {
    ++stats_.known;
    known_packs_.insert(known->blob_id);
    return false;
  }
  if (unpublished_.empty()) return true;
  HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> earlier, index_.FindUnpublishedObject(id));
  if (!earlier) return true;
  HX_ASSIGN_OR_RETURN(const bool stored, UnpublishedPackStored(earlier->blob_id));
  if (!stored) return true;
  ++stats_.resumed;
  stats_.resumed_bytes += earlier->length;
  if (added_.empty() || added_.back().pack) added_.emplace_back();
  added_.back().resumed.push_back(std::move(*earlier));
  return false;
}

void ObjectUploader::Segment::AppendTo(std::vector<ObjectLocation>& out) const {
  if (!pack) {
    out.insert(out.end(), resumed.begin(), resumed.end());
    return;
  }
  for (const PackedObject& object : objects) out.push_back(object.In(blob_id));
}

std::vector<ObjectLocation> ObjectUploader::added() const {
  std::size_t count = 0;
  for (const Segment& segment : added_) count += segment.size();
  std::vector<ObjectLocation> all;
  all.reserve(count);
  for (const Segment& segment : added_) segment.AppendTo(all);
  return all;
}

std::vector<ObjectLocation> ObjectUploader::TakeAdded() {
  std::size_t count = 0;
  for (const Segment& segment : added_) count += segment.size();
  std::vector<ObjectLocation> all;
  all.reserve(count);
  // Each segment freed once listed: the list is held about once, not twice.
  for (Segment& segment : added_) {
    segment.AppendTo(all);
    segment = Segment();
  }
  added_.clear();
  return all;
}

void ObjectUploader::GiveBackAdded(std::vector<ObjectLocation> added) {
  added_.clear();
  Segment& segment = added_.emplace_back();
  segment.resumed = std::move(added);
}

std::set<std::string> ObjectUploader::relied_packs() const {
  std::set<std::string> packs = known_packs_;
  for (const Segment& segment : added_) {
    if (segment.pack) packs.insert(segment.blob_id);
    for (const ObjectLocation& loc : segment.resumed) packs.insert(loc.blob_id);
  }
  return packs;
}

Result<bool> ObjectUploader::UnpublishedPackStored(const std::string& blob_id) {
  auto checked = pack_checked_.find(blob_id);
  if (checked != pack_checked_.end()) return checked->second;
  auto recorded = unpublished_.find(blob_id);
  bool stored = false;
  if (recorded != unpublished_.end()) {
    // One List of the pack's own key: its presence and its size in one
    // request (a pack is named by the hash of its bytes, so a pack of the
    // recorded size under that name is the pack that was uploaded).
    const std::string key = BlobKey(blob_id);
    HX_ASSIGN_OR_RETURN(std::vector<StoreObjectInfo> listed, store_.List(key));
    ++stats_.packs_verified;
    for (const StoreObjectInfo& info : listed) {
      if (info.key == key && info.size == recorded->second) stored = true;
    }
  }
  if (!stored) {
    // Lost (a store restored from a backup, a pack deleted): forget it, so
    // that its objects are packed and uploaded again.
    ++stats_.packs_lost;
    Result<Index::Transaction> txn = index_.Begin();
    if (txn.ok() && txn->ForgetUnpublishedPack(blob_id).ok()) (void)txn->Commit();
  }
  pack_checked_.emplace(blob_id, stored);
  return stored;
}

namespace {
// A read batch holds at most this many chunks as well as batch_bytes: each
// chunk sealed is a vector of its own beside a 144-byte slot, so 8 MiB of
// tiny files (a first push of 100,000 small files: all of them in one
// batch) held ~20 MB at the push's peak. 1,024 small files (corpus B's:
// 0-8 KiB) are ~4 MiB read and ~3 MB sealed, where a batch of 8 MiB held
// ~8 MiB and ~6 MB at the first push's peak; chunks of large files (1 MiB
// on average) still fill batch_bytes, and 1,024 chunks still give every
// sealing thread many.
constexpr std::size_t kMaxBatchChunks = 1024;
}  // namespace

Status ObjectUploader::AddFileChunks(
    const std::filesystem::path& vault,
    const std::vector<const EntryMap::value_type*>& files) {
  HX_RETURN_IF_ERROR(CheckNotFlushed());
  // The chunks to pack, one read batch at a time, in file order: never a
  // task for every chunk at once (56 bytes each: 5.6 MB at 100,000 new
  // files, 56 MB at a million). A batch holds at most batch_bytes and
  // kMaxBatchChunks (one chunk at least); the chunk that does not fit is
  // carried to the next.
  std::size_t file_at = 0;
  std::size_t chunk_at = 0;
  std::uint64_t file_offset = 0;
  std::optional<ChunkTask> carried;
  std::vector<ChunkTask> tasks;
  std::uint64_t batch = 0;
  const auto fill = [&]() -> Status {
    tasks.clear();
    batch = 0;
    if (carried) {
      tasks.push_back(*carried);
      batch = carried->size;
      carried.reset();
    }
    while (file_at < files.size()) {
      const EntryMap::value_type& file = *files[file_at];
      if (chunk_at == file.second.chunks.size()) {
        ++file_at;
        chunk_at = 0;
        file_offset = 0;
        continue;
      }
      const ChunkRef& chunk = file.second.chunks[chunk_at++];
      const ChunkTask task{&file.first, file_offset, chunk.size, chunk.id};
      file_offset += chunk.size;
      HX_ASSIGN_OR_RETURN(const bool fresh, IsNew(chunk.id));
      if (!fresh) continue;
      if (!tasks.empty() &&
          (batch + task.size > options_.batch_bytes || tasks.size() >= kMaxBatchChunks)) {
        carried = task;
        break;
      }
      tasks.push_back(task);
      batch += task.size;
    }
    return OkStatus();
  };

  Env& env = options_.env != nullptr ? *options_.env : Env::Default();
  Fd file;
  const std::string* open_path = nullptr;
  auto close_fd = [&] { file.reset(); };
  // A batch is read into one buffer, reused from batch to batch (its pages
  // stay mapped: not zeroed again by the kernel for every chunk), each
  // chunk at its offset: one allocation of batch_bytes, where a buffer per
  // chunk held up to twice that (each keeps the largest chunk it ever
  // read). Only a chunk larger than a batch (read alone) grows it; it is
  // dropped again when it exceeds two batches.
  std::vector<std::uint8_t> plain;
  std::vector<std::size_t> starts;  // of each chunk of the batch in `plain`
  for (;;) {
    // Read one batch in order (files are read sequentially)...
    HX_RETURN_IF_ERROR(fill());
    if (tasks.empty()) break;
    if (plain.size() < batch) {
      plain.reserve(static_cast<std::size_t>(batch));  // exactly: resize alone may double it
      plain.resize(static_cast<std::size_t>(batch));
    }
    starts.clear();
    std::size_t at = 0;
    for (const ChunkTask& task : tasks) {
      if (open_path != task.path) {
        close_fd();
        int raw = -1;
        const int err = env.Open(AT_FDCWD, (vault / *task.path).c_str(), O_RDONLY, 0, &raw);
        if (err == ENOENT || err == ENOTDIR) return ChangedDuringPush(*task.path);
        if (err != 0) return OsError(SyncCode::kStateFailed, "cannot open", *task.path, err);
        file = Fd(env, raw);
        open_path = task.path;
      }
      const std::span<std::uint8_t> bytes(plain.data() + at, task.size);
      if (Status read = ReadChunk(env, file.get(), task, bytes); !read.ok()) {
        close_fd();
        return read;
      }
      starts.push_back(at);
      at += task.size;
    }
    // ...check and seal it on the workers...
    const std::size_t count = tasks.size();
    std::vector<std::optional<Result<std::vector<std::uint8_t>>>> sealed(count);
    auto work = [&](std::size_t first, std::size_t stride) {
      for (std::size_t i = first; i < count; i += stride) {
        const ChunkTask& task = tasks[i];
        const std::span<const std::uint8_t> bytes(plain.data() + starts[i], task.size);
        if (ComputeObjectId(ctx_, ObjectKind::kChunk, bytes) != task.id) {
          sealed[i] = ChangedDuringPush(*task.path);
          continue;
        }
        sealed[i] = SealObject(ctx_, ObjectKind::kChunk, task.id, bytes,
                               options_.pack.zstd_level);
      }
    };
    const std::size_t workers =
        std::min<std::size_t>(static_cast<std::size_t>(options_.threads), count);
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work, t, workers);
    work(0, workers);
    for (std::thread& t : threads) t.join();
    // ...and append it in order.
    for (std::size_t i = 0; i < count; ++i) {
      if (!sealed[i]->ok()) {
        close_fd();
        return std::move(*sealed[i]).error();
      }
      HX_RETURN_IF_ERROR(Append({ObjectKind::kChunk, tasks[i].id,
                                 std::move(*sealed[i]).value(), tasks[i].size}));
    }
    if (plain.size() > 2 * options_.batch_bytes) plain = std::vector<std::uint8_t>();
  }
  close_fd();
  return OkStatus();
}

Status ObjectUploader::Add(ObjectKind kind, const ObjectId& id,
                           std::span<const std::uint8_t> plaintext) {
  HX_RETURN_IF_ERROR(CheckNotFlushed());
  HX_ASSIGN_OR_RETURN(const bool fresh, IsNew(id));
  if (!fresh) return OkStatus();
  HX_ASSIGN_OR_RETURN(std::vector<std::uint8_t> sealed,
                      SealObject(ctx_, kind, id, plaintext, options_.pack.zstd_level));
  return Append({kind, id, std::move(sealed), plaintext.size()});
}

Status ObjectUploader::Append(Pending pending) {
  // By the sealed size: compressed objects fill a pack to its target.
  if (!writer_.HasRoomForSealed(pending.sealed.size())) {
    HX_RETURN_IF_ERROR(Upload(writer_.Finish()));
    writer_.Reuse(TakeSpare());
  }
  if (writer_.AddSealed(pending.kind, pending.id, pending.sealed, pending.raw_length)) {
    ++stats_.objects;
  }
  if (streaming_ && writer_.undrained() >= kDrainBytes) return DrainPack();
  return OkStatus();
}

Status ObjectUploader::DrainPack() {
  if (!out_) {
    HX_ASSIGN_OR_RETURN(out_, store_.StartWrite());
  }
  return writer_.Drain([this](std::span<const std::uint8_t> bytes) { return out_->Append(bytes); });
}

Status ObjectUploader::Flush() {
  flushed_ = true;
  // Nothing more is packed: the ids handled go now, before the last pack is
  // finished and before the records' index writes.
  seen_ = std::unordered_set<ObjectId, IdHash>();
  Status last = writer_.empty() ? OkStatus() : Upload(writer_.Finish());
  // Wait for all, so that none is still writing when the push goes on (or
  // gives up); record each that succeeded; report the oldest failure.
  Status first = OkStatus();
  while (!uploads_.empty()) {
    Status done = uploads_.front().done.get();
    {
      // The buffer the upload gave back is not needed any more.
      std::lock_guard<std::mutex> lock(spare_mu_);
      spare_ = std::vector<std::vector<std::uint8_t>>();
    }
    if (done.ok()) Record(uploads_.front());
    uploads_.pop_front();
    if (first.ok() && !done.ok()) first = std::move(done);
  }
  if (!first.ok()) return first;
  return last;
}

Status ObjectUploader::Harvest(std::size_t keep) {
  while (!uploads_.empty()) {
    InFlight& front = uploads_.front();
    if (uploads_.size() <= keep &&
        front.done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      break;
    }
    Status done = front.done.get();
    if (done.ok()) Record(front);
    uploads_.pop_front();
    HX_RETURN_IF_ERROR(done);
  }
  return OkStatus();
}

void ObjectUploader::Record(const InFlight& upload) {
  // (added_ taken meanwhile: nothing to record; a rerun uploads it again.)
  if (upload.segment >= added_.size() || !added_[upload.segment].pack) return;
  Result<Index::Transaction> txn = index_.Begin();
  if (!txn.ok()) return;
  if (!txn->AddUnpublishedPack(upload.pack, std::span<const PackedObject>(
                                                added_[upload.segment].objects))
           .ok()) {
    return;
  }
  if (!txn->Commit().ok()) return;
  if (options_.checkpoint) options_.checkpoint("push.pack_stored");
}

Status ObjectUploader::Upload(FinishedPack pack) {
  // Bounded: wait for the oldest upload before starting another (and
  // record those that finished).
  const auto window = static_cast<std::size_t>(std::max(options_.uploads_in_flight, 1));
  HX_RETURN_IF_ERROR(Harvest(window - 1));
  // The push's records follow pack order, whatever order the uploads finish
  // in (the snapshot lists these locations: determinism). A failed upload
  // fails the push, so listing a pack before it is stored is safe.
  ++stats_.blobs;
  stats_.bytes += pack.blob_size;
  // A pack is named by the hash of its bytes, so re-uploading the same pack
  // after a crash writes the same object: Put is idempotent here.
  // (The locations go to added_, where the record finds them, without
  // their pack's id; the bytes to the upload.)
  InFlight upload;
  upload.pack = {pack.blob_id, pack.blob_size};
  upload.segment = added_.size();
  Segment& segment = added_.emplace_back();
  segment.pack = true;
  segment.blob_id = pack.blob_id;
  segment.objects.reserve(pack.locations.size());
  for (const ObjectLocation& loc : pack.locations) segment.objects.push_back(PackedObject::Of(loc));
  pack.locations = std::vector<ObjectLocation>();
  // A streamed pack (out_: its first bytes already written) ends with the
  // rest of its bytes and the commit; one never drained is one Put.
  upload.done = std::async(std::launch::async, [this, key = BlobKey(pack.blob_id),
                                                bytes = std::move(pack.bytes),
                                                out = std::move(out_)]() mutable {
    Status put = OkStatus();
    if (out) {
      put = out->Append(bytes);
      if (put.ok()) put = out->Commit(key);
    } else {
      put = store_.Put(key, bytes);
    }
    Recycle(std::move(bytes));
    return put;
  });
  uploads_.push_back(std::move(upload));
  return OkStatus();
}

void ObjectUploader::Recycle(std::vector<std::uint8_t> buffer) {
  const std::uint64_t bound = 2 * std::max<std::uint64_t>(options_.pack.target_size, 1);
  std::lock_guard<std::mutex> lock(spare_mu_);
  // One spare is all the writer takes before the next upload returns one:
  // a second, left when both uploads finish before a pack fills (a fast
  // store), would be a pack of memory held for nothing.
  if (spare_.empty() && buffer.capacity() <= bound) spare_.push_back(std::move(buffer));
}

std::vector<std::uint8_t> ObjectUploader::TakeSpare() {
  std::lock_guard<std::mutex> lock(spare_mu_);
  if (spare_.empty()) return {};
  std::vector<std::uint8_t> out = std::move(spare_.back());
  spare_.pop_back();
  return out;
}

}  // namespace hx
