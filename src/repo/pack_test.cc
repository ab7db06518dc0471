// Packs: what PackWriter writes ReadPackIndex reads back, every location
// opens, and a truncated, garbled, foreign or inconsistent pack is refused
// cleanly.
#include "repo/pack.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "base/hex.h"
#include "crypto/aead.h"
#include "repo/object_codec.h"
#include "repo/repo_test_util.h"

namespace hx {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing::TestContext;
using testing::ToBytes;

// Computed outside hx (see object_codec_test.cc): the pack holding only the
// chunk "hello", master key 00 01 .. 1f, vault id 000102..0e0f.
constexpr std::string_view kHelloPack =
    "75f39c49a2690239d7d6bde4c2c5be49084df33c113a82fc35a6330182b4d61b00272367e2951ee0d3f24329"
    "0b808bebc223035b59896a5de5fd0b68822907984b59a96170220a0a525c3109eb30fbafbf5a1bbdcb6b6cd3"
    "8768c3c040197ed692e0799b8f63a9afff516cde8caa91601312574331cdcf52620687b89572e95b959d26ec"
    "fbf434f4502fb92ffbeb250333dd92b020ac706900000048585031";
constexpr std::string_view kHelloPackId =
    "402eb616958af6b8f39f5ce0c1fe4f47e8c07eb566df63b0001c217e3b4e6a47";

ObjectId IdOf(const VaultContext& context, ObjectKind kind, const Bytes& plaintext) {
  return ComputeObjectId(context, kind, plaintext);
}

void AddOrFail(PackWriter& writer, const VaultContext& context, ObjectKind kind,
               const Bytes& plaintext) {
  auto added = writer.Add(kind, IdOf(context, kind, plaintext), plaintext);
  ASSERT_TRUE(added.ok()) << added.error().ToShortString();
}

// A pack of three objects of both kinds.
FinishedPack ThreeObjectPack(const VaultContext& context) {
  PackWriter writer(context);
  AddOrFail(writer, context, ObjectKind::kChunk, ToBytes("first chunk"));
  AddOrFail(writer, context, ObjectKind::kTree, ToBytes(R"({"entries":[],"format_version":1})"));
  AddOrFail(writer, context, ObjectKind::kChunk, Bytes(10000, 'z'));
  return writer.Finish();
}

void ExpectCorrupt(const Result<std::vector<ObjectLocation>>& index, const std::string& why) {
  ASSERT_FALSE(index.ok()) << why;
  EXPECT_EQ(index.error().code, SyncCode::kStateFailed) << why;
  EXPECT_EQ(index.error().category, Category::kCorrupt) << why << ": " << index.error().message;
}

TEST(PackTest, GoldenBytesOfAOneObjectPack) {
  const VaultContext context = TestContext(0);
  PackWriter writer(context);
  AddOrFail(writer, context, ObjectKind::kChunk, ToBytes("hello"));
  const FinishedPack pack = writer.Finish();
  EXPECT_EQ(ToHex(pack.bytes), kHelloPack);
  EXPECT_EQ(pack.blob_size, pack.bytes.size());
  EXPECT_EQ(pack.blob_id, kHelloPackId);
  EXPECT_EQ(BlobKey(pack.blob_id), "blobs/40/2e/" + std::string(kHelloPackId));
}

TEST(PackTest, TheIndexReadsBackAndEveryLocationOpens) {
  const VaultContext context = TestContext(0);
  const FinishedPack pack = ThreeObjectPack(context);
  ASSERT_EQ(pack.locations.size(), 3u);
  EXPECT_TRUE(VerifyBlobId(pack.bytes, pack.blob_id).ok());

  auto index = ReadPackIndex(context, pack.blob_id, pack.bytes);
  ASSERT_TRUE(index.ok()) << index.error().ToShortString();
  EXPECT_EQ(*index, pack.locations);
  const std::vector<Bytes> expected = {ToBytes("first chunk"),
                                       ToBytes(R"({"entries":[],"format_version":1})"),
                                       Bytes(10000, 'z')};
  for (std::size_t i = 0; i < index->size(); ++i) {
    const ObjectLocation& location = (*index)[i];
    EXPECT_EQ(location.blob_id, pack.blob_id);
    const auto sealed = std::span(pack.bytes).subspan(location.offset, location.length);
    auto opened = OpenObject(context, location, sealed);
    ASSERT_TRUE(opened.ok()) << opened.error().ToShortString();
    EXPECT_EQ(*opened, expected[i]);
  }
  EXPECT_EQ((*index)[1].kind, ObjectKind::kTree);
  EXPECT_LT((*index)[2].length, 1000u);  // compressed
}

TEST(PackTest, TheTailAloneGivesTheIndex) {
  const VaultContext context = TestContext(0);
  const FinishedPack pack = ThreeObjectPack(context);
  const std::span<const std::uint8_t> blob = pack.bytes;
  auto length = ParsePackTrailer(blob.last(kPackTrailerSize), blob.size());
  ASSERT_TRUE(length.ok());
  const std::uint64_t objects_end = blob.size() - kPackTrailerSize - *length;
  auto index = OpenPackIndex(context, pack.blob_id, objects_end,
                             blob.subspan(objects_end, static_cast<std::size_t>(*length)));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(*index, pack.locations);
}

TEST(PackWriterTest, AnIdAppearsOncePerPack) {
  const VaultContext context = TestContext(0);
  PackWriter writer(context);
  const Bytes data = ToBytes("same");
  const ObjectId id = IdOf(context, ObjectKind::kChunk, data);
  EXPECT_TRUE(*writer.Add(ObjectKind::kChunk, id, data));
  const std::uint64_t size = writer.size();
  EXPECT_FALSE(*writer.Add(ObjectKind::kChunk, id, data));
  EXPECT_EQ(writer.size(), size);
  EXPECT_EQ(writer.object_count(), 1u);
  // Finish starts a new pack: the id may appear in the next one.
  const FinishedPack first = writer.Finish();
  EXPECT_TRUE(writer.empty());
  EXPECT_EQ(writer.size(), 0u);
  EXPECT_TRUE(*writer.Add(ObjectKind::kChunk, id, data));
  const FinishedPack second = writer.Finish();
  EXPECT_EQ(first.bytes, second.bytes);
}

// The writer's id table (open addressing, grown as the pack fills): ids
// that differ only in their last bytes, thousands of them, each refused when
// repeated and listed once, in order, by the index.
TEST(PackWriterTest, AnIdAppearsOncePerPackAmongThousandsThatShareAllButTheirLastBytes) {
  const VaultContext context = TestContext(0);
  PackWriter writer(context);
  const Bytes sealed(kSealedObjectOverhead, 0x5a);
  constexpr int kCount = 3000;
  auto id_of = [](int i) {
    ObjectId id{};
    id[30] = static_cast<std::uint8_t>(i >> 8);
    id[31] = static_cast<std::uint8_t>(i);
    return id;
  };
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(writer.AddSealed(ObjectKind::kChunk, id_of(i), sealed, 1)) << i;
  }
  for (int i = kCount - 1; i >= 0; --i) {
    ASSERT_FALSE(writer.AddSealed(ObjectKind::kChunk, id_of(i), sealed, 1)) << i;
  }
  EXPECT_EQ(writer.object_count(), static_cast<std::size_t>(kCount));
  const FinishedPack pack = writer.Finish();
  ASSERT_EQ(pack.locations.size(), static_cast<std::size_t>(kCount));
  Result<std::vector<ObjectLocation>> index = ReadPackIndex(context, pack.blob_id, pack.bytes);
  ASSERT_TRUE(index.ok()) << index.error().ToShortString();
  EXPECT_EQ(*index, pack.locations);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(pack.locations[i].id, id_of(i));
    EXPECT_EQ(pack.locations[i].offset, static_cast<std::uint64_t>(i) * sealed.size());
    EXPECT_EQ(pack.locations[i].blob_id, pack.blob_id);
  }
  // The next pack starts with an empty table.
  EXPECT_TRUE(writer.AddSealed(ObjectKind::kChunk, id_of(0), sealed, 1));
}

TEST(PackWriterTest, PacksStayBelowTheTargetUnlessOneObjectIsBigger) {
  const VaultContext context = TestContext(0);
  PackOptions options;
  options.target_size = 2000;
  PackWriter writer(context, options);
  EXPECT_TRUE(writer.HasRoomFor(5000));  // empty: anything goes
  Bytes noise(400);
  RandomBytes(noise);
  AddOrFail(writer, context, ObjectKind::kChunk, noise);  // sealed: 441 bytes
  // The blob counts the objects, one index record each, the sealed index's
  // header and AEAD overhead, and the trailer.
  EXPECT_EQ(writer.BlobSizeWith(441), 441 + 441 + 8 + 2 * 57 + 40 + 8);
  EXPECT_TRUE(writer.HasRoomFor(400));    // 1052 < 2000
  EXPECT_TRUE(writer.HasRoomFor(1000));   // 1652 < 2000
  EXPECT_FALSE(writer.HasRoomFor(1400));  // 2052
  // A compressible object is judged by what it seals to.
  const Bytes zeros(1400, 0);
  auto sealed = SealObject(context, ObjectKind::kChunk, IdOf(context, ObjectKind::kChunk, zeros),
                           zeros, kZstdDefaultLevel);
  ASSERT_TRUE(sealed.ok());
  EXPECT_LT(sealed->size(), 100u);
  EXPECT_TRUE(writer.HasRoomForSealed(sealed->size()));
  EXPECT_TRUE(writer.AddSealed(ObjectKind::kChunk, IdOf(context, ObjectKind::kChunk, zeros),
                               *sealed, zeros.size()));
  const std::uint64_t expected = writer.BlobSizeWith(0) - 57;  // no next object
  const FinishedPack pack = writer.Finish();
  EXPECT_EQ(pack.bytes.size(), expected);
  EXPECT_LT(pack.bytes.size(), options.target_size);
}

TEST(PackWriterTest, AFinishedPackIsAsBigAsCountedAndBelowTheTarget) {
  // Objects of random sizes (some compressible) go in while there is room:
  // every pack of more than one object ends below the target, and the next
  // object would not have fitted.
  const VaultContext context = TestContext(0);
  PackOptions options;
  options.target_size = 64 * 1024;
  PackWriter writer(context, options);
  std::uint64_t rng = 7;
  auto next = [&rng] {  // the high bits of an LCG (its low bits have short periods)
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 33;
  };
  int packs = 0;
  for (int i = 0; i < 400; ++i) {
    Bytes plain(next() % 9000 + 2);
    if (next() % 2 == 0) RandomBytes(plain);  // else zeros: compressible
    plain[0] = static_cast<std::uint8_t>(i);  // distinct ids
    plain[1] = static_cast<std::uint8_t>(i >> 8);
    const ObjectId id = IdOf(context, ObjectKind::kChunk, plain);
    auto sealed = SealObject(context, ObjectKind::kChunk, id, plain, kZstdDefaultLevel);
    ASSERT_TRUE(sealed.ok());
    if (!writer.HasRoomForSealed(sealed->size())) {
      const std::uint64_t would_be = writer.BlobSizeWith(sealed->size());
      const std::size_t objects = writer.object_count();
      const FinishedPack pack = writer.Finish();
      ++packs;
      if (objects > 1) {
        EXPECT_LT(pack.bytes.size(), options.target_size);
      }
      EXPECT_GE(would_be, options.target_size);
      EXPECT_TRUE(ReadPackIndex(context, pack.blob_id, pack.bytes).ok());
    }
    EXPECT_TRUE(writer.AddSealed(ObjectKind::kChunk, id, *sealed, plain.size()));
  }
  EXPECT_GT(packs, 5);
}

// A buffer handed back for reuse (a finished pack's bytes, still holding
// them) changes nothing in the next pack: the same bytes and id as a fresh
// writer's, and the old contents are gone; a writer that is not empty
// ignores it.
TEST(PackWriterTest, AReusedBufferGivesTheSamePackAsAFreshOne) {
  const VaultContext context = TestContext(0);
  const FinishedPack fresh = ThreeObjectPack(context);
  PackWriter writer(context);
  AddOrFail(writer, context, ObjectKind::kChunk, Bytes(70000, 'q'));
  FinishedPack first = writer.Finish();
  const std::size_t capacity = first.bytes.capacity();
  writer.Reuse(std::move(first.bytes));
  AddOrFail(writer, context, ObjectKind::kChunk, ToBytes("first chunk"));
  writer.Reuse(Bytes(5, 'x'));  // not empty: ignored
  AddOrFail(writer, context, ObjectKind::kTree, ToBytes(R"({"entries":[],"format_version":1})"));
  AddOrFail(writer, context, ObjectKind::kChunk, Bytes(10000, 'z'));
  const FinishedPack reused = writer.Finish();
  EXPECT_EQ(reused.bytes, fresh.bytes);
  EXPECT_EQ(reused.blob_id, fresh.blob_id);
  EXPECT_GE(reused.bytes.capacity(), capacity);  // filled in place, not reallocated
}

// A pack drained as it fills (to a store that streams writes) is the same
// blob: the drained pieces and Finish's rest are the bytes of a pack held
// whole, under the same id and locations, pack after pack; a drain with
// nothing new hands nothing over, and a sink's failure is returned.
TEST(PackWriterTest, APackDrainedAsItFillsIsTheSameBlobAsOneHeldWhole) {
  const VaultContext context = TestContext(0);
  const FinishedPack whole = ThreeObjectPack(context);
  PackWriter writer(context, {}, PackWriter::Buffering::kDrained);
  Bytes streamed;
  int pieces = 0;
  const auto sink = [&](std::span<const std::uint8_t> bytes) {
    streamed.insert(streamed.end(), bytes.begin(), bytes.end());
    ++pieces;
    return OkStatus();
  };
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    streamed.clear();
    pieces = 0;
    AddOrFail(writer, context, ObjectKind::kChunk, ToBytes("first chunk"));
    ASSERT_TRUE(writer.Drain(sink).ok());
    ASSERT_TRUE(writer.Drain(sink).ok());
    EXPECT_EQ(writer.undrained(), 0u);
    AddOrFail(writer, context, ObjectKind::kTree, ToBytes(R"({"entries":[],"format_version":1})"));
    AddOrFail(writer, context, ObjectKind::kChunk, Bytes(10000, 'z'));
    EXPECT_EQ(writer.size(), streamed.size() + writer.undrained());
    ASSERT_TRUE(writer.Drain(sink).ok());
    EXPECT_EQ(pieces, 2);
    const FinishedPack pack = writer.Finish();
    EXPECT_EQ(pack.blob_size, whole.bytes.size());
    streamed.insert(streamed.end(), pack.bytes.begin(), pack.bytes.end());
    EXPECT_EQ(streamed, whole.bytes);
    EXPECT_EQ(pack.blob_id, whole.blob_id);
    EXPECT_EQ(pack.locations, whole.locations);
  }
  AddOrFail(writer, context, ObjectKind::kChunk, ToBytes("first chunk"));
  const Status failed = writer.Drain([](std::span<const std::uint8_t>) -> Status {
    return Error(SyncCode::kStateFailed, Category::kNoSpace, "disk full");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().category, Category::kNoSpace);
}

TEST(PackWriterTest, AnEmptyWriterGivesAValidEmptyPack) {
  const VaultContext context = TestContext(0);
  PackWriter writer(context);
  const FinishedPack pack = writer.Finish();
  auto index = ReadPackIndex(context, pack.blob_id, pack.bytes);
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE(index->empty());
}

TEST(BlobIdTest, VerifiesContentAgainstTheName) {
  EXPECT_TRUE(IsValidBlobId(kHelloPackId));
  EXPECT_FALSE(IsValidBlobId(std::string(kHelloPackId).substr(1)));
  EXPECT_FALSE(IsValidBlobId(std::string(63, 'a') + "G"));
  Bytes bytes = *FromHex(kHelloPack);
  EXPECT_TRUE(VerifyBlobId(bytes, kHelloPackId).ok());
  bytes[0] ^= 1;
  Status verified = VerifyBlobId(bytes, kHelloPackId);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().category, Category::kHashMismatch);
  EXPECT_EQ(verified.error().details.at("blob"), kHelloPackId);
}

TEST(ReadPackIndexTest, EveryTruncationIsRefusedCleanly) {
  const VaultContext context = TestContext(0);
  const FinishedPack pack = ThreeObjectPack(context);
  for (std::size_t keep = 0; keep < pack.bytes.size(); ++keep) {
    ExpectCorrupt(ReadPackIndex(context, pack.blob_id, std::span(pack.bytes).first(keep)),
                  "kept " + std::to_string(keep));
  }
  // Cutting from the front keeps the trailer, but the index no longer tiles.
  ExpectCorrupt(ReadPackIndex(context, pack.blob_id, std::span(pack.bytes).subspan(1)), "front");
}

TEST(ReadPackIndexTest, GarbledTrailersAreRefused) {
  const VaultContext context = TestContext(0);
  const FinishedPack pack = ThreeObjectPack(context);
  auto with = [&](std::size_t from_end, std::uint8_t value) {
    Bytes bytes = pack.bytes;
    bytes[bytes.size() - from_end] = value;
    return bytes;
  };
  ExpectCorrupt(ReadPackIndex(context, pack.blob_id, with(1, '2')), "magic");
  ExpectCorrupt(ReadPackIndex(context, pack.blob_id, with(5, 0xff)), "index length huge");
  ExpectCorrupt(ReadPackIndex(context, pack.blob_id, with(8, 0)), "index length off");
  ExpectCorrupt(ReadPackIndex(context, pack.blob_id, Bytes(8, 0)), "zeros");
  ExpectCorrupt(ReadPackIndex(context, pack.blob_id, Bytes{0x10, 0, 0, 0, 'H', 'X', 'P', '1'}), "too short");
  auto error = ReadPackIndex(context, pack.blob_id, with(1, '2'));
  EXPECT_EQ(error.error().details.at("blob"), pack.blob_id);
}

TEST(ReadPackIndexTest, AnIndexFromAnotherVaultIsRefused) {
  const FinishedPack foreign = ThreeObjectPack(TestContext(1));
  ExpectCorrupt(ReadPackIndex(TestContext(0), foreign.blob_id, foreign.bytes), "other keys");
  const FinishedPack renamed = ThreeObjectPack(TestContext(0, "ffffffffffffffffffffffffffffffff"));
  ExpectCorrupt(ReadPackIndex(TestContext(0), renamed.blob_id, renamed.bytes), "other vault id");
}

TEST(ReadPackIndexTest, AnIndexSplicedOntoOtherObjectsIsRefused) {
  const VaultContext context = TestContext(0);
  const FinishedPack three = ThreeObjectPack(context);
  PackWriter writer(context);
  AddOrFail(writer, context, ObjectKind::kChunk, ToBytes("hello"));
  const FinishedPack one = writer.Finish();
  // The objects of `three` followed by the index and trailer of `one`.
  const std::size_t one_tail = one.bytes.size() - static_cast<std::size_t>(one.locations[0].length);
  Bytes spliced(three.bytes.begin(),
                three.bytes.begin() + static_cast<std::ptrdiff_t>(three.locations.back().offset +
                                                                  three.locations.back().length));
  spliced.insert(spliced.end(), one.bytes.end() - static_cast<std::ptrdiff_t>(one_tail),
                 one.bytes.end());
  ExpectCorrupt(ReadPackIndex(context, "", spliced), "spliced");
}

// A blob with `objects` bytes and the sealed `index` plaintext, for indexes
// no writer makes.
Bytes BlobWithIndex(const VaultContext& context, const Bytes& objects, const Bytes& index) {
  const Bytes sealed =
      AeadSealSynthetic(context.keys.content, context.keys.nonce,
                        EncodeAssociatedData({"hx pack index v1", context.vault_id}), index);
  Bytes blob = objects;
  blob.insert(blob.end(), sealed.begin(), sealed.end());
  for (int i = 0; i < 4; ++i) blob.push_back(static_cast<std::uint8_t>(sealed.size() >> (8 * i)));
  blob.insert(blob.end(), kPackMagic.begin(), kPackMagic.end());
  return blob;
}

struct Record {
  std::uint8_t kind = 1;
  std::uint8_t id_byte = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 100;
  std::uint64_t raw_length = 10;
};

Bytes IndexOf(const std::vector<Record>& records, std::int64_t count_delta = 0) {
  Bytes index(kPackIndexMagic.begin(), kPackIndexMagic.end());
  const std::uint32_t count = static_cast<std::uint32_t>(static_cast<std::int64_t>(records.size()) + count_delta);
  for (int i = 0; i < 4; ++i) index.push_back(static_cast<std::uint8_t>(count >> (8 * i)));
  for (const Record& r : records) {
    index.push_back(r.kind);
    index.insert(index.end(), 32, r.id_byte);
    for (std::uint64_t v : {r.offset, r.length, r.raw_length}) {
      for (int i = 0; i < 8; ++i) index.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  return index;
}

TEST(ReadPackIndexTest, InconsistentIndexesAreRefused) {
  const VaultContext context = TestContext(0);
  const Bytes objects(200, 0);
  auto read = [&](const Bytes& index) {
    return ReadPackIndex(context, "b", BlobWithIndex(context, objects, index));
  };
  const Record first{1, 1, 0, 100, 10};
  const Record second{2, 2, 100, 100, 10};
  ASSERT_TRUE(read(IndexOf({first, second})).ok());  // the baseline is valid

  ExpectCorrupt(read(Bytes{}), "empty index");
  Bytes bad_magic = IndexOf({first, second});
  bad_magic[0] = 'X';
  ExpectCorrupt(read(bad_magic), "index magic");
  ExpectCorrupt(read(IndexOf({first, second}, 1)), "count too high");
  ExpectCorrupt(read(IndexOf({first, second}, -1)), "count too low");
  Bytes extra = IndexOf({first, second});
  extra.push_back(0);
  ExpectCorrupt(read(extra), "trailing byte");
  ExpectCorrupt(read(IndexOf({{3, 1, 0, 100, 10}, second})), "unknown kind");
  ExpectCorrupt(read(IndexOf({{0, 1, 0, 100, 10}, second})), "kind zero");
  ExpectCorrupt(read(IndexOf({first, {2, 1, 100, 100, 10}})), "duplicate id");
  ExpectCorrupt(read(IndexOf({first, {2, 2, 90, 110, 10}})), "overlap");
  ExpectCorrupt(read(IndexOf({first, {2, 2, 110, 90, 10}})), "gap");
  ExpectCorrupt(read(IndexOf({first, {2, 2, 100, 90, 10}})), "short of the index");
  ExpectCorrupt(read(IndexOf({first, {2, 2, 100, 101, 10}})), "past the index");
  ExpectCorrupt(read(IndexOf({second, first})), "out of order");
  ExpectCorrupt(read(IndexOf({{1, 1, 0, 40, 10}, {2, 2, 40, 160, 10}})), "too short to be sealed");
  ExpectCorrupt(read(IndexOf({first, {2, 2, 100, 100, kMaxObjectSize + 1}})), "raw too large");
  ExpectCorrupt(read(IndexOf({first, {2, 2, 100, ~std::uint64_t{0} - 50, 10}})), "overflow");
  ExpectCorrupt(read(IndexOf({})), "no records for the objects");
}

}  // namespace
}  // namespace hx
