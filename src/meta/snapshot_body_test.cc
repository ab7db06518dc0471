#include "meta/snapshot_body.h"

#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "meta/meta_test_util.h"
#include "meta/records.h"

namespace hx::meta_internal {
namespace {

const std::string kWhat = "snapshots/x.zip body";

std::string Repeat(std::string_view two, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += two;
  return out;
}

ObjectLocation Location(std::uint8_t id, ObjectKind kind, std::string_view blob_pair,
                        std::uint64_t offset, std::uint64_t length, std::uint64_t raw) {
  ObjectLocation location;
  location.id.fill(id);
  location.kind = kind;
  location.blob_id = Repeat(blob_pair, 32);
  location.offset = offset;
  location.length = length;
  location.raw_length = raw;
  return location;
}

// Two blobs, the second with two objects, and one parent: every part of
// the layout once.
Snapshot Body() {
  Snapshot snapshot;
  snapshot.root.fill(0x20);
  snapshot.parents = {Repeat("ab", 32)};
  snapshot.author = std::string(meta_testing::kNodeA);
  snapshot.created_ms = 1767225600000;
  snapshot.seq = 7;
  snapshot.key_fingerprint = Repeat("cd", 32);
  snapshot.summary = {.added = 3, .modified = 2, .deleted = 1, .files = 10, .bytes = 12345};
  snapshot.added = {Location(3, ObjectKind::kChunk, "a0", 0, 41, 1),
                    Location(1, ObjectKind::kChunk, "b1", 0, 100, 60),
                    Location(2, ObjectKind::kTree, "b1", 100, 50, 30)};
  return snapshot;
}

const std::string kObject1 = "[\"" + Repeat("01", 32) + "\",\"chunk\",0,100,60]";
const std::string kObject2 = "[\"" + Repeat("02", 32) + "\",\"tree\",100,50,30]";

std::string BodyText(std::string_view from = "", std::string_view to = "") {
  std::string body = R"({"author":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","blobs":[{"id":")" +
                     Repeat("a0", 32) + R"(","objects":[[")" + Repeat("03", 32) +
                     R"(","chunk",0,41,1]]},{"id":")" + Repeat("b1", 32) + R"(","objects":[)" +
                     kObject1 + "," + kObject2 + R"(]}],"created_ms":1767225600000,)" +
                     R"("key_fingerprint":")" + Repeat("cd", 32) + R"(","parents":[")" +
                     Repeat("ab", 32) + R"("],"root":")" + Repeat("20", 32) + R"(","seq":7,)" +
                     R"("summary":{"added":3,"bytes":12345,"deleted":1,"files":10,"modified":2}})";
  if (!from.empty()) {
    const std::size_t at = body.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) body.replace(at, from.size(), to);
  }
  return body;
}

void ExpectCorrupt(std::string_view text, std::string_view words) {
  const Result<Snapshot> snapshot = DecodeSnapshotBody(text, kWhat);
  ASSERT_FALSE(snapshot.ok()) << text;
  EXPECT_EQ(snapshot.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(snapshot.error().category, Category::kCorrupt);
  EXPECT_NE(snapshot.error().message.find(words), std::string::npos) << snapshot.error().message;
  EXPECT_EQ(snapshot.error().details.at("record").substr(0, kWhat.size()), kWhat);
}

TEST(SnapshotBodyTest, TheEncoderWritesTheLayoutAndTheDecoderReadsItBack) {
  const Result<std::string> text = EncodeSnapshotBody(Body());
  ASSERT_TRUE(text.ok()) << text.error().ToShortString();
  EXPECT_EQ(*text, BodyText());
  const Result<Snapshot> back = DecodeSnapshotBody(*text, kWhat);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, Body());
}

TEST(SnapshotBodyTest, LimitsThatAreReachedAreAccepted) {
  Snapshot snapshot = Body();
  snapshot.parents.assign(kMaxSnapshotParents, Repeat("ab", 32));
  snapshot.added.clear();
  snapshot.created_ms = std::int64_t{9223372036854775807};
  snapshot.seq = kMaxJsonInt;
  snapshot.summary.bytes = 0;
  const Result<std::string> text = EncodeSnapshotBody(snapshot);
  ASSERT_TRUE(text.ok());
  const Result<Snapshot> back = DecodeSnapshotBody(*text, kWhat);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, snapshot);
}

// Ways a text can differ from what the encoder writes, beyond those
// snapshot_test.cc's MalformedBodiesAreRefusedNamingTheProblem reads through
// a zip: each is refused, as KC_SYNC_STATE_FAILED/corrupt, naming the
// problem.
TEST(SnapshotBodyTest, TextsTheEncoderDoesNotWriteAreRefusedNamingTheProblem) {
  const std::string blob_b1 = "{\"id\":\"" + Repeat("b1", 32) + "\",\"objects\":[";
  const struct {
    std::string from, to, words;
  } cases[] = {
      // Not the canonical spelling of the same value.
      {"{\"author\"", "{ \"author\"", "not canonical JSON (whitespace)"},
      {"\"seq\":7", "\"seq\": 7", "not canonical JSON (whitespace)"},
      {"\"modified\":2}}", "\"modified\":2}}\n", "not canonical JSON (whitespace)"},
      {"{\"author\"", "\xEF\xBB\xBF{\"author\"", "not canonical JSON"},
      {"\"seq\":7,", "\"seq\":7,\"extra\":1,", "key \"extra\" out of order"},
      {"{\"added\":3,\"bytes\":12345", "{\"bytes\":12345,\"added\":3", "\"added\" is missing"},
      {"\"author\":\"a", "\"author\":\"\\u0061", "\"author\""},
      {"\"author\"", "\"\\u0061uthor\"", "a key hx does not write"},
      {"\"seq\":7", "\"seq\":07", "\"seq\""},
      {"\"seq\":7", "\"seq\":7.0", "\"seq\""},
      {"\"seq\":7", "\"seq\":7e0", "\"seq\""},
      {",0,41,1]", ",-0,41,1]", "offset, length or raw_length"},
      // Not JSON.
      {"\"summary\":{", "\"summary\":{\"added\":0,", "not valid JSON: duplicate key \"added\""},
      {"\"modified\":2}}", "\"modified\":2}}x", "not valid JSON"},
      {"\"modified\":2}}", "\"modified\":2}", "unexpected end of input"},
      {"\"seq\":7", "\"seq\":9223372036854775808", "\"seq\""},
      // Fields.
      {"\"seq\":7", "\"seq\":\"7\"", "\"seq\""},
      {"{\"added\":3", "{\"added\":-3", "summary: field \"added\""},
      {"\"created_ms\":1767225600000", "\"created_ms\":null", "\"created_ms\""},
      {"\"modified\":2}}", "\"modified\":2,\"zz\":1}}", "field \"zz\" is not known"},
      {"\"modified\":2}}", "\"modified\":2},\"zz\":1}", "field \"zz\" is not known"},
      {",\"root\":\"", ",\"rooz\":\"", "field \"rooz\" is not known"},
      {"\"parents\":[\"" + Repeat("ab", 32) + "\"]", "\"parents\":{}", "\"parents\""},
      {"\"blobs\":[{", "\"blobs\":[[{", "blobs[0] is not a JSON object"},
      {"\"objects\":[[\"03", "\"objectz\":[[\"03", "blobs[0]: field \"objectz\" is not known"},
      {"\"objects\":[[\"03", "\"objects\":\"x\"", "blobs[0]: field \"objects\""},
      // The object list.
      {",\"tree\",", ",\"Tree\",", "kind"},
      {",100,50,30]", ",100,50,30,1]", "[id, kind, offset, length, raw_length]"},
      {",100,50,30]", ",100,50,\"30\"]", "offset, length or raw_length"},
      {"[\"" + Repeat("02", 32), "[\"" + Repeat("02", 31) + "0G", "object id"},
      {",100,50,30]", ",9223372036854775807,50,30]", "beyond 2^63-1"},
      {Repeat("02", 32), Repeat("03", 32), "listed twice"},
      {kObject1 + "," + kObject2, "", "lists no objects"},
      // The same blob twice: its objects split in two. The decoder that
      // built a document accepted it, as another text of the same snapshot
      // (which broke the fuzz target's rule: one snapshot, one text).
      {kObject1 + "," + kObject2, kObject1 + "]}," + blob_b1 + kObject2, "sorted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.to);
    ExpectCorrupt(BodyText(c.from, c.to), c.words);
  }
  std::string parents = "\"parents\":[";
  for (std::size_t i = 0; i <= kMaxSnapshotParents; ++i) {
    parents += (i == 0 ? "\"" : ",\"") + Repeat("ab", 32) + "\"";
  }
  ExpectCorrupt(BodyText("\"parents\":[", parents + ","), "more than 64 items");
  ExpectCorrupt("", "unexpected end of input");
}

TEST(SnapshotBodyTest, EveryTruncationIsRefused) {
  const std::string body = BodyText();
  for (std::size_t n = 0; n < body.size(); ++n) {
    SCOPED_TRACE(n);
    const Result<Snapshot> snapshot = DecodeSnapshotBody(body.substr(0, n), kWhat);
    ASSERT_FALSE(snapshot.ok());
    EXPECT_EQ(snapshot.error().category, Category::kCorrupt);
  }
}

// A changed byte gives either damage or another snapshot, whose text is
// exactly the changed one (a hex digit of an id, a digit of a number).
TEST(SnapshotBodyTest, EveryChangedByteIsRefusedOrIsTheTextOfAnotherSnapshot) {
  const std::string body = BodyText();
  for (std::size_t i = 0; i < body.size(); ++i) {
    for (const char replacement : {'0', '9', 'a', 'g', ' ', '"', ',', '\\', '}', ']', '\0'}) {
      if (body[i] == replacement) continue;
      std::string changed = body;
      changed[i] = replacement;
      const Result<Snapshot> snapshot = DecodeSnapshotBody(changed, kWhat);
      if (snapshot.ok()) {
        const Result<std::string> again = EncodeSnapshotBody(*snapshot);
        ASSERT_TRUE(again.ok()) << i;
        EXPECT_EQ(*again, changed) << i;
      } else {
        EXPECT_EQ(snapshot.error().code, SyncCode::kStateFailed) << i;
        EXPECT_EQ(snapshot.error().category, Category::kCorrupt) << i;
      }
    }
  }
}

TEST(SnapshotBodyTest, TheEncoderRefusesObjectsItWouldNotRead) {
  std::vector<Snapshot> bad(4, Body());
  bad[0].added[2].offset = 99;              // overlaps
  bad[1].added.push_back(bad[1].added[0]);  // listed twice
  bad[2].added[0].blob_id = "nothex";
  bad[3].added[0].length = 0;
  for (const Snapshot& snapshot : bad) {
    const Result<std::string> text = EncodeSnapshotBody(snapshot);
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().code, SyncCode::kInternal);
  }
}

}  // namespace
}  // namespace hx::meta_internal
