#include "crypto/aead.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rapidcheck/gtest.h>

#include "base/hex.h"
#include "crypto/aead_backends.h"
#include "hash/blake3.h"

namespace hx {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr AeadBackend kBackends[] = {AeadBackend::kLibsodium, AeadBackend::kOpenSsl};

Bytes Hex(std::string_view hex) { return FromHex(hex).value(); }

Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

SecretKey KeyFromHex(std::string_view hex) {
  const Bytes bytes = Hex(hex);
  return SecretKey(std::span<const std::uint8_t, kSecretKeySize>(bytes.data(), kSecretKeySize));
}

AeadNonce NonceFromHex(std::string_view hex) {
  const Bytes bytes = Hex(hex);
  AeadNonce nonce;
  std::copy(bytes.begin(), bytes.end(), nonce.begin());
  return nonce;
}

SecretKey KeyFromSeed(std::uint8_t seed) {
  SecretKey key;
  for (std::size_t i = 0; i < kSecretKeySize; ++i) {
    key.mutable_bytes()[i] = static_cast<std::uint8_t>(seed + 7 * i);
  }
  return key;
}

Bytes Concat(std::initializer_list<std::span<const std::uint8_t>> parts) {
  Bytes out;
  for (auto part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

nlohmann::json LoadVectors() {
  std::ifstream in(std::string(HX_SHARED_DIR) + "/vectors/sodium_vectors.json");
  EXPECT_TRUE(in.good()) << "cannot open sodium_vectors.json under " << HX_SHARED_DIR;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

void ExpectOpenFailed(const Result<Bytes>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(result.error().category, Category::kCorrupt);
  EXPECT_EQ(result.error().message, kAeadOpenFailedMessage);
}

// --- Official vectors ---------------------------------------------------------

TEST(AeadVectorTest, BothBackendsReproduceTheXChaChaVectors) {
  const nlohmann::json vectors = LoadVectors();
  ASSERT_FALSE(vectors.is_discarded());
  const auto& cases = vectors.at("xchacha20poly1305_ietf");
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& v : cases) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const SecretKey key = KeyFromHex(v.at("key").get<std::string>());
    const AeadNonce nonce = NonceFromHex(v.at("nonce").get<std::string>());
    const Bytes ad = Hex(v.at("ad").get<std::string>());
    const Bytes plaintext = ToBytes(v.at("plaintext_ascii").get<std::string>());
    const Bytes combined =
        v.contains("combined")
            ? Hex(v.at("combined").get<std::string>())
            : Hex(v.at("ciphertext").get<std::string>() + v.at("tag").get<std::string>());
    const Bytes expected = Concat({nonce, combined});
    for (AeadBackend backend : kBackends) {
      SCOPED_TRACE(std::string(ToString(backend)));
      EXPECT_EQ(ToHex(AeadSealWithNonce(key, nonce, ad, plaintext, backend)), ToHex(expected));
      EXPECT_EQ(AeadOpen(key, ad, expected, backend).value(), plaintext);
    }
  }
}

TEST(AeadVectorTest, TheBackendFunctionsThemselvesReproduceTheVector) {
  // The public functions fall back to libsodium if OpenSSL fails; call the
  // OpenSSL path directly so a broken fast path cannot hide behind it.
  ASSERT_TRUE(aead_internal::OpenSslAvailable());
  const SecretKey key = KeyFromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const AeadNonce nonce = NonceFromHex("404142434445464748494a4b4c4d4e4f5051525354555657");
  const Bytes ad = Hex("50515253c0c1c2c3c4c5c6c7");
  const Bytes plaintext = ToBytes(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.");
  Bytes body(plaintext.size() + kAeadTagSize);
  ASSERT_TRUE(aead_internal::OpenSslSeal(key, nonce, ad, plaintext, body));
  EXPECT_EQ(ToHex(std::span(body).last(kAeadTagSize)), "c0875924c1c7987947deafd8780acf49");
  Bytes opened(plaintext.size());
  ASSERT_TRUE(aead_internal::OpenSslOpen(key, nonce, ad, body, opened));
  EXPECT_EQ(opened, plaintext);
}

// --- The two backends agree ---------------------------------------------------

Bytes RandomBytesOfSize(std::size_t n) {
  Bytes out(n);
  RandomBytes(out);
  return out;
}

TEST(AeadBackendTest, DefaultIsOpenSslWhenAvailable) {
  EXPECT_TRUE(AeadBackendAvailable(AeadBackend::kLibsodium));
  EXPECT_EQ(DefaultAeadBackend(), AeadBackendAvailable(AeadBackend::kOpenSsl)
                                      ? AeadBackend::kOpenSsl
                                      : AeadBackend::kLibsodium);
  EXPECT_EQ(ToString(AeadBackend::kLibsodium), "libsodium");
  EXPECT_EQ(ToString(AeadBackend::kOpenSsl), "openssl");
}

TEST(AeadBackendTest, BackendsAgreeAtBlockAndSizeEdges) {
  const SecretKey key = SecretKey::Random();
  for (std::size_t n : {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 4096, 65536, 65536 + 17,
                        (1 << 20) + 3}) {
    SCOPED_TRACE(n);
    const Bytes plaintext = RandomBytesOfSize(n);
    const Bytes ad = RandomBytesOfSize(n % 100);
    AeadNonce nonce;
    RandomBytes(nonce);
    Bytes sodium_body(n + kAeadTagSize), openssl_body(n + kAeadTagSize);
    ASSERT_TRUE(aead_internal::SodiumSeal(key, nonce, ad, plaintext, sodium_body));
    ASSERT_TRUE(aead_internal::OpenSslSeal(key, nonce, ad, plaintext, openssl_body));
    EXPECT_EQ(sodium_body, openssl_body);
    Bytes a(n), b(n);
    EXPECT_TRUE(aead_internal::SodiumOpen(key, nonce, ad, openssl_body, a));
    EXPECT_TRUE(aead_internal::OpenSslOpen(key, nonce, ad, sodium_body, b));
    EXPECT_EQ(a, plaintext);
    EXPECT_EQ(b, plaintext);
  }
}

RC_GTEST_PROP(AeadBackendProperty, BackendsGiveIdenticalBytesAndOpenEachOther,
              (const std::vector<std::uint8_t>& plaintext, const std::vector<std::uint8_t>& ad,
               bool large)) {
  const SecretKey key = SecretKey::Random();
  AeadNonce nonce;
  RandomBytes(nonce);
  // Sometimes stretch the message past 64 KiB (OpenSSL processes large
  // inputs in different code paths than small ones).
  Bytes message = plaintext;
  if (large) {
    const std::size_t extra = *rc::gen::inRange<std::size_t>(65536, 200000);
    const Bytes more = RandomBytesOfSize(extra);
    message.insert(message.end(), more.begin(), more.end());
  }
  const Bytes by_sodium = AeadSealWithNonce(key, nonce, ad, message, AeadBackend::kLibsodium);
  Bytes body(message.size() + kAeadTagSize);
  RC_ASSERT(aead_internal::OpenSslSeal(key, nonce, ad, message, body));
  RC_ASSERT(Concat({nonce, body}) == by_sodium);
  Bytes opened(message.size());
  RC_ASSERT(aead_internal::OpenSslOpen(key, nonce, ad, std::span(by_sodium).subspan(kAeadNonceSize),
                                       opened));
  RC_ASSERT(opened == message);
  RC_ASSERT(AeadOpen(key, ad, by_sodium, AeadBackend::kLibsodium).value() == message);
}

// --- Opening refuses anything that does not authenticate ----------------------

TEST(AeadOpenTest, EveryFlippedByteIsRejectedByBothBackends) {
  const SecretKey key = KeyFromSeed(1);
  const Bytes ad = EncodeAssociatedData({"vault-1", "chunk", "abc"});
  const Bytes sealed = AeadSealRandom(key, ad, ToBytes("some object bytes"));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    for (AeadBackend backend : kBackends) ExpectOpenFailed(AeadOpen(key, ad, bad, backend));
  }
}

TEST(AeadOpenTest, WrongKeyOrAssociatedDataIsRejected) {
  const SecretKey key = KeyFromSeed(1);
  const Bytes ad = EncodeAssociatedData({"vault-1", "chunk", "abc"});
  const Bytes sealed = AeadSealRandom(key, ad, ToBytes("payload"));
  for (AeadBackend backend : kBackends) {
    EXPECT_TRUE(AeadOpen(key, ad, sealed, backend).ok());
    ExpectOpenFailed(AeadOpen(KeyFromSeed(2), ad, sealed, backend));
    ExpectOpenFailed(AeadOpen(key, EncodeAssociatedData({"vault-2", "chunk", "abc"}), sealed,
                              backend));
    ExpectOpenFailed(AeadOpen(key, EncodeAssociatedData({"vault-1", "tree", "abc"}), sealed,
                              backend));
    ExpectOpenFailed(AeadOpen(key, EncodeAssociatedData({"vault-1", "chunk", "abd"}), sealed,
                              backend));
    ExpectOpenFailed(AeadOpen(key, Bytes{}, sealed, backend));
  }
}

TEST(AeadOpenTest, TruncatedOrExtendedInputIsRejected) {
  const SecretKey key = KeyFromSeed(3);
  const Bytes sealed = AeadSealRandom(key, Bytes{}, ToBytes("payload"));
  for (AeadBackend backend : kBackends) {
    for (std::size_t n = 0; n < sealed.size(); ++n) {
      ExpectOpenFailed(AeadOpen(key, Bytes{}, std::span(sealed).first(n), backend));
    }
    Bytes longer = sealed;
    longer.push_back(0);
    ExpectOpenFailed(AeadOpen(key, Bytes{}, longer, backend));
  }
}

TEST(AeadOpenTest, EmptyPlaintextRoundTripsAndIsStillAuthenticated) {
  const SecretKey key = KeyFromSeed(4);
  const Bytes ad = ToBytes("ad");
  for (AeadBackend backend : kBackends) {
    const Bytes sealed = AeadSealRandom(key, ad, Bytes{}, backend);
    EXPECT_EQ(sealed.size(), kAeadOverhead);
    EXPECT_EQ(AeadOpen(key, ad, sealed, backend).value(), Bytes{});
    ExpectOpenFailed(AeadOpen(key, ToBytes("other"), sealed, backend));
  }
}

TEST(AeadOpenTest, BackendsLeaveNoPlaintextBehindOnFailure) {
  const SecretKey key = KeyFromSeed(5);
  const Bytes plaintext(1000, 0x5a);
  AeadNonce nonce{};
  Bytes body(plaintext.size() + kAeadTagSize);
  ASSERT_TRUE(aead_internal::SodiumSeal(key, nonce, Bytes{}, plaintext, body));
  body.back() ^= 1;  // a bad tag: OpenSSL has decrypted everything by the time it notices
  for (auto open : {aead_internal::SodiumOpen, aead_internal::OpenSslOpen}) {
    Bytes out(plaintext.size(), 0xee);
    EXPECT_FALSE(open(key, nonce, Bytes{}, body, out));
    EXPECT_EQ(out, Bytes(plaintext.size(), 0));
  }
}

// --- Nonces -------------------------------------------------------------------

TEST(SyntheticNonceTest, IsKeyedBlake3OfTheLengthPrefixedAdAndPlaintext) {
  const SecretKey nonce_key = KeyFromSeed(9);
  const Bytes ad = ToBytes("vault/chunk/id");
  const Bytes plaintext = ToBytes("hello");
  // le64(14) || ad || le64(5) || plaintext
  const Bytes encoded = Concat({Hex("0e00000000000000"), ad, Hex("0500000000000000"), plaintext});
  Blake3Key blake_key;
  std::copy(nonce_key.bytes().begin(), nonce_key.bytes().end(), blake_key.begin());
  const Blake3Digest digest = Blake3KeyedHash(blake_key, encoded);
  const AeadNonce nonce = SyntheticNonce(nonce_key, ad, plaintext);
  EXPECT_EQ(ToHex(nonce), ToHex(std::span(digest).first(kAeadNonceSize)));
}

TEST(SyntheticNonceTest, SealIsDeterministicAndSeparatesAdFromPlaintext) {
  const SecretKey key = KeyFromSeed(10);
  const SecretKey nonce_key = KeyFromSeed(11);
  const Bytes a = AeadSealSynthetic(key, nonce_key, ToBytes("ad"), ToBytes("plain"));
  EXPECT_EQ(a, AeadSealSynthetic(key, nonce_key, ToBytes("ad"), ToBytes("plain")));
  for (AeadBackend backend : kBackends) {
    EXPECT_EQ(a, AeadSealSynthetic(key, nonce_key, ToBytes("ad"), ToBytes("plain"), backend));
  }
  EXPECT_EQ(AeadOpen(key, ToBytes("ad"), a).value(), ToBytes("plain"));
  // Moving a byte across the ad/plaintext boundary changes the nonce.
  EXPECT_NE(SyntheticNonce(nonce_key, ToBytes("adp"), ToBytes("lain")),
            SyntheticNonce(nonce_key, ToBytes("ad"), ToBytes("plain")));
  EXPECT_NE(SyntheticNonce(nonce_key, ToBytes("ad"), ToBytes("plain")),
            SyntheticNonce(KeyFromSeed(12), ToBytes("ad"), ToBytes("plain")));
  EXPECT_NE(SyntheticNonce(nonce_key, ToBytes("ad"), ToBytes("plain")),
            SyntheticNonce(nonce_key, ToBytes("ad"), ToBytes("plaim")));
}

TEST(AeadSealTest, RandomNoncesDifferEveryTime) {
  const SecretKey key = KeyFromSeed(13);
  const Bytes a = AeadSealRandom(key, Bytes{}, ToBytes("same"));
  const Bytes b = AeadSealRandom(key, Bytes{}, ToBytes("same"));
  EXPECT_NE(Bytes(a.begin(), a.begin() + kAeadNonceSize), Bytes(b.begin(), b.begin() + kAeadNonceSize));
  EXPECT_EQ(AeadOpen(key, Bytes{}, a).value(), AeadOpen(key, Bytes{}, b).value());
}

TEST(AeadSealTest, LayoutIsNonceThenCiphertextThenTag) {
  const SecretKey key = KeyFromSeed(14);
  const AeadNonce nonce = NonceFromHex("000102030405060708090a0b0c0d0e0f1011121314151617");
  const Bytes plaintext = ToBytes("0123456789");
  const Bytes sealed = AeadSealWithNonce(key, nonce, Bytes{}, plaintext);
  ASSERT_EQ(sealed.size(), kAeadNonceSize + plaintext.size() + kAeadTagSize);
  EXPECT_EQ(Bytes(sealed.begin(), sealed.begin() + kAeadNonceSize), Bytes(nonce.begin(), nonce.end()));
  // Stream cipher: flipping a plaintext bit flips the same ciphertext bit.
  Bytes flipped = plaintext;
  flipped[3] ^= 0x10;
  const Bytes sealed2 = AeadSealWithNonce(key, nonce, Bytes{}, flipped);
  EXPECT_EQ(sealed[kAeadNonceSize + 3] ^ sealed2[kAeadNonceSize + 3], 0x10);
}

// --- Associated data ----------------------------------------------------------

TEST(EncodeAssociatedDataTest, LengthPrefixesEachField) {
  EXPECT_EQ(ToHex(EncodeAssociatedData({"ab", "c"})),
            "0200000000000000" "6162" "0100000000000000" "63");
  EXPECT_NE(EncodeAssociatedData({"ab", "c"}), EncodeAssociatedData({"a", "bc"}));
  EXPECT_NE(EncodeAssociatedData({"", "x"}), EncodeAssociatedData({"x", ""}));
  EXPECT_TRUE(EncodeAssociatedData({}).empty());
  EXPECT_EQ(EncodeAssociatedData({""}), Bytes(8, 0));
}

}  // namespace
}  // namespace hx
