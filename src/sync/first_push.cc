#include "sync/first_push.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "sync/governance.h"
#include "sync/local_changes.h"
#include "sync/prune_guard.h"

namespace hx {
namespace {

using ScannedFile = EntryMap::value_type;

// The scan's files on their way to the uploader, in the order given. Put
// waits while the queue is full; Take waits for a batch or the end. Either
// side may end it: Close (the scan is over: Take drains what is left) or
// Abort (an error: Put refuses, Take returns nothing more). A full queue
// always holds a batch, so the two never wait for each other.
class ScanQueue {
 public:
  explicit ScanQueue(const ScanQueueLimits& limits) : limits_(limits) {}

  // Appends `files` (whole: an oversized run goes into an empty queue).
  // False once aborted.
  bool Put(std::vector<ScannedFile> files) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return aborted_ || files_.empty() || !Full(); });
    if (aborted_) return false;
    for (ScannedFile& file : files) {
      bytes_ += file.second.size;
      files_.push_back(std::move(file));
    }
    if (Batch()) ready_.notify_one();
    return true;
  }

  // Moves what is queued into `out` once it is a batch or the queue is
  // closed; false when there is nothing more (closed and drained, or
  // aborted).
  bool Take(std::vector<ScannedFile>& out) {
    out.clear();
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return aborted_ || closed_ || Batch(); });
    if (aborted_ || files_.empty()) return false;
    out.reserve(files_.size());
    for (ScannedFile& file : files_) out.push_back(std::move(file));
    files_.clear();
    bytes_ = 0;
    room_.notify_all();
    return true;
  }

  void Close() { End(closed_); }
  void Abort() { End(aborted_); }

 private:
  void End(bool& flag) {
    {
      std::lock_guard lock(mu_);
      flag = true;
    }
    room_.notify_all();
    ready_.notify_all();
  }
  bool Full() const { return files_.size() >= limits_.max_files || bytes_ >= limits_.max_bytes; }
  bool Batch() const {
    return Full() || files_.size() >= limits_.batch_files || bytes_ >= limits_.batch_bytes;
  }

  const ScanQueueLimits limits_;
  std::mutex mu_;
  std::condition_variable room_;   // for Put
  std::condition_variable ready_;  // for Take
  std::deque<ScannedFile> files_;  // guarded by mu_
  std::uint64_t bytes_ = 0;        // guarded by mu_: the queued files' sizes
  bool closed_ = false;            // guarded by mu_
  bool aborted_ = false;           // guarded by mu_
};

}  // namespace

bool StartsOverlappedFirstPush(Session& s, const BaseState& base, bool republish) {
  if (base.snapshot_id || !base.complete || republish) return false;
  return EnsureMayPush(s).ok() && ApplyPruneRecord(s).ok();
}

Result<ScanResult> ScanWhileUploading(Session& s, BaseState& base, ObjectUploader& uploader,
                                      const ScanQueueLimits& limits) {
  ScanQueue queue(limits);
  // Written by the uploading thread only, read after it is joined.
  Status uploaded = OkStatus();
  std::thread uploading([&] {
    std::vector<ScannedFile> files;
    std::vector<const ScannedFile*> batch;
    while (queue.Take(files)) {
      batch.clear();
      for (const ScannedFile& file : files) batch.push_back(&file);
      uploaded = uploader.AddFileChunks(s.local.vault(), batch);
      if (!uploaded.ok()) {
        queue.Abort();  // the scan's next hand-over is refused: it stops
        return;
      }
    }
  });
  Result<ScanResult> scan = ScanFolderForBaseline(
      s, base, [&queue](std::vector<ScannedFile> files) { return queue.Put(std::move(files)); });
  // The scan is over: the uploader finishes what is queued; after a scan
  // error it stops at once.
  if (scan.ok()) {
    queue.Close();
  } else {
    queue.Abort();
  }
  uploading.join();
  if (!uploaded.ok()) return uploaded.error();
  return scan;
}

}  // namespace hx
