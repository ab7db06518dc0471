// DetectLocalChangesOfScan must decide exactly what the two-step form
// DetectLocalChanges(base, ScannedWithBase(base, scan)) decides: it is the
// same rule without the intermediate copy of the scan.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "sync/internal.h"
#include "sync/planner.h"

namespace hx {
namespace {

constexpr std::string_view kNode = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

Entry MakeEntry(int kind, int content) {
  Entry e;
  e.kind = static_cast<EntryKind>(kind);
  if (e.kind == EntryKind::kFile) {
    ChunkRef c;
    c.id.fill(static_cast<std::uint8_t>(content));
    c.size = 1 + static_cast<std::uint64_t>(content);
    e.size = c.size;
    e.chunks.push_back(c);
  } else if (e.kind == EntryKind::kSymlink) {
    e.symlink_target = "t" + std::to_string(content);
  }
  return e;
}

// Paths from a small alphabet, so that parents, children, errors and
// ignore patterns overlap often.
rc::Gen<std::string> GenPath() {
  return rc::gen::exec([] {
    const auto depth = static_cast<std::size_t>(*rc::gen::inRange(1, 4));
    const auto parts = *rc::gen::container<std::vector<std::string>>(
        depth, rc::gen::element<std::string>("a", "b", "c", "tmp", "x.log"));
    std::string path;
    for (const std::string& part : parts) path += (path.empty() ? "" : "/") + part;
    return path;
  });
}

EntryMap GenEntries(bool allow_tombstones) {
  EntryMap out;
  const auto paths = *rc::gen::container<std::vector<std::string>>(GenPath());
  for (const std::string& path : paths) {
    const int kind = *rc::gen::inRange(0, allow_tombstones ? 4 : 3);
    Entry e = MakeEntry(kind, *rc::gen::inRange(0, 3));
    e.vv = VersionVector({{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                           static_cast<std::uint64_t>(*rc::gen::inRange(1, 4))}});
    out.emplace(path, std::move(e));
  }
  return out;
}

RC_GTEST_PROP(DetectLocalChangesOfScan, DecidesExactlyWhatTheTwoStepFormDecides, ()) {
  BaseState base;
  base.entries = GenEntries(/*allow_tombstones=*/true);
  ScanResult scan;
  scan.entries = GenEntries(/*allow_tombstones=*/false);
  const auto error_count = static_cast<std::size_t>(*rc::gen::inRange(0, 3));
  for (const std::string& path :
       *rc::gen::unique<std::vector<std::string>>(error_count, GenPath())) {
    scan.errors.push_back({path, Error(SyncCode::kStateFailed, Category::kIo, "unreadable")});
  }
  std::sort(scan.errors.begin(), scan.errors.end(),
            [](const ScanError& x, const ScanError& y) { return x.path < y.path; });
  scan.ignore_rules = IgnoreRules::Parse(
      *rc::gen::element<std::string>("", "*.log\n", "tmp/\n", "/b\n!b/c\n"));

  const LocalChanges fused = DetectLocalChangesOfScan(base, scan, kNode);
  const LocalChanges two_step =
      DetectLocalChanges(base.entries, ScannedWithBase(base, scan), kNode);
  RC_ASSERT(fused.state == two_step.state);
  RC_ASSERT(fused.added == two_step.added);
  RC_ASSERT(fused.modified == two_step.modified);
  RC_ASSERT(fused.deleted == two_step.deleted);

  // The lighter forms give the same lists; the state only when asked.
  const LocalChanges lists = DetectLocalChangesOfScan(base, scan, kNode, StateWanted::kNever);
  RC_ASSERT(lists.added == fused.added && lists.modified == fused.modified &&
            lists.deleted == fused.deleted);
  RC_ASSERT(lists.state.empty());
  const LocalChanges if_changed =
      DetectLocalChangesOfScan(base, scan, kNode, StateWanted::kIfChanged);
  RC_ASSERT(if_changed.state == (fused.empty() ? EntryMap() : fused.state));

  // Taking the scan's entries instead of copying them changes nothing.
  ScanResult consumed = scan;
  const LocalChanges taken = TakeLocalChangesOfScan(base, consumed, kNode);
  RC_ASSERT(taken.state == if_changed.state);
  RC_ASSERT(taken.added == fused.added && taken.modified == fused.modified &&
            taken.deleted == fused.deleted);
  RC_ASSERT(consumed.entries.empty() == !fused.empty() || scan.entries.empty());
}

TEST(DetectLocalChangesOfScan, AnUnreadableDirectoryKeepsItsBaseSubtree) {
  BaseState base;
  base.entries = {{"d", MakeEntry(1, 0)}, {"d/f", MakeEntry(0, 1)}, {"g", MakeEntry(0, 2)}};
  for (auto& [path, entry] : base.entries) entry.vv.Bump("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ScanResult scan;
  scan.errors.push_back({"d", Error(SyncCode::kStateFailed, Category::kAuth, "denied")});
  const LocalChanges c = DetectLocalChangesOfScan(base, scan, kNode);
  EXPECT_EQ(c.deleted, std::vector<std::string>{"g"});
  EXPECT_EQ(c.state.at("d/f"), base.entries.at("d/f"));
}

TEST(DetectLocalChangesOfScan, ADirectoryReplacedByAFileDropsItsChildrenFromTheState) {
  // The user removed d/ (with d/x and the tombstone d/old) and made a file d:
  // the children are deleted, and the state must still build into trees
  // (a tree cannot list children under a file).
  BaseState base;
  base.entries = {{"d", MakeEntry(1, 0)},
                  {"d/old", MakeEntry(3, 0)},
                  {"d/x", MakeEntry(0, 1)},
                  {"e", MakeEntry(0, 2)}};
  for (auto& [path, entry] : base.entries) entry.vv.Bump("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ScanResult scan;
  scan.entries = {{"d", MakeEntry(0, 5)}, {"e", MakeEntry(0, 2)}};
  const LocalChanges c = DetectLocalChangesOfScan(base, scan, kNode);
  EXPECT_EQ(c.modified, std::vector<std::string>{"d"});
  EXPECT_EQ(c.deleted, std::vector<std::string>{"d/x"});
  EXPECT_EQ(c.state.count("d/x") + c.state.count("d/old"), 0u);
  EXPECT_EQ(c.state.at("d").kind, EntryKind::kFile);
  const auto built = BuildTrees(c.state, [](std::string_view bytes) {
    ObjectId id{};
    for (std::size_t i = 0; i < bytes.size(); ++i) id[i % id.size()] ^= static_cast<std::uint8_t>(bytes[i]);
    return id;
  });
  EXPECT_TRUE(built.ok()) << (built.ok() ? "" : built.error().message);
}

}  // namespace
}  // namespace hx
