#include "hash/sha256.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/hex.h"

namespace hx {
namespace {

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty string.
TEST(Sha256Test, MatchesTheFipsExamples) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, OneMillionAsInFips) {
  Sha256Hasher hasher;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) hasher.Update(thousand);
  EXPECT_EQ(ToHex(hasher.Finalize()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalEqualsOneShotForAnySplit) {
  std::vector<std::uint8_t> input(1000);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<std::uint8_t>(i * 7);
  const Sha256Digest expected = Sha256(input);
  for (std::size_t split : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 999u, 1000u}) {
    Sha256Hasher hasher;
    hasher.Update(std::span(input).first(split));
    hasher.Update(std::span(input).subspan(split));
    EXPECT_EQ(hasher.Finalize(), expected) << split;
  }
}

TEST(Sha256Test, FinalizeLeavesTheHasherUsableAndResetStartsOver) {
  Sha256Hasher hasher;
  hasher.Update("ab");
  EXPECT_EQ(hasher.Finalize(), Sha256("ab"));
  hasher.Update("c");
  EXPECT_EQ(hasher.Finalize(), Sha256("abc"));
  hasher.Reset();
  EXPECT_EQ(hasher.Finalize(), Sha256(""));
}

TEST(Sha256Test, MovedHasherKeepsItsStateAndResetRevivesTheSource) {
  Sha256Hasher source;
  source.Update("ab");
  Sha256Hasher moved = std::move(source);
  moved.Update("c");
  EXPECT_EQ(moved.Finalize(), Sha256("abc"));
  source.Reset();  // NOLINT(bugprone-use-after-move): Reset is allowed after a move.
  source.Update("x");
  EXPECT_EQ(source.Finalize(), Sha256("x"));
}

// RFC 4231 section 4.2 (test case 1) and 4.3 (test case 2).
TEST(HmacSha256Test, MatchesRfc4231) {
  const std::vector<std::uint8_t> key1(20, 0x0b);
  EXPECT_EQ(ToHex(HmacSha256(key1, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(ToHex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231 section 4.7 (test case 6): a 131-byte key, longer than the block.
TEST(HmacSha256Test, HashesKeysLongerThanABlock) {
  const std::vector<std::uint8_t> key(131, 0xaa);
  EXPECT_EQ(ToHex(HmacSha256(key, "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, AcceptsAnEmptyKeyAndMessage) {
  EXPECT_EQ(ToHex(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

}  // namespace
}  // namespace hx
