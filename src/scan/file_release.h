// The cursor that hands the walk's regular files on in path order while the
// walk still runs (ScanOptions::on_files: a first push uploads them as the
// scan goes on, sync/first_push.h). Internal to the scan module (walk.h).
//
// The walk's threads list directories and hash batches of files in any
// order. FileRelease walks the tree in path (byte) order (path_order.h) and
// stops at the first directory not listed yet, or at the first file whose
// hash batch is not done: everything before it is known for good, and is
// handed on (copied) in calls of the sink of at most kMaxFilesPerCall files.
// So the sink sees the files in exactly the order of the scan's EntryMap,
// whatever the timing.
//
// Memory (the reorder buffer's bound): the entries themselves stay in the
// tree, where the scan keeps them for its result anyway; the cursor adds a
// 16-byte step per regular file and subdirectory of each directory listed
// and not yet passed, freed as it leaves the directory: at most 16 bytes a
// path (~1.6 MB at 100,000) if the first file in path order were hashed
// last. The copies of one call are bounded (a first file in path order
// hashed last releases every file at once: in one call, that was a copy of
// the whole scan, ~13 MB at 100,000 files); what the sink keeps of them is
// the sink's own bound.
//
// Thread-safety: FileRelease is thread-safe (one mutex); the sink is called
// under it, so calls are one at a time and in order, and a sink that blocks
// holds back every worker that finishes a task meanwhile (backpressure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "scan/scanner.h"

namespace hx::scan_internal {

struct DirNode;

// One child of a directory in path order (DirNode::order): a subdirectory's
// contents, or a regular file found in hash batch `slot` (or in the node's
// `items`: kFromItems) at `index`.
struct ReleaseStep {
  static constexpr std::uint32_t kFromItems = 0xffffffff;
  DirNode* dir = nullptr;   // a subdirectory's contents; else a file:
  std::uint32_t slot = 0;   // its hash batch, or kFromItems
  std::uint32_t index = 0;  // in that batch's slot, or in `items`
};

class FileRelease {
 public:
  // The most files handed on in one call of the sink.
  static constexpr std::size_t kMaxFilesPerCall = 1024;

  // `root` and every node below it must outlive the release.
  FileRelease(DirNode& root, ScannedFilesFn sink) : sink_(std::move(sink)) {
    cursor_.emplace_back(&root, 0);
  }

  // A child of a listed directory, for Plan: a regular file (`dir` null) or
  // a subdirectory to be walked.
  struct Child {
    std::string_view name;
    ReleaseStep step;
  };
  // Orders the children of `node` (which the calling task just listed)
  // and sizes its batch flags; before its batches are queued.
  static void Plan(DirNode& node, std::vector<Child> children, std::size_t batches);

  // The walk is done with `node` (listed or not) / with hash batch `slot`
  // of `node`: hands on what is next in path order now. False once the
  // sink refused (then nothing more is handed on; the walk should stop).
  bool Settled(DirNode& node);
  bool BatchDone(DirNode& node, std::size_t slot);

  // Whether every file was handed on (the walk is over and nothing was
  // refused).
  bool Finished() const;

 private:
  bool ReleaseLocked();

  const ScannedFilesFn sink_;
  mutable std::mutex mu_;
  // The path from the root to the next file: each directory entered and
  // its next step. Guarded by mu_.
  std::vector<std::pair<DirNode*, std::size_t>> cursor_;
  bool refused_ = false;  // guarded by mu_
};

}  // namespace hx::scan_internal
