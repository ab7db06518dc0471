// The object codec: ids keyed per vault and kind, sealed objects bound to
// their vault, kind and id, compression only when it pays, and every way an
// object can be wrong refused with the right category.
#include "repo/object_codec.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "crypto/aead.h"
#include "repo/repo_test_util.h"

namespace hx {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing::TestContext;
using testing::ToBytes;

// Golden values computed outside hx (Python: b3sum 1.x for BLAKE3 keyed and
// derive_key modes, libsodium 1.0.18 crypto_aead_xchacha20poly1305_ietf
// through ctypes) from the layout in object_codec.h, for master key
// 00 01 .. 1f and vault id 000102030405060708090a0b0c0d0e0f.
constexpr std::string_view kHelloChunkId =
    "50597032362c52788b9bc8d8cd2e82169c33e3468c346a80c3869697ad656b01";
constexpr std::string_view kHelloTreeId =
    "b3e96efdb74781a2ee2b7f91653d93e6c54c202927ee02166807bea95a4861f6";
constexpr std::string_view kHelloChunkSealed =
    "75f39c49a2690239d7d6bde4c2c5be49084df33c113a82fc35a6330182b4d61b00272367e2951ee0d3f24329"
    "0b80";

Bytes Compressible(std::size_t size) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>("hx repo "[i % 8]);
  return bytes;
}

struct Sealed {
  ObjectId id;
  Bytes bytes;
};

Sealed SealChunk(const VaultContext& context, const Bytes& plaintext) {
  Sealed out;
  out.id = ComputeObjectId(context, ObjectKind::kChunk, plaintext);
  auto sealed = SealObject(context, ObjectKind::kChunk, out.id, plaintext);
  EXPECT_TRUE(sealed.ok()) << sealed.error().ToShortString();
  if (sealed.ok()) out.bytes = std::move(*sealed);
  return out;
}

void ExpectRefused(const Result<Bytes>& opened, Category category, const char* why) {
  ASSERT_FALSE(opened.ok()) << why;
  EXPECT_EQ(opened.error().code, SyncCode::kApplyFailed) << why;
  EXPECT_EQ(opened.error().category, category) << why << ": " << opened.error().message;
}

TEST(ObjectIdTest, IdContextsArePinned) {
  EXPECT_EQ(ObjectIdContext(ObjectKind::kChunk), "hx 2026-11 object id chunk v1");
  EXPECT_EQ(ObjectIdContext(ObjectKind::kTree), "hx 2026-11 object id tree v1");
  EXPECT_EQ(ToString(ObjectKind::kChunk), "chunk");
  EXPECT_EQ(ToString(ObjectKind::kTree), "tree");
}

TEST(ObjectIdTest, IdsAreKeyedPerKindAndPerVault) {
  const VaultContext a = TestContext(0);
  const VaultContext b = TestContext(1);
  const Bytes hello = ToBytes("hello");
  EXPECT_EQ(ToHex(ComputeObjectId(a, ObjectKind::kChunk, hello)), kHelloChunkId);
  EXPECT_EQ(ToHex(ComputeObjectId(a, ObjectKind::kTree, hello)), kHelloTreeId);
  EXPECT_NE(ComputeObjectId(b, ObjectKind::kChunk, hello), ComputeObjectId(a, ObjectKind::kChunk, hello));
  EXPECT_EQ(TreeIdFn(a)("hello"), ComputeObjectId(a, ObjectKind::kTree, hello));
}

TEST(SealObjectTest, GoldenBytesOfARawChunk) {
  const VaultContext context = TestContext(0);
  const Sealed sealed = SealChunk(context, ToBytes("hello"));
  EXPECT_EQ(ToHex(sealed.bytes), kHelloChunkSealed);
  EXPECT_EQ(sealed.bytes.size(), 5 + kSealedObjectOverhead);
  // Deterministic: the same object seals to the same bytes.
  EXPECT_EQ(SealChunk(context, ToBytes("hello")).bytes, sealed.bytes);
}

TEST(SealObjectTest, CompressesOnlyWhenItShrinksThePayload) {
  const VaultContext context = TestContext(0);
  const Bytes text = Compressible(100000);
  const Sealed small = SealChunk(context, text);
  EXPECT_LT(small.bytes.size(), text.size() / 10);
  auto body = AeadOpen(context.keys.content,
                       ObjectAssociatedData(context, ObjectKind::kChunk, small.id), small.bytes);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->front(), kObjectEncodingZstd);

  Bytes noise(100000);
  RandomBytes(noise);
  const Sealed raw = SealChunk(context, noise);
  EXPECT_EQ(raw.bytes.size(), noise.size() + kSealedObjectOverhead);
  body = AeadOpen(context.keys.content, ObjectAssociatedData(context, ObjectKind::kChunk, raw.id),
                  raw.bytes);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->front(), kObjectEncodingRaw);

  for (const Sealed* s : {&small, &raw}) {
    const Bytes& expected = s == &small ? text : noise;
    auto opened = OpenObject(context, ObjectKind::kChunk, s->id, expected.size(), s->bytes);
    ASSERT_TRUE(opened.ok()) << opened.error().ToShortString();
    EXPECT_EQ(*opened, expected);
  }
}

TEST(SealObjectTest, EmptyObjectsRoundTrip) {
  const VaultContext context = TestContext(0);
  const Sealed sealed = SealChunk(context, {});
  auto opened = OpenObject(context, ObjectKind::kChunk, sealed.id, 0, sealed.bytes);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(SealObjectTest, RefusesOversizedObjectsAndBadLevels) {
  const VaultContext context = TestContext(0);
  const Bytes too_big(kMaxObjectSize + 1);
  auto sealed = SealObject(context, ObjectKind::kChunk, ObjectId{}, too_big);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.error().category, Category::kInvalidInput);
  sealed = SealObject(context, ObjectKind::kChunk, ObjectId{}, ToBytes("x"), 99);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.error().category, Category::kInvalidInput);
}

TEST(OpenObjectTest, AnObjectDoesNotOpenInAnotherVault) {
  const VaultContext a = TestContext(0);
  const Sealed sealed = SealChunk(a, ToBytes("hello"));
  // Other keys.
  ExpectRefused(OpenObject(TestContext(1), ObjectKind::kChunk, sealed.id, 5, sealed.bytes),
                Category::kCorrupt, "other keys");
  // Same keys, other vault id: the associated data differs.
  const VaultContext same_keys = TestContext(0, "ffffffffffffffffffffffffffffffff");
  ExpectRefused(OpenObject(same_keys, ObjectKind::kChunk, sealed.id, 5, sealed.bytes),
                Category::kCorrupt, "other vault id");
}

TEST(OpenObjectTest, AnObjectDoesNotOpenUnderAnotherKindOrId) {
  const VaultContext context = TestContext(0);
  const Sealed sealed = SealChunk(context, ToBytes("hello"));
  ExpectRefused(OpenObject(context, ObjectKind::kTree, sealed.id, 5, sealed.bytes),
                Category::kCorrupt, "other kind");
  ObjectId other = sealed.id;
  other[31] ^= 1;
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, other, 5, sealed.bytes), Category::kCorrupt,
                "other id");
  auto opened = OpenObject(context, ObjectKind::kChunk, other, 5, sealed.bytes);
  EXPECT_EQ(opened.error().details.at("object"), ToHex(other));
  EXPECT_EQ(opened.error().details.at("kind"), "chunk");
}

TEST(OpenObjectTest, ContentThatDoesNotMatchItsIdIsAHashMismatch) {
  const VaultContext context = TestContext(0);
  // A writer that broke SealObject's precondition (sealed "hello" as the id
  // of "world") made an authentic object whose content is not its id.
  const ObjectId world = ComputeObjectId(context, ObjectKind::kChunk, ToBytes("world"));
  auto sealed = SealObject(context, ObjectKind::kChunk, world, ToBytes("hello"));
  ASSERT_TRUE(sealed.ok());
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, world, 5, *sealed), Category::kHashMismatch,
                "id mismatch");
}

TEST(OpenObjectTest, AWrongRawLengthIsRefused) {
  const VaultContext context = TestContext(0);
  const Sealed raw = SealChunk(context, ToBytes("hello"));
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, raw.id, 4, raw.bytes), Category::kCorrupt,
                "raw shorter");
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, raw.id, 6, raw.bytes), Category::kCorrupt,
                "raw longer");
  const Bytes text = Compressible(5000);
  const Sealed zstd = SealChunk(context, text);
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, zstd.id, 4999, zstd.bytes),
                Category::kCorrupt, "zstd beyond the bound");
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, zstd.id, 5001, zstd.bytes),
                Category::kCorrupt, "zstd short of the length");
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, zstd.id, kMaxObjectSize + 1, zstd.bytes),
                Category::kCorrupt, "absurd raw length");
}

// Seals `body` (encoding byte included) as object (chunk, id) the way
// SealObject would, for bodies SealObject never makes.
Bytes SealBody(const VaultContext& context, const ObjectId& id, const Bytes& body) {
  return AeadSealSynthetic(context.keys.content, context.keys.nonce,
                           ObjectAssociatedData(context, ObjectKind::kChunk, id), body);
}

TEST(OpenObjectTest, RefusesBodiesNoWriterMakes) {
  const VaultContext context = TestContext(0);
  const ObjectId id = ComputeObjectId(context, ObjectKind::kChunk, ToBytes("hello"));
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, id, 0, SealBody(context, id, {})),
                Category::kCorrupt, "no encoding byte");
  Bytes unknown = {2, 'h', 'e', 'l', 'l', 'o'};
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, id, 5, SealBody(context, id, unknown)),
                Category::kCorrupt, "unknown encoding");
  Bytes garbage = {kObjectEncodingZstd, 'h', 'e', 'l', 'l', 'o'};
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, id, 5, SealBody(context, id, garbage)),
                Category::kCorrupt, "not a zstd frame");
  // A zstd bomb: 16 MiB of zeros claimed as a 5-byte object.
  auto bomb = ZstdCompress(Bytes(16 << 20, 0));
  ASSERT_TRUE(bomb.ok());
  Bytes body = {kObjectEncodingZstd};
  body.insert(body.end(), bomb->begin(), bomb->end());
  ExpectRefused(OpenObject(context, ObjectKind::kChunk, id, 5, SealBody(context, id, body)),
                Category::kCorrupt, "zstd bomb");
}

RC_GTEST_PROP(OpenObjectProperty, AFlippedByteAnywhereIsRefused, ()) {
  static const VaultContext context = TestContext(0);
  const Bytes plaintext = *rc::gen::oneOf(
      rc::gen::container<Bytes>(rc::gen::arbitrary<std::uint8_t>()),
      rc::gen::map(rc::gen::inRange<std::size_t>(0, 3000), Compressible));
  const Sealed sealed = SealChunk(context, plaintext);
  auto opened = OpenObject(context, ObjectKind::kChunk, sealed.id, plaintext.size(), sealed.bytes);
  RC_ASSERT(opened.ok());
  RC_ASSERT(*opened == plaintext);

  Bytes tampered = sealed.bytes;
  const std::size_t at = *rc::gen::inRange<std::size_t>(0, tampered.size());
  tampered[at] ^= *rc::gen::inRange<int>(1, 256);
  opened = OpenObject(context, ObjectKind::kChunk, sealed.id, plaintext.size(), tampered);
  RC_ASSERT(!opened.ok());
  RC_ASSERT(opened.error().category == Category::kCorrupt);

  const std::size_t keep = *rc::gen::inRange<std::size_t>(0, sealed.bytes.size());
  opened = OpenObject(context, ObjectKind::kChunk, sealed.id, plaintext.size(),
                      std::span(sealed.bytes).first(keep));
  RC_ASSERT(!opened.ok());
  RC_ASSERT(opened.error().category == Category::kCorrupt);
}

TEST(OpenObjectTest, OpensByLocation) {
  const VaultContext context = TestContext(0);
  const Sealed sealed = SealChunk(context, ToBytes("hello"));
  ObjectLocation location;
  location.id = sealed.id;
  location.kind = ObjectKind::kChunk;
  location.raw_length = 5;
  auto opened = OpenObject(context, location, sealed.bytes);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, ToBytes("hello"));
}

}  // namespace
}  // namespace hx
