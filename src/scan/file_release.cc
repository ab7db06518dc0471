#include "scan/file_release.h"

#include <algorithm>

#include "scan/path_order.h"
#include "scan/walk.h"

namespace hx::scan_internal {

void FileRelease::Plan(DirNode& node, std::vector<Child> children, std::size_t batches) {
  std::sort(children.begin(), children.end(), [](const Child& a, const Child& b) {
    return LessInPathOrder(a.name, a.step.dir != nullptr, b.name, b.step.dir != nullptr);
  });
  node.order.reserve(children.size());
  for (const Child& child : children) node.order.push_back(child.step);
  node.batch_done.assign(batches, 0);
}

bool FileRelease::Settled(DirNode& node) {
  std::lock_guard lock(mu_);
  node.settled = true;
  return ReleaseLocked();
}

bool FileRelease::BatchDone(DirNode& node, std::size_t slot) {
  std::lock_guard lock(mu_);
  node.batch_done[slot] = 1;
  return ReleaseLocked();
}

bool FileRelease::Finished() const {
  std::lock_guard lock(mu_);
  return !refused_ && cursor_.empty();
}

bool FileRelease::ReleaseLocked() {
  if (refused_) return false;
  std::vector<EntryMap::value_type> ready;
  while (!cursor_.empty()) {
    DirNode& node = *cursor_.back().first;
    const std::size_t next = cursor_.back().second;
    if (!node.settled) break;  // not listed yet: its files are unknown
    if (!node.listed || next == node.order.size()) {
      // Passed (or never listed: nothing below it is in the result).
      std::vector<ReleaseStep>().swap(node.order);
      std::vector<char>().swap(node.batch_done);
      cursor_.pop_back();
      continue;
    }
    const ReleaseStep step = node.order[next];
    if (step.dir != nullptr) {
      ++cursor_.back().second;
      cursor_.emplace_back(step.dir, 0);
      continue;
    }
    if (step.slot != ReleaseStep::kFromItems && node.batch_done[step.slot] == 0) break;
    const PathEntry& file = step.slot == ReleaseStep::kFromItems
                                ? node.items[step.index]
                                : node.hashed[step.slot][step.index];
    if (!file.first.empty()) ready.emplace_back(file.first, file.second);
    ++cursor_.back().second;
    if (ready.size() == kMaxFilesPerCall) {
      if (!sink_(std::move(ready))) {
        refused_ = true;
        return false;
      }
      ready.clear();  // (moved from: valid, now empty)
    }
  }
  if (!ready.empty() && !sink_(std::move(ready))) refused_ = true;
  return !refused_;
}

}  // namespace hx::scan_internal
