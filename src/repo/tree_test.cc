// The tree model: version vector laws, entry content equality, entry names,
// and the tree codec (golden bytes, round trips, strict rejections).
#include "repo/tree.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "json/canonical_json.h"
#include "repo/repo_test_util.h"
#include "repo/tree_internal.h"

namespace hx {
namespace {

using testing::GenEntryOfKind;
using testing::GenKind;
using testing::GenTree;
using testing::GenVv;

const std::string kNodeA = "0123456789abcdef0123456789abcdef";
const std::string kNodeB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kNodeC = "fedcba9876543210fedcba9876543210";

VersionVector Vv(std::map<std::string, std::uint64_t> counters) {
  return VersionVector(std::move(counters));
}

ObjectId FilledId(std::uint8_t byte) {
  ObjectId id;
  id.fill(byte);
  return id;
}

// ---- Version vectors ----------------------------------------------------------

TEST(VersionVectorTest, CompareOrdersByPointwiseCounters) {
  EXPECT_EQ(Vv({}).Compare(Vv({})), VvOrder::kEqual);
  EXPECT_EQ(Vv({{kNodeA, 1}}).Compare(Vv({{kNodeA, 1}})), VvOrder::kEqual);
  EXPECT_EQ(Vv({{kNodeA, 1}}).Compare(Vv({{kNodeA, 2}})), VvOrder::kBefore);
  EXPECT_EQ(Vv({{kNodeA, 2}}).Compare(Vv({{kNodeA, 1}})), VvOrder::kAfter);
  // A node missing on one side counts as 0 there.
  EXPECT_EQ(Vv({}).Compare(Vv({{kNodeA, 1}})), VvOrder::kBefore);
  EXPECT_EQ(Vv({{kNodeA, 1}}).Compare(Vv({{kNodeA, 1}, {kNodeB, 1}})), VvOrder::kBefore);
  EXPECT_EQ(Vv({{kNodeA, 1}, {kNodeB, 1}}).Compare(Vv({{kNodeB, 1}})), VvOrder::kAfter);
  EXPECT_EQ(Vv({{kNodeA, 1}}).Compare(Vv({{kNodeB, 1}})), VvOrder::kConcurrent);
  EXPECT_EQ(Vv({{kNodeA, 2}, {kNodeB, 1}}).Compare(Vv({{kNodeA, 1}, {kNodeB, 2}})),
            VvOrder::kConcurrent);
}

TEST(VersionVectorTest, MergeIsThePointwiseMaximum) {
  EXPECT_EQ(Vv({{kNodeA, 2}, {kNodeB, 1}}).Merge(Vv({{kNodeB, 3}, {kNodeC, 1}})),
            Vv({{kNodeA, 2}, {kNodeB, 3}, {kNodeC, 1}}));
}

TEST(VersionVectorTest, BumpSetsTheNodeAboveEveryCounter) {
  VersionVector vv = Vv({{kNodeA, 1}, {kNodeB, 5}});
  vv.Bump(kNodeA);
  EXPECT_EQ(vv, Vv({{kNodeA, 6}, {kNodeB, 5}}));
  vv.Bump(kNodeC);
  EXPECT_EQ(vv, Vv({{kNodeA, 6}, {kNodeB, 5}, {kNodeC, 7}}));
  VersionVector fresh;
  fresh.Bump(kNodeA);
  EXPECT_EQ(fresh, Vv({{kNodeA, 1}}));
}

TEST(VersionVectorTest, BumpSaturatesInsteadOfWrapping) {
  VersionVector vv = Vv({{kNodeA, kMaxVvCounter}});
  vv.Bump(kNodeB);
  EXPECT_EQ(vv, Vv({{kNodeA, kMaxVvCounter}, {kNodeB, kMaxVvCounter}}));
}

RC_GTEST_PROP(VersionVectorLaws, CompareIsAntisymmetric, ()) {
  const VersionVector a = *GenVv();
  const VersionVector b = *GenVv();
  const VvOrder ab = a.Compare(b);
  const VvOrder ba = b.Compare(a);
  switch (ab) {
    case VvOrder::kEqual: RC_ASSERT(ba == VvOrder::kEqual); RC_ASSERT(a == b); break;
    case VvOrder::kBefore: RC_ASSERT(ba == VvOrder::kAfter); break;
    case VvOrder::kAfter: RC_ASSERT(ba == VvOrder::kBefore); break;
    case VvOrder::kConcurrent: RC_ASSERT(ba == VvOrder::kConcurrent); break;
  }
}

RC_GTEST_PROP(VersionVectorLaws, MergeIsCommutativeAssociativeAndIdempotent, ()) {
  const VersionVector a = *GenVv();
  const VersionVector b = *GenVv();
  const VersionVector c = *GenVv();
  RC_ASSERT(a.Merge(b) == b.Merge(a));
  RC_ASSERT(a.Merge(b).Merge(c) == a.Merge(b.Merge(c)));
  RC_ASSERT(a.Merge(a) == a);
}

RC_GTEST_PROP(VersionVectorLaws, MergeIsTheLeastUpperBound, ()) {
  const VersionVector a = *GenVv();
  const VersionVector b = *GenVv();
  const VersionVector m = a.Merge(b);
  RC_ASSERT(a.Compare(m) != VvOrder::kAfter);
  RC_ASSERT(a.Compare(m) != VvOrder::kConcurrent);
  RC_ASSERT(b.Compare(m) != VvOrder::kAfter);
  RC_ASSERT(b.Compare(m) != VvOrder::kConcurrent);
}

RC_GTEST_PROP(VersionVectorLaws, BumpDominatesTheOldVectorAndEverythingItDominated, ()) {
  const VersionVector old = *GenVv();
  const VersionVector other = *GenVv();
  VersionVector bumped = old;
  bumped.Bump(testing::TestNodes()[*rc::gen::inRange<std::size_t>(0, 3)]);
  RC_ASSERT(bumped.Compare(old) == VvOrder::kAfter);
  if (other.Compare(old) == VvOrder::kBefore || other.Compare(old) == VvOrder::kEqual) {
    RC_ASSERT(bumped.Compare(other) == VvOrder::kAfter);
  }
  // A bump of a merge dominates both sides: how a resolved conflict is recorded.
  VersionVector resolved = old.Merge(other);
  resolved.Bump(testing::TestNodes()[0]);
  RC_ASSERT(resolved.Compare(old) == VvOrder::kAfter);
  RC_ASSERT(resolved.Compare(other) == VvOrder::kAfter);
}

// ---- Entries and names -----------------------------------------------------------

TEST(EntryTest, SameContentIgnoresMtimeAndVersionVector) {
  Entry a;
  a.kind = EntryKind::kFile;
  a.size = 3;
  a.chunks = {ChunkRef{FilledId(1), 3}};
  a.mtime_ns = 1;
  a.vv = Vv({{kNodeA, 1}});
  Entry b = a;
  b.mtime_ns = 2;
  b.vv = Vv({{kNodeB, 9}});
  EXPECT_TRUE(a.SameContent(b));
  b.executable = true;
  EXPECT_FALSE(a.SameContent(b));
  b = a;
  b.chunks[0].id = FilledId(2);
  EXPECT_FALSE(a.SameContent(b));

  Entry link;
  link.kind = EntryKind::kSymlink;
  link.symlink_target = "x";
  Entry other_link = link;
  EXPECT_TRUE(link.SameContent(other_link));
  other_link.symlink_target = "y";
  EXPECT_FALSE(link.SameContent(other_link));

  Entry dead;
  dead.kind = EntryKind::kTombstone;
  dead.vv = Vv({{kNodeA, 1}});
  Entry other_dead;
  other_dead.kind = EntryKind::kTombstone;
  other_dead.vv = Vv({{kNodeB, 4}});
  EXPECT_TRUE(dead.SameContent(other_dead));
  EXPECT_FALSE(dead.SameContent(a));
}

TEST(EntryNameTest, RefusesWhatCouldEscapeOrConfuseAPath) {
  EXPECT_TRUE(IsValidEntryName("a"));
  EXPECT_TRUE(IsValidEntryName("..."));
  EXPECT_TRUE(IsValidEntryName(".hidden"));
  EXPECT_TRUE(IsValidEntryName("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidEntryName("back\\slash"));
  EXPECT_FALSE(IsValidEntryName(""));
  EXPECT_FALSE(IsValidEntryName("."));
  EXPECT_FALSE(IsValidEntryName(".."));
  EXPECT_FALSE(IsValidEntryName("a/b"));
  EXPECT_FALSE(IsValidEntryName("/"));
  EXPECT_FALSE(IsValidEntryName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidEntryName("\xc3"));          // truncated
  EXPECT_FALSE(IsValidEntryName("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidEntryName("\xed\xa0\x80"));  // surrogate
}

// ---- Codec ---------------------------------------------------------------------

Tree SmallTree() {
  Tree tree;
  TreeEntry file;
  file.name = "a.txt";
  file.entry.kind = EntryKind::kFile;
  file.entry.size = 5;
  file.entry.chunks = {ChunkRef{FilledId(0x11), 5}};
  file.entry.mtime_ns = 1;
  file.entry.vv = Vv({{kNodeA, 1}});
  TreeEntry dir;
  dir.name = "d";
  dir.entry.kind = EntryKind::kDir;
  dir.entry.vv = Vv({{kNodeA, 2}, {kNodeB, 1}});
  dir.subtree = FilledId(0x22);
  TreeEntry gone;
  gone.name = "gone";
  gone.entry.kind = EntryKind::kTombstone;
  gone.entry.vv = Vv({{kNodeC, 3}});
  TreeEntry link;
  link.name = "link";
  link.entry.kind = EntryKind::kSymlink;
  link.entry.symlink_target = "a.txt";
  link.entry.vv = Vv({{kNodeA, 4}});
  tree.entries = {file, dir, gone, link};
  return tree;
}

const std::string kIds11 = std::string(64, '1');
const std::string kIds22 = std::string(64, '2');

// Written by hand from the format in tree.h.
const std::string kSmallTreeBytes =
    R"({"entries":[)"
    R"({"chunks":[[")" + kIds11 + R"(",5]],"executable":false,"kind":"file","mtime_ns":1,)"
    R"("name":"a.txt","size":5,"vv":{")" + kNodeA + R"(":1}},)"
    R"({"kind":"dir","name":"d","tree":")" + kIds22 + R"(","vv":{")" + kNodeA + R"(":2,")" +
    kNodeB + R"(":1}},)"
    R"({"kind":"tombstone","name":"gone","vv":{")" + kNodeC + R"(":3}},)"
    R"({"kind":"symlink","name":"link","target":"a.txt","vv":{")" + kNodeA + R"(":4}}],)"
    R"("format_version":1})";

TEST(TreeCodecTest, GoldenBytesOfASmallTree) {
  auto bytes = EncodeTree(SmallTree());
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(*bytes, kSmallTreeBytes);
  // The json module's writer agrees that these bytes are canonical.
  EXPECT_TRUE(ParseCanonicalJson(*bytes).ok());
  auto decoded = DecodeTree(kSmallTreeBytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  EXPECT_EQ(*decoded, SmallTree());
}

TEST(TreeCodecTest, EmptyTreeAndTombstoneWithSubtree) {
  EXPECT_EQ(*EncodeTree(Tree{}), R"({"entries":[],"format_version":1})");
  Tree tree;
  TreeEntry& dead_dir = tree.entries.emplace_back();
  dead_dir.name = "old";
  dead_dir.entry.kind = EntryKind::kTombstone;
  dead_dir.entry.vv = Vv({{kNodeA, 1}});
  dead_dir.subtree = FilledId(0x22);
  const std::string expected = R"({"entries":[{"kind":"tombstone","name":"old","tree":")" +
                               kIds22 + R"(","vv":{")" + kNodeA + R"(":1}}],"format_version":1})";
  EXPECT_EQ(*EncodeTree(tree), expected);
  EXPECT_EQ(*DecodeTree(expected), tree);
}

TEST(TreeCodecTest, AFileOrSymlinkWithAShadowNamesItsSubtree) {
  // A file and a symlink that replaced directories: "tree" names the
  // subtree of the replaced directories' tombstones, just before "vv".
  Tree tree;
  TreeEntry& file = tree.entries.emplace_back();
  file.name = "d";
  file.entry.chunks = {{FilledId(0x11), 3}};
  file.entry.size = 3;
  file.entry.mtime_ns = 5;
  file.entry.vv = Vv({{kNodeA, 2}});
  file.subtree = FilledId(0x22);
  TreeEntry& link = tree.entries.emplace_back();
  link.name = "e";
  link.entry.kind = EntryKind::kSymlink;
  link.entry.symlink_target = "d";
  link.entry.vv = Vv({{kNodeA, 3}});
  link.subtree = FilledId(0x22);
  const std::string expected =
      R"({"entries":[{"chunks":[[")" + std::string(64, '1') +
      R"(",3]],"executable":false,"kind":"file","mtime_ns":5,"name":"d","size":3,"tree":")" +
      kIds22 + R"(","vv":{")" + kNodeA + R"(":2}},{"kind":"symlink","name":"e","target":"d","tree":")" +
      kIds22 + R"(","vv":{")" + kNodeA + R"(":3}}],"format_version":1})";
  EXPECT_EQ(*EncodeTree(tree), expected);
  EXPECT_TRUE(ParseCanonicalJson(expected).ok());
  EXPECT_EQ(*DecodeTree(expected), tree);
  EXPECT_EQ(*tree_internal::DecodeTreeStrictJson(expected), tree);
}

TEST(TreeCodecTest, NamesAndTargetsAreEscapedAsCanonicalJson) {
  Tree tree;
  TreeEntry& link = tree.entries.emplace_back();
  link.name = "q\"\\\x01\xc3\xa9";
  link.entry.kind = EntryKind::kSymlink;
  link.entry.symlink_target = "../t\n";
  link.entry.vv = Vv({{kNodeA, 1}});
  auto bytes = EncodeTree(tree);
  ASSERT_TRUE(bytes.ok());
  EXPECT_NE(bytes->find(R"("name":"q\"\\\u0001)" "\xc3\xa9" R"(")"), std::string::npos) << *bytes;
  EXPECT_NE(bytes->find(R"("target":"../t\n")"), std::string::npos) << *bytes;
  EXPECT_TRUE(ParseCanonicalJson(*bytes).ok());
  EXPECT_EQ(*DecodeTree(*bytes), tree);
}

TEST(TreeCodecTest, ExtremeValuesRoundTripThroughBothDecoders) {
  TreeEntry file;
  file.name = std::string("\x01\x1f\x7f", 3);
  file.entry.kind = EntryKind::kFile;
  file.entry.mtime_ns = std::numeric_limits<std::int64_t>::min();
  file.entry.vv = Vv({{kNodeA, kMaxVvCounter}, {kNodeB, 1}});
  for (int i = 0; i < 3; ++i) file.entry.chunks.push_back(ChunkRef{FilledId(0xff), kMaxChunkSize});
  file.entry.size = 3 * kMaxChunkSize;
  TreeEntry other = file;
  other.name = "z";
  other.entry.mtime_ns = std::numeric_limits<std::int64_t>::max();
  other.entry.chunks.clear();
  other.entry.size = 0;
  const Tree tree{{file, other}};
  auto bytes = EncodeTree(tree);
  ASSERT_TRUE(bytes.ok());
  EXPECT_NE(bytes->find("\"mtime_ns\":-9223372036854775808"), std::string::npos);
  EXPECT_NE(bytes->find("\":9223372036854775807"), std::string::npos);
  const std::optional<Tree> fast = tree_internal::ParseCanonicalTree(*bytes);
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(*fast, tree);
  auto general = tree_internal::DecodeTreeStrictJson(*bytes);
  ASSERT_TRUE(general.ok()) << general.error().ToShortString();
  EXPECT_EQ(*general, tree);
}

RC_GTEST_PROP(TreeCodecProperty, EncodeThenDecodeGivesTheTreeBack, ()) {
  const Tree tree = *GenTree();
  auto bytes = EncodeTree(tree);
  RC_ASSERT(bytes.ok());
  auto decoded = DecodeTree(*bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == tree);
  // And the bytes are what the json module considers canonical.
  RC_ASSERT(ParseCanonicalJson(*bytes).ok());
  // Both decoders accept them: written trees always take the fast path.
  const std::optional<Tree> fast = tree_internal::ParseCanonicalTree(*bytes);
  RC_ASSERT(fast.has_value());
  RC_ASSERT(*fast == tree);
  auto general = tree_internal::DecodeTreeStrictJson(*bytes);
  RC_ASSERT(general.ok());
  RC_ASSERT(*general == tree);
}

RC_GTEST_PROP(TreeCodecProperty, EntriesDecodeWithDefaultsForFieldsTheirKindDoesNotUse, ()) {
  const Entry entry = *GenEntryOfKind(*GenKind());
  RC_ASSERT(entry.SameContent(entry));
  Tree tree;
  tree.entries.push_back(TreeEntry{"x", entry, std::nullopt});
  if (entry.kind == EntryKind::kDir) tree.entries[0].subtree = FilledId(3);
  auto decoded = DecodeTree(*EncodeTree(tree));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->entries[0].entry == entry);
}

// Every case replaces `from` in kSmallTreeBytes by `to`, or (from empty) uses
// `to` as the whole input.
struct Rejection {
  const char* rule;
  std::string from;
  std::string to;
};

std::string Apply(const Rejection& r) {
  if (r.from.empty()) return r.to;
  std::string bytes = kSmallTreeBytes;
  const std::size_t at = bytes.find(r.from);
  EXPECT_NE(at, std::string::npos) << r.rule;
  if (at != std::string::npos) bytes.replace(at, r.from.size(), r.to);
  return bytes;
}

TEST(TreeCodecTest, DecodingRefusesEveryMalformation) {
  const std::string a = kNodeA;
  const std::vector<Rejection> cases = {
      {"empty input", "", ""},
      {"not JSON", "", "{"},
      {"not an object", "", "[]"},
      {"no entries", "", R"({"format_version":1})"},
      {"no format_version", "", R"({"entries":[]})"},
      {"newer format_version", "", R"({"entries":[],"format_version":2})"},
      {"unknown top-level field", "", R"({"entries":[],"extra":1,"format_version":1})"},
      {"entries not an array", "", R"({"entries":{},"format_version":1})"},
      {"whitespace (not canonical)", "", R"({"entries": [],"format_version":1})"},
      {"escaped '/' (not canonical)", R"("target":"a.txt")", R"("target":"a\/b")"},
      {"trailing newline", "\"format_version\":1}", "\"format_version\":1}\n"},
      {"entry not an object", R"({"kind":"tombstone","name":"gone","vv":{")" + kNodeC + R"(":3}})",
       "1"},
      {"empty name", R"("name":"gone")", R"("name":"")"},
      {"name \".\"", R"("name":"gone")", R"("name":".")"},
      {"name \"..\"", R"("name":"gone")", R"("name":"..")"},
      {"name with '/'", R"("name":"gone")", R"("name":"g/one")"},
      {"name with NUL", R"("name":"gone")", R"("name":"go\u0000ne")"},
      {"name with invalid UTF-8", R"("name":"gone")", "\"name\":\"g\xc3one\""},
      {"names out of order", R"("name":"gone")", R"("name":"zzz")"},
      {"duplicate names", R"("name":"gone")", R"("name":"d")"},
      {"unknown kind", R"("kind":"tombstone")", R"("kind":"fifo")"},
      {"kind not a string", R"("kind":"tombstone")", R"("kind":3)"},
      {"dir without tree", R"("tree":")" + kIds22 + R"(",)", ""},
      {"file with tree out of order", R"("mtime_ns":1,)", R"("mtime_ns":1,"tree":")" + kIds22 + R"(",)"},
      {"symlink with tree out of order", R"("kind":"symlink",)", R"("kind":"symlink","tree":")" + kIds22 + R"(",)"},
      {"dir with a size", R"("name":"d",)", R"("name":"d","size":0,)"},
      {"tombstone with a target", R"("name":"gone",)", R"("name":"gone","target":"x",)"},
      {"file without mtime_ns", R"("mtime_ns":1,)", ""},
      {"file without executable", R"("executable":false,)", ""},
      {"executable not a bool", R"("executable":false)", R"("executable":0)"},
      {"empty vv", R"("vv":{")" + kNodeC + R"(":3})", R"("vv":{})"},
      {"vv not an object", R"("vv":{")" + kNodeC + R"(":3})", R"("vv":[])"},
      {"uppercase node id", kNodeC + "\":3", "FEDCBA9876543210FEDCBA9876543210\":3"},
      {"short node id", kNodeC + "\":3", "fedcba\":3"},
      {"zero counter", kNodeC + "\":3", kNodeC + "\":0"},
      {"negative counter", kNodeC + "\":3", kNodeC + "\":-3"},
      {"counter not an integer", kNodeC + "\":3", kNodeC + "\":\"3\""},
      {"fractional counter", kNodeC + "\":3", kNodeC + "\":3.0"},
      {"chunks not summing to size", R"("size":5)", R"("size":6)"},
      {"negative size", R"("size":5)", R"("size":-5)"},
      {"zero chunk size", "\",5]]", "\",0]]"},
      {"chunk above 2^26", R"(",5]],"executable":false,"kind":"file","mtime_ns":1,"name":"a.txt","size":5)",
       R"(",67108865]],"executable":false,"kind":"file","mtime_ns":1,"name":"a.txt","size":67108865)"},
      {"chunk not a pair", "\",5]]", "\",5,6]]"},
      {"chunk id uppercase", "[[\"" + kIds11, "[[\"" + std::string(63, '1') + "A"},
      {"chunk id short", "[[\"" + kIds11, "[[\"11"},
      {"tree id not hex", kIds22, std::string(63, '2') + "g"},
      {"escaped non-ASCII (not canonical)", R"("name":"gone")", R"("name":"g\u00e9ne")"},
      {"\\u000a for \\n (not canonical)", R"("target":"a.txt")", R"("target":"a\u000a")"},
      {"uppercase \\u escape", R"("target":"a.txt")", R"("target":"a\u001F")"},
      {"leading zero", R"("mtime_ns":1)", R"("mtime_ns":01)"},
      {"negative zero", R"("mtime_ns":1)", R"("mtime_ns":-0)"},
      {"exponent", R"("mtime_ns":1)", R"("mtime_ns":1e0)"},
      {"plus sign", R"("mtime_ns":1)", R"("mtime_ns":+1)"},
      {"mtime above int64", R"("mtime_ns":1)", R"("mtime_ns":9223372036854775808)"},
      {"members out of order", R"("kind":"tombstone","name":"gone")",
       R"("name":"gone","kind":"tombstone")"},
      {"vv keys out of order", R"("vv":{")" + kNodeA + R"(":2,")" + kNodeB + R"(":1})",
       R"("vv":{")" + kNodeB + R"(":1,")" + kNodeA + R"(":2})"},
      {"empty symlink target", R"("target":"a.txt")", R"("target":"")"},
      {"symlink target with NUL", R"("target":"a.txt")", R"("target":"a\u0000")"},
  };
  for (const Rejection& c : cases) {
    EXPECT_FALSE(tree_internal::ParseCanonicalTree(Apply(c)).has_value()) << c.rule;
    auto decoded = DecodeTree(Apply(c));
    ASSERT_FALSE(decoded.ok()) << c.rule;
    EXPECT_EQ(decoded.error().code, SyncCode::kStateFailed) << c.rule;
    EXPECT_EQ(decoded.error().category, Category::kCorrupt) << c.rule;
    EXPECT_EQ(decoded.error().message.rfind("tree: ", 0), 0u)
        << c.rule << ": " << decoded.error().message;
  }
}

TEST(TreeCodecTest, DecodingErrorsNameTheProblem) {
  std::string bytes = kSmallTreeBytes;
  bytes.replace(bytes.find(R"("size":5)"), 8, R"("size":6)");
  auto decoded = DecodeTree(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message,
            "tree: entry \"a.txt\" has chunk sizes that do not add up to its size");
  EXPECT_EQ(decoded.error().details.at("entry"), "0");
}

TEST(TreeCodecTest, EncodingRefusesTreesDecodingWouldRefuse) {
  auto refuses = [](const Tree& tree, const char* rule) {
    auto bytes = EncodeTree(tree);
    ASSERT_FALSE(bytes.ok()) << rule;
    EXPECT_EQ(bytes.error().code, SyncCode::kInternal) << rule;
  };
  Tree tree = SmallTree();
  std::swap(tree.entries[0], tree.entries[1]);
  refuses(tree, "unsorted");
  tree = SmallTree();
  tree.entries[1].name = "a.txt";
  refuses(tree, "duplicate");
  tree = SmallTree();
  tree.entries[0].name = "a/b";
  refuses(tree, "slash");
  tree = SmallTree();
  tree.entries[0].entry.vv = VersionVector();
  refuses(tree, "empty vv");
  tree = SmallTree();
  tree.entries[0].entry.vv = Vv({{"node", 1}});
  refuses(tree, "bad node id");
  tree = SmallTree();
  tree.entries[0].entry.vv = Vv({{kNodeA, kMaxVvCounter + 1}});
  refuses(tree, "counter above int64");
  tree = SmallTree();
  tree.entries[0].entry.size = 4;
  refuses(tree, "sizes");
  tree = SmallTree();
  tree.entries[1].subtree.reset();
  refuses(tree, "dir without subtree");
  tree = SmallTree();
  tree.entries[1].entry.mtime_ns = 7;
  refuses(tree, "dir with mtime");
  tree = SmallTree();
  tree.entries[2].entry.symlink_target = "x";
  refuses(tree, "tombstone with target");
  tree = SmallTree();
  tree.entries[3].entry.symlink_target = "\xff";
  refuses(tree, "target not UTF-8");
}

TEST(TreeCodecTest, ATreeAboveTheSizeLimitIsRefusedAsInput) {
  Tree tree;
  TreeEntry& link = tree.entries.emplace_back();
  link.name = "huge";
  link.entry.kind = EntryKind::kSymlink;
  link.entry.symlink_target = std::string(kMaxTreeBytes, 'x');
  link.entry.vv = Vv({{kNodeA, 1}});
  auto bytes = EncodeTree(tree);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(bytes.error().category, Category::kInvalidInput);
  // And no decoder reads more than the limit.
  auto decoded = DecodeTree(std::string(kMaxTreeBytes + 1, ' '));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().category, Category::kCorrupt);
}

}  // namespace
}  // namespace hx
