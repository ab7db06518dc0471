#include "crypto/kdf.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace hx {
namespace {

KdfParams MinParams() {
  KdfParams params;
  params.opslimit = 1;
  params.memlimit = 8192;
  return params;
}

void ExpectBadField(const Status& status, std::string_view field) {
  ASSERT_FALSE(status.ok()) << "expected " << field << " to be refused";
  EXPECT_EQ(status.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(status.error().category, Category::kCorrupt);
  EXPECT_EQ(status.error().details.at("field"), field);
}

TEST(Argon2idVectorTest, DerivesTheVectorsOfSodiumVectorsJson) {
  std::ifstream in(std::string(HX_SHARED_DIR) + "/vectors/sodium_vectors.json");
  ASSERT_TRUE(in.good());
  const auto vectors = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(vectors.is_discarded());
  const auto& argon = vectors.at("crypto_pwhash_argon2id13");
  const std::string passphrase = argon.at("password_ascii").get<std::string>();
  int checked = 0;
  for (const auto& c : argon.at("cases")) {
    const std::string name = c.at("params").get<std::string>();
    // MODERATE needs 256 MiB and ~0.7 s; run it only when asked.
    if (name == "MODERATE" && std::getenv("HX_SLOW_TESTS") == nullptr) continue;
    SCOPED_TRACE(name);
    auto params = ParseKdfParams(kKdfArgon2id13, c.at("opslimit").get<std::uint64_t>(),
                                 c.at("memlimit").get<std::uint64_t>(),
                                 argon.at("salt_hex").get<std::string>());
    ASSERT_TRUE(params.ok()) << params.error().ToShortString();
    auto key = DeriveKeyFromPassphrase(passphrase, *params);
    ASSERT_TRUE(key.ok()) << key.error().ToShortString();
    EXPECT_EQ(ToHex(key->bytes()), c.at("out").get<std::string>());
    ++checked;
  }
  EXPECT_GE(checked, 2) << "MIN and INTERACTIVE must always run";
}

TEST(KdfParamsTest, NewParamsAreTheValidDefaultsWithAFreshSalt) {
  const KdfParams a = NewKdfParams();
  const KdfParams b = NewKdfParams();
  EXPECT_EQ(a.algorithm, "argon2id13");
  EXPECT_EQ(a.opslimit, kDefaultOpslimit);
  EXPECT_EQ(a.memlimit, kDefaultMemlimit);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_TRUE(ValidateKdfParams(a).ok());
}

TEST(KdfParamsTest, AcceptsTheLimitsThemselves) {
  KdfParams params = MinParams();
  EXPECT_TRUE(ValidateKdfParams(params).ok());
  params.opslimit = kMaxOpslimit;
  params.memlimit = kMaxKdfWork / kMaxOpslimit;
  EXPECT_TRUE(ValidateKdfParams(params).ok());
  params.opslimit = 4;
  params.memlimit = kMaxMemlimit;
  EXPECT_TRUE(ValidateKdfParams(params).ok());
}

TEST(KdfParamsTest, RefusesUnknownAlgorithms) {
  for (const char* name : {"", "argon2i13", "Argon2id13", "argon2id", "scrypt", "argon2id13 "}) {
    KdfParams params = MinParams();
    params.algorithm = name;
    ExpectBadField(ValidateKdfParams(params), "algorithm");
  }
}

TEST(KdfParamsTest, RefusesOpslimitOutsideTheLimits) {
  for (std::uint64_t ops : {std::uint64_t{0}, kMaxOpslimit + 1, std::uint64_t{4294967295},
                            ~std::uint64_t{0}}) {
    KdfParams params = MinParams();
    params.opslimit = ops;
    ExpectBadField(ValidateKdfParams(params), "opslimit");
  }
}

TEST(KdfParamsTest, RefusesMemlimitOutsideTheLimitsOrNotInWholeKiB) {
  for (std::uint64_t mem : {std::uint64_t{0}, kMinMemlimit - 1024, kMaxMemlimit + 1024,
                            std::uint64_t{4398046510080} /* 4 TiB, libsodium's own max */,
                            ~std::uint64_t{0}, kMinMemlimit + 1}) {
    KdfParams params = MinParams();
    params.memlimit = mem;
    ExpectBadField(ValidateKdfParams(params), "memlimit");
  }
}

TEST(KdfParamsTest, RefusesTooMuchTotalWork) {
  KdfParams params = MinParams();
  params.opslimit = 5;
  params.memlimit = kMaxMemlimit;  // 5 x 4 GiB > 16 GiB
  ExpectBadField(ValidateKdfParams(params), "opslimit");
}

TEST(KdfParamsTest, ParseChecksTheSaltHex) {
  const std::string good(32, 'a');
  auto parsed = ParseKdfParams("argon2id13", 2, 65536, "000102030405060708090a0b0c0d0e0f");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(ToHex(parsed->salt), "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(parsed->opslimit, 2u);
  EXPECT_EQ(parsed->memlimit, 65536u);
  EXPECT_TRUE(ParseKdfParams("argon2id13", 2, 65536, good).ok());
  for (const std::string& salt : {std::string(), std::string(30, 'a'), std::string(34, 'a'),
                                  std::string(32, 'A'), std::string(31, 'a') + "g"}) {
    ExpectBadField(ParseKdfParams("argon2id13", 2, 65536, salt).error(), "salt");
  }
  ExpectBadField(ParseKdfParams("argon2id13", 0, 65536, good).error(), "opslimit");
}

TEST(DeriveKeyTest, RefusesInvalidParamsWithoutDeriving) {
  KdfParams params = MinParams();
  params.memlimit = std::uint64_t{1} << 42;  // would be 4 TiB
  auto key = DeriveKeyFromPassphrase("pw", params);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().category, Category::kCorrupt);
}

TEST(DeriveKeyTest, KeyDependsOnPassphraseSaltAndParameters) {
  const KdfParams base = MinParams();
  const SecretKey k = DeriveKeyFromPassphrase("pass", base).value();
  EXPECT_TRUE(ConstantTimeEquals(k, DeriveKeyFromPassphrase("pass", base).value()));
  EXPECT_FALSE(ConstantTimeEquals(k, DeriveKeyFromPassphrase("Pass", base).value()));
  EXPECT_FALSE(ConstantTimeEquals(k, DeriveKeyFromPassphrase("", base).value()));
  KdfParams salted = base;
  salted.salt[15] = 1;
  EXPECT_FALSE(ConstantTimeEquals(k, DeriveKeyFromPassphrase("pass", salted).value()));
  KdfParams more_ops = base;
  more_ops.opslimit = 2;
  EXPECT_FALSE(ConstantTimeEquals(k, DeriveKeyFromPassphrase("pass", more_ops).value()));
  KdfParams more_mem = base;
  more_mem.memlimit = 16384;
  EXPECT_FALSE(ConstantTimeEquals(k, DeriveKeyFromPassphrase("pass", more_mem).value()));
}

TEST(DeriveKeyTest, PassphraseMayContainAnyBytes) {
  const std::string with_nul("a\0b", 3);
  const KdfParams params = MinParams();
  EXPECT_FALSE(ConstantTimeEquals(DeriveKeyFromPassphrase(with_nul, params).value(),
                                  DeriveKeyFromPassphrase("a", params).value()));
}

}  // namespace
}  // namespace hx
