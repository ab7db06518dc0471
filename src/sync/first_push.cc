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

// The scan's files on their way to the uploader, in the order given. The
// uploader starts once a pack's worth of file bytes is queued; until then
// the queue holds at most max_files, and if they fill it first (small
// files, where overlapping gains little and the pack buffer would be held
// beside the scan's tree) it gives up: it drops what it holds and every
// later file, and the push packs them all after the scan, as without the
// overlap. Once started, Put waits while the queue is full and Take for a
// batch. Close (the scan is over) and Abort (an error) end it: Take then
// returns nothing more; what is still queued is left to the push, which
// packs every file after the scan anyway (AddFileChunks skips what the
// uploader packed: a prefix of the files in path order, so the order of
// the packs is the sequential push's). A full queue always holds a batch,
// so the two sides never wait for each other.
class ScanQueue {
 public:
  explicit ScanQueue(const ScanQueueLimits& limits) : limits_(limits) {}

  // Appends `files`, waiting for room as it goes (the queue holds at most
  // its limits, whatever the scan hands on at once). False once aborted.
  bool Put(std::vector<ScannedFile> files) {
    std::unique_lock lock(mu_);
    for (ScannedFile& file : files) {
      // (Not started and not Ready: fewer bytes than start_bytes, so full
      // of files.)
      if (!started_ && !given_up_ && !Ready() && Full()) {
        given_up_ = true;
        files_.clear();
        ready_.notify_all();
      }
      room_.wait(lock, [&] { return aborted_ || given_up_ || !Full(); });
      if (aborted_) return false;
      if (given_up_) return true;
      bytes_ += file.second.size;
      files_.push_back(std::move(file));
      if (Ready()) ready_.notify_one();
    }
    return true;
  }

  // Moves what is queued into `out` once it is a batch; false when there is
  // nothing more for the uploader (closed, aborted or given up).
  bool Take(std::vector<ScannedFile>& out) {
    out.clear();
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return aborted_ || closed_ || given_up_ || Ready(); });
    if (aborted_ || closed_ || given_up_) return false;
    started_ = true;
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
  // Whether the uploader may take what is queued.
  bool Ready() const {
    if (!started_) return bytes_ >= limits_.start_bytes;
    return Full() || files_.size() >= limits_.batch_files || bytes_ >= limits_.batch_bytes;
  }

  const ScanQueueLimits limits_;
  std::mutex mu_;
  std::condition_variable room_;   // for Put
  std::condition_variable ready_;  // for Take
  std::deque<ScannedFile> files_;  // guarded by mu_
  std::uint64_t bytes_ = 0;        // guarded by mu_: the queued files' sizes
  bool started_ = false;           // guarded by mu_: the uploader took a batch
  bool given_up_ = false;          // guarded by mu_
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
  // The scan is over: the uploader stops after its batch (the push packs
  // the rest); after a scan error as well.
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
