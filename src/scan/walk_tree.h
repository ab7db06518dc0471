// The scanner's tree of directories (internal to scanner.cc), and the
// cursor that hands the walk's regular files on in path order while the
// walk still runs (ScanOptions::on_files: a first push uploads them as the
// scan goes on, sync/first_push.h).
//
// The walk's threads list directories and hash batches of files in any
// order. FileRelease walks the tree in path (byte) order (path_order.h) and
// stops at the first directory not listed yet, or at the first file whose
// hash batch is not done: everything before it is known for good, and is
// handed on (copied) in one call of the sink. So the sink sees the files in
// exactly the order of the scan's EntryMap, whatever the timing.
//
// Memory (the reorder buffer's bound): the entries themselves stay in the
// tree, where the scan keeps them for its result anyway; the cursor adds a
// 16-byte step per regular file and subdirectory of each directory listed
// and not yet passed, freed as it leaves the directory: at most 16 bytes a
// path (~1.6 MB at 100,000) if the first file in path order were hashed
// last. What the sink keeps of the copies is the sink's own bound.
//
// Thread-safety: FileRelease is thread-safe (one mutex); the sink is called
// under it, so calls are one at a time and in order, and a sink that blocks
// holds back every worker that finishes a task meanwhile (backpressure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "repo/tree.h"
#include "scan/scanner.h"

namespace hx {

using PathEntry = std::pair<std::string, Entry>;

// One directory of the walk and what was found in it. The task that lists
// it fills `listed`, `items`, `subdirs` and sizes `hashed`; each hash batch
// then fills its own slot of `hashed`. The queue's mutex orders the listing
// before the batches, and joining the workers orders everything before the
// merge; with a FileRelease, its mutex orders both before the cursor reads
// them (it reads a node only once `settled`, a batch only once done).
struct DirNode {
  explicit DirNode(std::string dir_path) : path(std::move(dir_path)) {}

  std::string path;  // "" for the root
  bool listed = false;
  // A directory a scoped scan (ScanOptions::scope) did not descend into:
  // its entry is reported, its children are not.
  bool out_of_scope = false;
  std::vector<PathEntry> items;  // symlinks and files from the stat cache
  std::vector<std::unique_ptr<DirNode>> subdirs;
  // One slot per hash batch, one element per file of the batch: a file
  // that could not be read (or vanished) leaves an empty path there.
  std::vector<std::vector<PathEntry>> hashed;
  std::string baseline;  // with collect_baseline: every child listed (AppendBaselineChild)

  // With a FileRelease (guarded by its mutex once the node is settled):
  // the node's regular files and subdirectories in path order, which hash
  // batches are done, and whether the walk is done listing it (listed or
  // failed).
  struct Step {
    DirNode* dir = nullptr;  // a subdirectory's contents; else a file:
    std::uint32_t slot = 0;  // its hash batch, or kFromItems
    std::uint32_t index = 0;  // in that batch's slot, or in `items`
  };
  static constexpr std::uint32_t kFromItems = 0xffffffff;
  std::vector<Step> order;
  std::vector<char> batch_done;
  bool settled = false;

  // Where a child's name starts in its path.
  std::size_t name_offset() const { return path.empty() ? 0 : path.size() + 1; }
};

// Moves the entries of `node`'s subtree into `out` in path (byte) order
// (path_order.h), so that every insertion is at the end; each directory's
// vectors are freed once emitted.
void Emit(DirNode& node, EntryMap& out);
// Moves every listed directory's baseline children into `out`; false if a
// directory was found but not listed (it vanished or failed).
bool CollectBaseline(DirNode& node, std::vector<std::pair<std::string, std::string>>& out);
// Appends the path of every directory of `node`'s subtree that was listed.
void CollectListed(const DirNode& node, std::vector<std::string>& out);

class FileRelease {
 public:
  // `root` and every node below it must outlive the release.
  FileRelease(DirNode& root, ScannedFilesFn sink) : sink_(std::move(sink)) {
    cursor_.emplace_back(&root, 0);
  }

  // A child of a listed directory, for Plan: a regular file (`dir` null; in
  // `slot` at `index`, as DirNode::Step) or a subdirectory to be walked.
  struct Child {
    std::string_view name;
    DirNode::Step step;
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

}  // namespace hx
