#include "scan/walk_tree.h"

#include <algorithm>

#include "scan/path_order.h"

namespace hx {

// Moves the entries of `node`'s subtree into `out` in path (byte) order
// (path_order.h), so that every insertion is at the end. Sorting short
// names per directory is much cheaper than sorting 100,000 full paths.
void Emit(DirNode& node, EntryMap& out) {
  struct Item {
    std::string_view name;
    bool subtree = false;  // the contents of `dir`, not its entry
    PathEntry* file = nullptr;
    DirNode* dir = nullptr;
  };
  const std::size_t offset = node.name_offset();
  std::vector<Item> items;
  items.reserve(node.items.size() + 2 * node.subdirs.size());
  for (PathEntry& item : node.items) {
    items.push_back({std::string_view(item.first).substr(offset), false, &item, nullptr});
  }
  for (std::vector<PathEntry>& slot : node.hashed) {
    for (PathEntry& item : slot) {
      if (item.first.empty()) continue;  // not read: not in the result
      items.push_back({std::string_view(item.first).substr(offset), false, &item, nullptr});
    }
  }
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) {
    if (dir->listed || dir->out_of_scope) {
      const std::string_view name = std::string_view(dir->path).substr(offset);
      items.push_back({name, false, nullptr, dir.get()});
      if (dir->listed) items.push_back({name, true, nullptr, dir.get()});
    }
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return LessInPathOrder(a.name, a.subtree, b.name, b.subtree);
  });
  for (const Item& item : items) {
    if (item.file != nullptr) {
      out.emplace_hint(out.end(), std::move(item.file->first), std::move(item.file->second));
    } else if (!item.subtree) {
      Entry entry;
      entry.kind = EntryKind::kDir;
      out.emplace_hint(out.end(), item.dir->path, std::move(entry));
    } else {
      Emit(*item.dir, out);
    }
  }
  // Their entries are in `out` now: each directory's vectors go as soon as
  // it is emitted, so they and the map are not both held whole at the end
  // (~17 MB at 100,000 files).
  std::vector<PathEntry>().swap(node.items);
  std::vector<std::vector<PathEntry>>().swap(node.hashed);
}

// Moves every listed directory's baseline children into `out`; false if a
// directory was found but not listed (it vanished or failed), so the
// children recorded for its parent do not describe the entries.
bool CollectBaseline(DirNode& node, std::vector<std::pair<std::string, std::string>>& out) {
  if (!node.listed) {
    return false;
  }
  out.emplace_back(node.path, std::move(node.baseline));
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) {
    if (!CollectBaseline(*dir, out)) {
      return false;
    }
  }
  return true;
}

// Appends the path of every directory of `node`'s subtree that was listed.
void CollectListed(const DirNode& node, std::vector<std::string>& out) {
  if (!node.listed) return;
  out.push_back(node.path);
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) CollectListed(*dir, out);
}

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
      std::vector<DirNode::Step>().swap(node.order);
      std::vector<char>().swap(node.batch_done);
      cursor_.pop_back();
      continue;
    }
    const DirNode::Step step = node.order[next];
    if (step.dir != nullptr) {
      ++cursor_.back().second;
      cursor_.emplace_back(step.dir, 0);
      continue;
    }
    if (step.slot != DirNode::kFromItems && node.batch_done[step.slot] == 0) break;
    const PathEntry& file =
        step.slot == DirNode::kFromItems ? node.items[step.index] : node.hashed[step.slot][step.index];
    if (!file.first.empty()) ready.emplace_back(file.first, file.second);
    ++cursor_.back().second;
  }
  if (!ready.empty() && !sink_(std::move(ready))) refused_ = true;
  return !refused_;
}

}  // namespace hx
