// BuildTrees and FlattenTrees: between the flat EntryMap the engine works on
// and the Merkle trees the store holds.

#include <set>
#include <unordered_map>
#include <utility>

#include "repo/tree.h"
#include "repo/tree_internal.h"

namespace hx {
namespace {

Error InvalidPath(std::string_view path, std::string message) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "cannot build trees: " + std::move(message))
      .With("path", std::string(path));
}

Error CorruptTrees(std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt, "trees: " + std::move(message));
}

std::string_view ParentOf(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view NameOf(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string ChildPath(std::string_view dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path += dir;
  if (!dir.empty()) path += '/';
  path += name;
  return path;
}

// The name of a vault's local state directory at its root (sync's
// kLocalDirName): never a synced path.
constexpr std::string_view kLocalStateName = ".hx";

// Beneath a file or a symlink only tombstones can lie: those of a directory
// it replaced (its "shadow"), kept so that the deletions reach every device.
bool IsLeaf(EntryKind kind) { return kind == EntryKind::kFile || kind == EntryKind::kSymlink; }

class TreeBuilder {
 public:
  TreeBuilder(const EntryMap& entries, const ObjectIdFn& object_id,
              const BuildTreesOptions& options)
      : entries_(entries), object_id_(object_id), options_(options) {}

  Result<BuiltTrees> Build() {
    // Group the entries by parent. Every path with the prefix "p/" is a
    // descendant of p, and the children of p come out of the sorted map in
    // name order (same prefix), which is the order a tree lists them in.
    for (const EntryMap::value_type& item : entries_) {
      HX_RETURN_IF_ERROR(CheckComponents(item.first));
      children_[ParentOf(item.first)].push_back(&item);
    }
    // Then check each parent once (not once per child).
    for (const auto& [parent, paths] : children_) {
      if (parent.empty()) continue;
      const auto it = entries_.find(std::string(parent));
      if (it == entries_.end()) {
        return InvalidPath(paths.front()->first, "a path's parent directory has no entry");
      }
    }
    HX_ASSIGN_OR_RETURN(out_.root, BuildDir("", /*shadow=*/false));
    return std::move(out_);
  }

 private:
  static Status CheckComponents(std::string_view path) {
    std::size_t depth = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t slash = path.find('/', start);
      const std::string_view component = path.substr(start, slash - start);
      if (!IsValidEntryName(component)) {
        return InvalidPath(path, "a path has an empty or invalid component");
      }
      if (++depth > kMaxTreeDepth) return InvalidPath(path, "a path is nested too deep");
      if (slash == std::string_view::npos) return OkStatus();
      start = slash + 1;
    }
  }

  // Post-order: children's trees first, so each tree can name its subtrees.
  // Entries are encoded straight from the map (views, no copies).
  // `shadow`: `dir` is a file or symlink, or beneath one; only tombstones
  // may lie there.
  Result<ObjectId> BuildDir(std::string_view dir, bool shadow) {
    if (options_.known != nullptr && options_.reuse) {
      const auto known = options_.known->find(std::string(dir));
      if (known != options_.known->end() && options_.reuse(dir, known->second)) {
        // The directory and everything beneath it are as they were: their
        // ids come from `known` ("dir/" prefixes sort together).
        out_.tree_ids.insert_or_assign(known->first, known->second);
        const std::string prefix = dir.empty() ? std::string() : std::string(dir) + "/";
        for (auto it = options_.known->lower_bound(prefix);
             it != options_.known->end() && it->first.starts_with(prefix); ++it) {
          if (!it->first.empty()) out_.tree_ids.insert_or_assign(it->first, it->second);
        }
        return known->second;
      }
    }
    std::vector<tree_internal::EntryView> views;
    std::vector<ObjectId> subtrees;
    const auto group = children_.find(dir);
    if (group != children_.end()) {
      views.reserve(group->second.size());
      // Reserved up front: views point into it.
      subtrees.reserve(group->second.size());
      for (const EntryMap::value_type* item : group->second) {
        const std::string& path = item->first;
        const Entry& entry = item->second;
        if (shadow && entry.kind != EntryKind::kTombstone) {
          return InvalidPath(path, "a live path lies beneath a file or symlink");
        }
        tree_internal::EntryView& view = views.emplace_back();
        view.name = NameOf(path);
        view.entry = &entry;
        const bool has_children = children_.count(path) != 0;
        if (entry.kind == EntryKind::kDir || has_children) {
          HX_ASSIGN_OR_RETURN(ObjectId subtree, BuildDir(path, shadow || IsLeaf(entry.kind)));
          view.subtree = &subtrees.emplace_back(subtree);
        }
      }
    }
    auto bytes = tree_internal::EncodeTreeEntries(views);
    if (!bytes.ok()) {
      Error error = std::move(bytes).error();
      error.details.insert_or_assign("path", dir.empty() ? "/" : std::string(dir));
      return error;
    }
    const ObjectId id = object_id_(*bytes);
    out_.tree_ids.emplace(std::string(dir), id);
    if (seen_.insert(id).second) {
      if (options_.sink) {
        HX_RETURN_IF_ERROR(options_.sink(id, std::move(*bytes)));
      } else {
        out_.trees.emplace_back(id, std::move(*bytes));
      }
    }
    return id;
  }

  const EntryMap& entries_;
  const ObjectIdFn& object_id_;
  const BuildTreesOptions& options_;
  // Parent path -> its children (pointers into the map, in path order).
  std::unordered_map<std::string_view, std::vector<const EntryMap::value_type*>> children_;
  std::set<ObjectId> seen_;
  BuiltTrees out_;
};

class TreeFlattener {
 public:
  TreeFlattener(const TreeLoader& load, const EntryMap& base_entries, const TreeIds& base_tree_ids,
                std::size_t max_entries)
      : load_(load),
        base_entries_(base_entries),
        base_tree_ids_(base_tree_ids),
        max_entries_(max_entries) {}

  Result<FlattenedTrees> Flatten(const ObjectId& root) {
    HX_RETURN_IF_ERROR(Visit("", root, 0, /*shadow=*/false));
    return std::move(out_);
  }

 private:
  // `shadow`: `dir` is a file or symlink, or beneath one; every entry listed
  // there must be a tombstone.
  Status Visit(const std::string& dir, const ObjectId& id, std::size_t depth, bool shadow) {
    if (depth > kMaxTreeDepth) return CorruptTrees("trees are nested more than 1024 deep");
    out_.tree_ids.insert_or_assign(dir, id);
    const auto known = base_tree_ids_.find(dir);
    if (known != base_tree_ids_.end() && known->second == id) return Reuse(dir, shadow);

    // A tree id met again (identical directories: every empty one, for a
    // start) is not loaded again: its listing is read back from what the
    // first one added to out_. Only the trees on the walk's current path
    // are held, never every decoded tree (the whole remote state a second
    // time: 21.5 MiB when a pull's 100,000 files changed in every directory).
    Tree tree;
    if (auto listed = listed_at_.find(id); listed != listed_at_.end()) {
      tree = ListedAt(listed->second);
    } else {
      HX_ASSIGN_OR_RETURN(tree, load_(id));
      ++out_.trees_loaded;
    }
    for (const TreeEntry& child : tree.entries) {
      // The loader may not come from DecodeTree; never let a name escape its
      // directory or make a path ambiguous.
      if (!IsValidEntryName(child.name)) return CorruptTrees("a tree has an invalid entry name");
      // A vault's root holds the device's local state in ".hx/" (never
      // synced): whatever another device sent, no path may lead into it.
      if (dir.empty() && child.name == kLocalStateName) {
        return CorruptTrees("the root tree lists \".hx\", the name of every device's local "
                            "state; nothing was applied. A device that is not hx (or a damaged "
                            "store) wrote it: remove that snapshot or restore the store")
            .With("path", std::string(kLocalStateName));
      }
      if (child.entry.kind == EntryKind::kDir && !child.subtree) {
        return CorruptTrees("a dir entry has no subtree");
      }
      if (shadow && child.entry.kind != EntryKind::kTombstone) {
        return CorruptTrees("the subtree of a file or symlink lists a live entry");
      }
      std::string path = ChildPath(dir, child.name);
      if (!out_.entries.emplace(path, child.entry).second) {
        return CorruptTrees("a tree lists the same name twice");
      }
      HX_RETURN_IF_ERROR(CheckCount());
      if (child.subtree) {
        HX_RETURN_IF_ERROR(Visit(path, *child.subtree, depth + 1,
                                 shadow || IsLeaf(child.entry.kind)));
      }
    }
    listed_at_.try_emplace(id, dir);
    return OkStatus();
  }

  // The listing of `dir`, a directory whose tree was loaded and walked: its
  // children in out_ (in name order, as the tree lists them), each with the
  // subtree id its walk recorded.
  Tree ListedAt(const std::string& dir) const {
    Tree tree;
    const std::string prefix = dir.empty() ? "" : dir + "/";
    for (auto it = out_.entries.lower_bound(prefix);
         it != out_.entries.end() && it->first.starts_with(prefix); ++it) {
      const std::string_view name = std::string_view(it->first).substr(prefix.size());
      if (name.find('/') != std::string_view::npos) continue;  // deeper
      TreeEntry child{std::string(name), it->second, std::nullopt};
      if (auto sub = out_.tree_ids.find(it->first); sub != out_.tree_ids.end()) {
        child.subtree = sub->second;
      }
      tree.entries.push_back(std::move(child));
    }
    return tree;
  }

  // Copies every base entry and tree id strictly under `dir` (everything for
  // the root): all paths with the prefix "dir/" are contiguous in byte order.
  // Under a shadow (a store may point a file at any tree it knows) they
  // must all be tombstones, as if loaded.
  Status Reuse(const std::string& dir, bool shadow) {
    out_.reused.push_back(dir);
    const std::string prefix = dir.empty() ? "" : dir + "/";
    for (auto it = base_entries_.lower_bound(prefix);
         it != base_entries_.end() && it->first.starts_with(prefix); ++it) {
      if (shadow && it->second.kind != EntryKind::kTombstone) {
        return CorruptTrees("the subtree of a file or symlink lists a live entry");
      }
      out_.entries.insert_or_assign(it->first, it->second);
      HX_RETURN_IF_ERROR(CheckCount());
    }
    for (auto it = base_tree_ids_.lower_bound(prefix);
         it != base_tree_ids_.end() && it->first.starts_with(prefix); ++it) {
      if (!it->first.empty()) out_.tree_ids.insert_or_assign(it->first, it->second);
    }
    return OkStatus();
  }

  Status CheckCount() const {
    if (out_.entries.size() > max_entries_) {
      return CorruptTrees("the trees list more than " + std::to_string(max_entries_) +
                          " entries");
    }
    return OkStatus();
  }

  const TreeLoader& load_;
  const EntryMap& base_entries_;
  const TreeIds& base_tree_ids_;
  const std::size_t max_entries_;
  // Each tree id loaded and walked, with the first directory it listed.
  std::map<ObjectId, std::string> listed_at_;
  FlattenedTrees out_;
};

}  // namespace

Result<BuiltTrees> BuildTrees(const EntryMap& entries, const ObjectIdFn& object_id) {
  return BuildTrees(entries, object_id, BuildTreesOptions{});
}

Result<BuiltTrees> BuildTrees(const EntryMap& entries, const ObjectIdFn& object_id,
                              const BuildTreesOptions& options) {
  return TreeBuilder(entries, object_id, options).Build();
}

Result<EntryMap> FlattenTrees(const ObjectId& root, const TreeLoader& load) {
  const EntryMap no_entries;
  const TreeIds no_ids;
  HX_ASSIGN_OR_RETURN(FlattenedTrees flat, TreeFlattener(load, no_entries, no_ids, kMaxFlattenedEntries).Flatten(root));
  return std::move(flat.entries);
}

Result<FlattenedTrees> FlattenTreesDiff(const ObjectId& root, const TreeLoader& load,
                                        const EntryMap& base_entries,
                                        const TreeIds& base_tree_ids,
                                        std::size_t max_entries) {
  return TreeFlattener(load, base_entries, base_tree_ids, max_entries).Flatten(root);
}

}  // namespace hx
