// Merkle trees of an EntryMap: BuildTrees and FlattenTrees are inverses, an
// unchanged directory keeps its tree id, a change moves only the ids on its
// path to the root, and a pull's flattening loads only the trees that differ.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "hash/blake3.h"
#include "repo/repo_test_util.h"
#include "repo/tree.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using testing::GenEntryMap;

const std::string kNode = "0123456789abcdef0123456789abcdef";

// Test ids: unkeyed BLAKE3 of the tree bytes (the real ids are keyed; the
// structure does not care).
ObjectId TestId(std::string_view bytes) { return Blake3Hash(bytes); }

// An in-memory tree store that counts loads.
struct TreeStore {
  std::map<ObjectId, std::string> trees;
  int loads = 0;

  void Add(const BuiltTrees& built) {
    for (const auto& [id, bytes] : built.trees) trees.emplace(id, bytes);
  }
  TreeLoader Loader() {
    return [this](const ObjectId& id) -> Result<Tree> {
      ++loads;
      const auto it = trees.find(id);
      if (it == trees.end()) return Error(SyncCode::kStateFailed, Category::kNotFound, "no tree");
      return DecodeTree(it->second);
    };
  }
};

Entry File(std::int64_t mtime, std::uint64_t counter = 1) {
  Entry entry;
  entry.kind = EntryKind::kFile;
  entry.mtime_ns = mtime;
  entry.vv = VersionVector({{kNode, counter}});
  return entry;
}

Entry OfKind(EntryKind kind) {
  Entry entry;
  entry.kind = kind;
  entry.vv = VersionVector({{kNode, 1}});
  return entry;
}

EntryMap SampleMap() {
  return {{"x", OfKind(EntryKind::kDir)},          {"x/sub", OfKind(EntryKind::kDir)},
          {"x/sub/f", File(1)},                    {"x/g", File(2)},
          {"x-y", File(3)},                        {"y", OfKind(EntryKind::kDir)},
          {"y/h", File(4)},                        {"z", OfKind(EntryKind::kDir)},
          {"link", OfKind(EntryKind::kTombstone)}, {"x.txt", File(5)}};
}

BuiltTrees Build(const EntryMap& entries) {
  auto built = BuildTrees(entries, TestId);
  EXPECT_TRUE(built.ok()) << built.error().ToShortString();
  return built.ok() ? std::move(*built) : BuiltTrees{};
}

// The directories (tree_ids keys) that are `path` or contain it.
std::set<std::string> Ancestors(const std::string& path) {
  std::set<std::string> out = {""};
  for (std::size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    out.insert(path.substr(0, slash));
  }
  return out;
}

TEST(BuildTreesTest, OneTreePerDirectoryWithTheRootLast) {
  const BuiltTrees built = Build(SampleMap());
  // Directories: "", x, x/sub, y, z. z is empty: it still gets an (empty) tree.
  EXPECT_EQ(built.tree_ids.size(), 5u);
  for (const char* dir : {"", "x", "x/sub", "y", "z"}) EXPECT_EQ(built.tree_ids.count(dir), 1u) << dir;
  ASSERT_FALSE(built.trees.empty());
  EXPECT_EQ(built.trees.back().first, built.root);
  EXPECT_EQ(built.tree_ids.at(""), built.root);
  std::set<ObjectId> ids;
  for (const auto& [id, bytes] : built.trees) {
    EXPECT_EQ(id, TestId(bytes));
    EXPECT_TRUE(ids.insert(id).second) << "a tree is listed twice";
  }

  auto root = DecodeTree(built.trees.back().second);
  ASSERT_TRUE(root.ok());
  std::vector<std::string> names;
  for (const TreeEntry& entry : root->entries) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"link", "x", "x-y", "x.txt", "y", "z"}));
  EXPECT_FALSE(root->entries[0].subtree.has_value());  // a tombstone without children
  EXPECT_EQ(root->entries[1].subtree, built.tree_ids.at("x"));
  EXPECT_EQ(root->entries[5].subtree, built.tree_ids.at("z"));
}

TEST(BuildTreesTest, IdenticalDirectoriesShareOneTreeObject) {
  EntryMap entries = {{"a", OfKind(EntryKind::kDir)}, {"b", OfKind(EntryKind::kDir)},
                      {"c", OfKind(EntryKind::kDir)}, {"c/f", File(1)},
                      {"d", OfKind(EntryKind::kDir)}, {"d/f", File(1)}};
  const BuiltTrees built = Build(entries);
  EXPECT_EQ(built.tree_ids.at("a"), built.tree_ids.at("b"));
  EXPECT_EQ(built.tree_ids.at("c"), built.tree_ids.at("d"));
  EXPECT_EQ(built.trees.size(), 3u);  // empty, {f}, root
  EXPECT_EQ(built.trees.front().second, R"({"entries":[],"format_version":1})");
}

TEST(BuildTreesTest, ADeletedDirectoryKeepsItsChildrensTombstones) {
  EntryMap entries = {{"old", OfKind(EntryKind::kTombstone)},
                      {"old/f", OfKind(EntryKind::kTombstone)},
                      {"old/sub", OfKind(EntryKind::kTombstone)},
                      {"old/sub/g", OfKind(EntryKind::kTombstone)}};
  const BuiltTrees built = Build(entries);
  ASSERT_EQ(built.tree_ids.count("old"), 1u);
  ASSERT_EQ(built.tree_ids.count("old/sub"), 1u);
  TreeStore store;
  store.Add(built);
  auto flat = FlattenTrees(built.root, store.Loader());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(*flat, entries);
}

TEST(BuildTreesTest, AFileOrSymlinkThatReplacedADirectoryKeepsItsTombstones) {
  // The user replaced directory d by a file and e by a symlink: the
  // deletions of what they held travel beneath them (their "shadow").
  EntryMap entries = {{"d", File(1)},
                      {"d/f", OfKind(EntryKind::kTombstone)},
                      {"d/sub", OfKind(EntryKind::kTombstone)},
                      {"d/sub/g", OfKind(EntryKind::kTombstone)},
                      {"e", OfKind(EntryKind::kSymlink)},
                      {"e/h", OfKind(EntryKind::kTombstone)},
                      {"plain", File(2)}};
  entries.at("e").symlink_target = "elsewhere";
  const BuiltTrees built = Build(entries);
  ASSERT_EQ(built.tree_ids.count("d"), 1u);
  ASSERT_EQ(built.tree_ids.count("e"), 1u);
  EXPECT_EQ(built.tree_ids.count("plain"), 0u);  // no shadow, no "tree"
  TreeStore store;
  store.Add(built);
  auto flat = FlattenTrees(built.root, store.Loader());
  ASSERT_TRUE(flat.ok()) << flat.error().message;
  EXPECT_EQ(*flat, entries);
  // Only a tree with a shadow differs from what an older writer made.
  auto root = DecodeTree(built.trees.back().second);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->entries[0].subtree, built.tree_ids.at("d"));
  EXPECT_FALSE(root->entries[2].subtree.has_value());
}

TEST(BuildTreesTest, RefusesMapsThatAreNotATree) {
  const std::vector<std::pair<const char*, EntryMap>> cases = {
      {"missing parent", {{"a/b", File(1)}}},
      {"parent is a file", {{"a", File(1)}, {"a/b", File(1)}}},
      {"parent is a symlink", {{"a", OfKind(EntryKind::kSymlink)}, {"a/b", File(1)}}},
      {"live beneath a file's tombstone",
       {{"a", File(1)}, {"a/t", OfKind(EntryKind::kTombstone)}, {"a/t/b", File(1)}}},
      {"dir beneath a file", {{"a", File(1)}, {"a/d", OfKind(EntryKind::kDir)}}},
      {"empty component", {{"a", OfKind(EntryKind::kDir)}, {"a//b", File(1)}}},
      {"leading slash", {{"/a", File(1)}}},
      {"trailing slash", {{"a", OfKind(EntryKind::kDir)}, {"a/", File(1)}}},
      {"dot component", {{"a", OfKind(EntryKind::kDir)}, {"a/./b", File(1)}}},
      {"dot-dot component", {{"..", OfKind(EntryKind::kDir)}}},
      {"empty path", {{"", File(1)}}},
  };
  for (const auto& [rule, entries] : cases) {
    auto built = BuildTrees(entries, TestId);
    ASSERT_FALSE(built.ok()) << rule;
    EXPECT_EQ(built.error().code, SyncCode::kInputInvalid) << rule;
    EXPECT_EQ(built.error().details.count("path"), 1u) << rule;
  }
  // An invalid entry (here: no version vector) fails as EncodeTree does.
  auto built = BuildTrees({{"a", Entry{}}}, TestId);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, SyncCode::kInternal);
}

TEST(BuildTreesTest, RefusesPathsNestedDeeperThanReadersAccept) {
  EntryMap entries;
  std::string path;
  for (std::size_t depth = 0; depth <= kMaxTreeDepth; ++depth) {
    path += path.empty() ? "d" : "/d";
    entries[path] = OfKind(EntryKind::kDir);
  }
  auto built = BuildTrees(entries, TestId);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, SyncCode::kInputInvalid);
}

TEST(BuildTreesTest, AnUnchangedSubtreeKeepsItsId) {
  const BuiltTrees before = Build(SampleMap());
  EntryMap changed = SampleMap();
  changed["x/sub/f"] = File(1, 2);
  const BuiltTrees after = Build(changed);
  EXPECT_EQ(before.tree_ids.at("y"), after.tree_ids.at("y"));
  EXPECT_EQ(before.tree_ids.at("z"), after.tree_ids.at("z"));
  EXPECT_NE(before.tree_ids.at("x/sub"), after.tree_ids.at("x/sub"));
  EXPECT_NE(before.tree_ids.at("x"), after.tree_ids.at("x"));
  EXPECT_NE(before.root, after.root);
}

RC_GTEST_PROP(TreeBuildProperty, FlattenInvertsBuild, ()) {
  const EntryMap entries = *GenEntryMap();
  auto built = BuildTrees(entries, TestId);
  RC_ASSERT(built.ok());
  TreeStore store;
  store.Add(*built);
  auto flat = FlattenTreesDiff(built->root, store.Loader(), {}, {});
  RC_ASSERT(flat.ok());
  RC_ASSERT(flat->entries == entries);
  RC_ASSERT(flat->tree_ids == built->tree_ids);
  // Each distinct tree is loaded once, even when directories share it.
  RC_ASSERT(flat->trees_loaded == built->trees.size());
}

RC_GTEST_PROP(TreeBuildProperty, ReusingUnchangedDirectoriesGivesTheSameTrees, ()) {
  // A push rebuilds only the directories on the paths of its changes: the
  // result (root, every id) must equal a full build, and the sink must get
  // exactly the trees the full build has that the reused ones do not.
  const EntryMap entries = *GenEntryMap();
  RC_PRE(!entries.empty());
  auto before = BuildTrees(entries, TestId);
  RC_ASSERT(before.ok());
  const std::size_t pick = *rc::gen::inRange<std::size_t>(0, entries.size());
  const std::string path = std::next(entries.begin(), static_cast<std::ptrdiff_t>(pick))->first;
  EntryMap changed = entries;
  changed[path].vv.Bump(kNode);
  auto full = BuildTrees(changed, TestId);
  RC_ASSERT(full.ok());

  const std::set<std::string> dirty = Ancestors(path);
  std::set<std::string> reused;
  std::vector<std::pair<ObjectId, std::string>> sunk;
  BuildTreesOptions options;
  options.known = &before->tree_ids;
  options.reuse = [&](std::string_view dir, const ObjectId&) {
    if (dirty.count(std::string(dir)) != 0) return false;
    reused.insert(std::string(dir));
    return true;
  };
  options.sink = [&](const ObjectId& id, std::string bytes) {
    sunk.emplace_back(id, std::move(bytes));
    return OkStatus();
  };
  auto incremental = BuildTrees(changed, TestId, options);
  RC_ASSERT(incremental.ok());
  RC_ASSERT(incremental->root == full->root);
  RC_ASSERT(incremental->tree_ids == full->tree_ids);
  RC_ASSERT(incremental->trees.empty());
  // Every tree sunk is one of the full build's, and every tree of the full
  // build that is not sunk is the tree of a reused directory (or beneath one).
  std::set<ObjectId> sunk_ids;
  for (const auto& [id, bytes] : sunk) {
    RC_ASSERT(sunk_ids.insert(id).second);
    RC_ASSERT(std::find(full->trees.begin(), full->trees.end(), std::pair(id, bytes)) !=
              full->trees.end());
  }
  std::set<ObjectId> reused_ids;
  for (const auto& [dir, id] : full->tree_ids) {
    for (const std::string& r : reused) {
      if (dir == r || r.empty() || dir.starts_with(r + "/")) reused_ids.insert(id);
    }
  }
  for (const auto& [id, bytes] : full->trees) {
    RC_ASSERT(sunk_ids.count(id) != 0 || reused_ids.count(id) != 0);
  }
}

TEST(BuildTreesTest, ASinkErrorStopsTheBuild) {
  BuildTreesOptions options;
  options.sink = [](const ObjectId&, std::string) {
    return Status(Error(SyncCode::kNetworkFailed, Category::kNetwork, "store down"));
  };
  auto built = BuildTrees(SampleMap(), TestId, options);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, SyncCode::kNetworkFailed);
}

RC_GTEST_PROP(TreeBuildProperty, ChangingOneEntryChangesOnlyTheIdsOnItsPathToTheRoot, ()) {
  const EntryMap entries = *GenEntryMap();
  RC_PRE(!entries.empty());
  const std::size_t pick = *rc::gen::inRange<std::size_t>(0, entries.size());
  auto it = std::next(entries.begin(), static_cast<std::ptrdiff_t>(pick));
  const std::string path = it->first;
  EntryMap changed = entries;
  changed[path].vv.Bump(kNode);

  auto before = BuildTrees(entries, TestId);
  auto after = BuildTrees(changed, TestId);
  RC_ASSERT(before.ok() && after.ok());
  RC_ASSERT(before->tree_ids.size() == after->tree_ids.size());
  const std::set<std::string> on_path = Ancestors(path);
  for (const auto& [dir, id] : before->tree_ids) {
    const bool moved = after->tree_ids.at(dir) != id;
    RC_ASSERT(moved == (on_path.count(dir) != 0));
  }
}

TEST(FlattenTreesTest, APullLoadsOnlyTheTreesThatDiffer) {
  const EntryMap base = SampleMap();
  const BuiltTrees base_built = Build(base);
  EntryMap remote = base;
  remote["x/sub/f"] = File(9, 2);
  remote["x/sub/new"] = File(10);
  const BuiltTrees remote_built = Build(remote);
  TreeStore store;
  store.Add(remote_built);

  auto flat = FlattenTreesDiff(remote_built.root, store.Loader(), base, base_built.tree_ids);
  ASSERT_TRUE(flat.ok()) << flat.error().ToShortString();
  EXPECT_EQ(flat->entries, remote);
  EXPECT_EQ(flat->tree_ids, remote_built.tree_ids);
  EXPECT_EQ(flat->trees_loaded, 3u);  // "", x, x/sub
  EXPECT_EQ(store.loads, 3);
  EXPECT_EQ(flat->reused, (std::vector<std::string>{"y", "z"}));
}

// Identical directories share a tree id: each id is loaded once, and the
// second directory is listed from the first one's entries (no decoded tree
// is kept for the whole walk), subdirectories and their ids included.
TEST(FlattenTreesTest, IdenticalDirectoriesAreLoadedOnceAndBothListedInFull) {
  EntryMap remote;
  for (const std::string top : {"a", "b", "c"}) {
    remote[top] = OfKind(EntryKind::kDir);
    remote[top + "/f"] = File(1);
    remote[top + "/sub"] = OfKind(EntryKind::kDir);
    remote[top + "/sub/g"] = File(2);
  }
  remote["c/extra"] = File(3);  // c differs; c/sub does not
  const BuiltTrees built = Build(remote);
  ASSERT_EQ(built.tree_ids.at("a"), built.tree_ids.at("b"));
  TreeStore store;
  store.Add(built);

  auto flat = FlattenTreesDiff(built.root, store.Loader(), EntryMap(), TreeIds());
  ASSERT_TRUE(flat.ok()) << flat.error().ToShortString();
  EXPECT_EQ(flat->entries, remote);
  EXPECT_EQ(flat->tree_ids, built.tree_ids);
  EXPECT_EQ(flat->trees_loaded, 4u);  // "", a (= b), a/sub (= b/sub = c/sub), c
  EXPECT_EQ(store.loads, 4);
}

TEST(FlattenTreesTest, AnUnchangedRootLoadsNothing) {
  const EntryMap base = SampleMap();
  const BuiltTrees built = Build(base);
  TreeStore empty_store;
  auto flat = FlattenTreesDiff(built.root, empty_store.Loader(), base, built.tree_ids);
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->entries, base);
  EXPECT_EQ(flat->tree_ids, built.tree_ids);
  EXPECT_EQ(flat->trees_loaded, 0u);
  EXPECT_EQ(flat->reused, (std::vector<std::string>{""}));
}

TEST(FlattenTreesTest, ADirectoryDeletedRemotelyDropsItsBaseEntries) {
  const EntryMap base = SampleMap();
  const BuiltTrees base_built = Build(base);
  EntryMap remote = base;
  remote.erase("y/h");
  remote["y"] = OfKind(EntryKind::kFile);  // y became a file
  const BuiltTrees remote_built = Build(remote);
  TreeStore store;
  store.Add(remote_built);
  auto flat = FlattenTreesDiff(remote_built.root, store.Loader(), base, base_built.tree_ids);
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->entries, remote);
  EXPECT_EQ(flat->tree_ids.count("y"), 0u);
}

TEST(FlattenTreesTest, LoaderErrorsPassThroughUnchanged) {
  const Error missing(SyncCode::kNetworkFailed, Category::kTimeout, "slow store");
  auto flat = FlattenTrees(ObjectId{}, [&](const ObjectId&) -> Result<Tree> { return missing; });
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.error(), missing);
}

TEST(FlattenTreesTest, RefusesTreesALoaderShouldNeverReturn) {
  // The root (id 0) lists `entry`; other ids are looked up in `more`
  // (empty trees if absent).
  auto flatten_one = [](TreeEntry entry, std::map<ObjectId, Tree> more = {}) {
    more[ObjectId{}].entries.push_back(std::move(entry));
    return FlattenTrees(ObjectId{}, [more](const ObjectId& id) -> Result<Tree> {
      const auto it = more.find(id);
      return it == more.end() ? Tree{} : it->second;
    });
  };
  TreeEntry escape{"../etc", OfKind(EntryKind::kFile), std::nullopt};
  auto flat = flatten_one(escape);
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.error().category, Category::kCorrupt);

  // Beneath a file or symlink (its shadow) only tombstones may lie, however
  // deep.
  ObjectId one{};
  one[0] = 1;
  ObjectId two{};
  two[0] = 2;
  const Tree live{{TreeEntry{"x", OfKind(EntryKind::kFile), std::nullopt}}};
  const Tree tombstone_over_live{{TreeEntry{"t", OfKind(EntryKind::kTombstone), two}}};
  for (const EntryKind leaf : {EntryKind::kFile, EntryKind::kSymlink}) {
    for (const Tree& below : {live, tombstone_over_live}) {
      flat = flatten_one(TreeEntry{"f", OfKind(leaf), one}, {{one, below}, {two, live}});
      ASSERT_FALSE(flat.ok());
      EXPECT_EQ(flat.error().category, Category::kCorrupt);
      EXPECT_THAT(flat.error().message, HasSubstr("live entry"));
    }
  }
  flat = flatten_one(TreeEntry{"d", OfKind(EntryKind::kDir), std::nullopt});
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.error().category, Category::kCorrupt);
}

TEST(FlattenTreesTest, ARootEntryNamedHxFromAnotherDeviceIsRefusedNamingIt) {
  // A hostile device's trees, written with the repo's own writer: ".hx" is
  // a valid name for BuildTrees, but the reader never lets a synced path
  // lead into a vault's local state.
  for (const EntryMap& hostile :
       {EntryMap{{".hx", OfKind(EntryKind::kDir)}, {".hx/config.json", File(1)}, {"ok", File(2)}},
        EntryMap{{".hx", File(1)}},
        EntryMap{{".hx", [] {
                    Entry link = OfKind(EntryKind::kSymlink);
                    link.symlink_target = "/etc";
                    return link;
                  }()}}}) {
    TreeStore store;
    const BuiltTrees built = Build(hostile);
    store.Add(built);
    auto check = [](const Error& e) {
      EXPECT_EQ(e.code, SyncCode::kStateFailed);
      EXPECT_EQ(e.category, Category::kCorrupt);
      EXPECT_EQ(e.details.at("path"), ".hx");
      EXPECT_THAT(e.message, HasSubstr("\".hx\""));
    };
    auto flat = FlattenTrees(built.root, store.Loader());
    ASSERT_FALSE(flat.ok());
    check(flat.error());
    auto diff = FlattenTreesDiff(built.root, store.Loader(), {}, {});
    ASSERT_FALSE(diff.ok());
    check(diff.error());
  }
  // Only the root's: a directory named .hx deeper down is ordinary content.
  TreeStore store;
  const BuiltTrees nested = Build({{"a", OfKind(EntryKind::kDir)},
                                   {"a/.hx", OfKind(EntryKind::kDir)},
                                   {"a/.hx/f", File(1)}});
  store.Add(nested);
  auto flat = FlattenTrees(nested.root, store.Loader());
  ASSERT_TRUE(flat.ok()) << flat.error().ToShortString();
  EXPECT_EQ(flat->count("a/.hx/f"), 1u);
}

TEST(FlattenTreesTest, NamesThatWouldLeaveTheirDirectoryAreRefused) {
  for (const char* name : {"..", ".", "", "a/../x", "../x", "/etc", "a/b"}) {
    SCOPED_TRACE(name);
    Tree root{{TreeEntry{name, OfKind(EntryKind::kFile), std::nullopt}}};
    auto flat = FlattenTrees(ObjectId{}, [&](const ObjectId&) -> Result<Tree> { return root; });
    ASSERT_FALSE(flat.ok());
    EXPECT_EQ(flat.error().category, Category::kCorrupt);
  }
  Tree nul{{TreeEntry{std::string("a\0b", 3), OfKind(EntryKind::kFile), std::nullopt}}};
  EXPECT_FALSE(
      FlattenTrees(ObjectId{}, [&](const ObjectId&) -> Result<Tree> { return nul; }).ok());
}

// A loader whose tree n holds one dir pointing to tree n + 1, forever.
ObjectId Numbered(std::uint32_t n) {
  ObjectId id{};
  for (int i = 0; i < 4; ++i) id[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return id;
}
std::uint32_t NumberOf(const ObjectId& id) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(id[i]) << (8 * i);
  return n;
}

TEST(FlattenTreesTest, RefusesEndlesslyNestedTrees) {
  auto flat = FlattenTrees(Numbered(0), [](const ObjectId& id) -> Result<Tree> {
    Tree tree;
    tree.entries.push_back(TreeEntry{"d", OfKind(EntryKind::kDir), Numbered(NumberOf(id) + 1)});
    return tree;
  });
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(flat.error().category, Category::kCorrupt);
}

TEST(FlattenTreesTest, RefusesTreesThatExpandBeyondTheEntryLimit) {
  // Each level lists the next one twice: 2^n entries from n small trees.
  auto load = [](const ObjectId& id) -> Result<Tree> {
    Tree tree;
    const ObjectId next = Numbered(NumberOf(id) + 1);
    tree.entries.push_back(TreeEntry{"a", OfKind(EntryKind::kDir), next});
    tree.entries.push_back(TreeEntry{"b", OfKind(EntryKind::kDir), next});
    return tree;
  };
  auto flat = FlattenTreesDiff(Numbered(0), load, {}, {}, /*max_entries=*/1000);
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.error().category, Category::kCorrupt);
  EXPECT_NE(flat.error().message.find("more than 1000 entries"), std::string::npos);
}

}  // namespace
}  // namespace hx
