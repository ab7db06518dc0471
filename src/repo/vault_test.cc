// vault.json: golden bytes, strict parsing (newer versions refused as such),
// unlocking with the right and wrong passphrase, and init that joins an
// existing vault instead of failing.
#include "repo/vault.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "crypto/keys.h"
#include "repo/repo_test_util.h"

namespace hx {
namespace {

using testing::ToBytes;

// A Store in memory, enough for vault.json: counts writes and can run a hook
// before PutIfAbsent (to stage a race).
class MemoryStore : public Store {
 public:
  const StoreCapabilities& capabilities() const override { return capabilities_; }
  std::string Describe() const override { return "mem://test"; }

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override {
    const auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return Error(SyncCode::kStateFailed, Category::kNotFound, "absent");
    if (it->second.size() > max_size) return Error(SyncCode::kStateFailed, Category::kCorrupt, "big");
    return it->second;
  }
  Result<Bytes> GetRange(std::string_view, ByteRange) override { return Unused(); }
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view, std::uint64_t) override {
    return Unused();
  }
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override {
    ++writes;
    objects_[std::string(key)] = Bytes(bytes.begin(), bytes.end());
    return OkStatus();
  }
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    if (before_put_if_absent) std::exchange(before_put_if_absent, nullptr)();
    ++writes;
    if (objects_.count(std::string(key)) != 0) {
      return Error(SyncCode::kStateFailed, Category::kAborted, "exists");
    }
    objects_[std::string(key)] = Bytes(bytes.begin(), bytes.end());
    return StoreVersion("v");
  }
  Result<StoreVersion> PutIfMatch(std::string_view, std::span<const std::uint8_t>,
                                  const StoreVersion&) override {
    return Unused();
  }
  Result<bool> Exists(std::string_view key) override { return objects_.count(std::string(key)) != 0; }
  Result<std::vector<StoreObjectInfo>> List(std::string_view) override { return Unused(); }
  Status Delete(std::string_view key) override {
    objects_.erase(std::string(key));
    return OkStatus();
  }

  std::string Text(std::string_view key) const {
    const Bytes& bytes = objects_.at(std::string(key));
    return std::string(bytes.begin(), bytes.end());
  }
  void SetText(std::string_view key, std::string_view text) {
    objects_[std::string(key)] = ToBytes(text);
  }

  int writes = 0;
  std::function<void()> before_put_if_absent;

 private:
  static Error Unused() { return InternalError("not used by these tests"); }

  StoreCapabilities capabilities_;
  std::map<std::string, Bytes> objects_;
};

// Fills each request with the next bytes of 00 01 02 ...: vault id 00..0f,
// master key 10..2f, salt 30..3f.
RandomFn CountingRandom() {
  auto next = std::make_shared<std::uint8_t>(0);
  return [next](std::span<std::uint8_t> out) {
    for (std::uint8_t& byte : out) byte = (*next)++;
  };
}

// The cheapest KDF libsodium allows: tests only.
VaultCreateOptions FastOptions(std::optional<std::string_view> passphrase) {
  VaultCreateOptions options;
  options.passphrase = passphrase;
  options.kdf.opslimit = 1;
  options.kdf.memlimit = 8192;
  options.created_ms = 1700000000000;
  return options;
}

// Computed outside hx (Python: libsodium 1.0.18 crypto_pwhash Argon2id13 and
// XChaCha20-Poly1305 via ctypes, b3sum for derive_key), from the layouts in
// vault.h and crypto/keys.h, passphrase "correct horse", the counting random
// bytes and FastOptions.
const std::string kGoldenVaultJson =
    R"({"chunker":{"avg_size":1048576,"max_size":4194304,"min_size":262144,)"
    R"("normalization_level":2},"created_ms":1700000000000,"encryption":"passphrase",)"
    R"("format":"hx-vault","format_version":1,"kdf":{"algorithm":"argon2id13",)"
    R"("memlimit":8192,"opslimit":1,"salt":"303132333435363738393a3b3c3d3e3f"},)"
    R"("key_fingerprint":"0e78244dff14e981fbf7a3c92a958b2d4bce37ff94b37c3cd4b5890cd32483b9",)"
    R"("vault_id":"000102030405060708090a0b0c0d0e0f","wrapped_master_key":")"
    R"(a96baa35413ea93e037183d4f311d0fa18c5d3bb1c17d60d58383257814ca685124dc6488df57f1f)"
    R"(ad4dedb95bfe7b144478c07bbd86ad4be69b15cea238824d8d49821f1542ac46"})";

const std::string kGoldenMaster = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f";

const std::string kGoldenNoneJson =
    R"({"chunker":{"avg_size":1048576,"max_size":4194304,"min_size":262144,)"
    R"("normalization_level":2},"created_ms":1700000000000,"encryption":"none",)"
    R"("format":"hx-vault","format_version":1,)"
    R"("key_fingerprint":"0e78244dff14e981fbf7a3c92a958b2d4bce37ff94b37c3cd4b5890cd32483b9",)"
    R"("master_key":"101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",)"
    R"("vault_id":"000102030405060708090a0b0c0d0e0f"})";

TEST(VaultConfigTest, GoldenBytesOfAPassphraseVault) {
  auto made = CreateVaultConfig(FastOptions("correct horse"), CountingRandom());
  ASSERT_TRUE(made.ok()) << made.error().ToShortString();
  EXPECT_EQ(ToHex(made->master.bytes()), kGoldenMaster);
  auto bytes = EncodeVaultConfig(made->config);
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToShortString();
  EXPECT_EQ(*bytes, kGoldenVaultJson);
}

TEST(VaultConfigTest, GoldenBytesOfAnUnencryptedVault) {
  auto made = CreateVaultConfig(FastOptions(std::nullopt), CountingRandom());
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(*EncodeVaultConfig(made->config), kGoldenNoneJson);
}

TEST(VaultConfigTest, ParsesWhatItWritesAndUnlocksWithThePassphrase) {
  auto config = ParseVaultConfig(kGoldenVaultJson);
  ASSERT_TRUE(config.ok()) << config.error().ToShortString();
  EXPECT_EQ(config->vault_id, "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(config->created_ms, 1700000000000);
  EXPECT_EQ(config->encryption, VaultEncryption::kPassphrase);
  EXPECT_EQ(config->kdf->opslimit, 1u);
  EXPECT_EQ(*EncodeVaultConfig(*config), kGoldenVaultJson);
  auto master = UnlockVault(*config, "correct horse");
  ASSERT_TRUE(master.ok()) << master.error().ToShortString();
  EXPECT_EQ(ToHex(master->bytes()), kGoldenMaster);

  auto none = ParseVaultConfig(kGoldenNoneJson);
  ASSERT_TRUE(none.ok()) << none.error().ToShortString();
  EXPECT_EQ(*EncodeVaultConfig(*none), kGoldenNoneJson);
  auto clear = UnlockVault(*none, std::nullopt);
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(ToHex(clear->bytes()), kGoldenMaster);
}

TEST(UnlockVaultTest, AWrongOrMissingPassphraseIsAKeyMismatch) {
  auto config = ParseVaultConfig(kGoldenVaultJson);
  ASSERT_TRUE(config.ok());
  for (std::optional<std::string_view> passphrase :
       {std::optional<std::string_view>("correct horsf"), std::optional<std::string_view>(""),
        std::optional<std::string_view>()}) {
    auto master = UnlockVault(*config, passphrase);
    ASSERT_FALSE(master.ok());
    EXPECT_EQ(master.error().code, SyncCode::kKeyMismatch);
    EXPECT_EQ(master.error().category, Category::kAuth);
  }
  // A passphrase for an unencrypted vault is refused: the user expected
  // encryption that this vault does not have.
  auto none = ParseVaultConfig(kGoldenNoneJson);
  auto master = UnlockVault(*none, "correct horse");
  ASSERT_FALSE(master.ok());
  EXPECT_EQ(master.error().code, SyncCode::kKeyMismatch);
  EXPECT_NE(master.error().message.find("not encrypted"), std::string::npos);
}

TEST(UnlockVaultTest, AFingerprintThatDoesNotMatchTheKeyIsAKeyMismatch) {
  for (const std::string* json : {&kGoldenVaultJson, &kGoldenNoneJson}) {
    std::string text = *json;
    text.replace(text.find("0e78244d"), 8, "0e78244e");
    auto config = ParseVaultConfig(text);
    ASSERT_TRUE(config.ok());
    auto master = UnlockVault(*config, config->encryption == VaultEncryption::kNone
                                           ? std::nullopt
                                           : std::optional<std::string_view>("correct horse"));
    ASSERT_FALSE(master.ok());
    EXPECT_EQ(master.error().code, SyncCode::kKeyMismatch);
  }
}

TEST(ParseVaultConfigTest, ANewerFormatIsUnsupportedNotCorrupt) {
  // A newer vault.json may have any other fields; only format and
  // format_version are read before refusing it.
  auto config = ParseVaultConfig(R"({"format":"hx-vault","format_version":2,"quantum":true})",
                                 "s3://bucket/v");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(config.error().category, Category::kUnsupported);
  EXPECT_EQ(config.error().message,
            "the vault at s3://bucket/v was made by a newer hx (format_version 2); upgrade hx to "
            "use it");
}

struct Rejection {
  const char* rule;
  std::string from;  // replaced in kGoldenVaultJson; empty: `to` is the input
  std::string to;
};

TEST(ParseVaultConfigTest, RefusesEveryMalformation) {
  const std::vector<Rejection> cases = {
      {"empty", "", ""},
      {"not JSON", "", "{"},
      {"array", "", "[]"},
      {"oversized", "", std::string(kMaxVaultConfigBytes + 1, ' ')},
      {"another format", R"("format":"hx-vault")", R"("format":"restic")"},
      {"no format", R"("format":"hx-vault",)", ""},
      {"format_version 0", R"("format_version":1)", R"("format_version":0)"},
      {"format_version a string", R"("format_version":1)", R"("format_version":"1")"},
      {"not canonical", R"("format":"hx-vault",)", R"("format": "hx-vault",)"},
      {"unknown field", R"("format":"hx-vault",)", R"("extra":1,"format":"hx-vault",)"},
      {"unknown chunker field", R"("avg_size":1048576,)", R"("avg_size":1048576,"b":1,)"},
      {"unknown kdf field", R"("algorithm":"argon2id13",)", R"("algorithm":"argon2id13","b":1,)"},
      {"no vault_id", R"(,"vault_id":"000102030405060708090a0b0c0d0e0f")", ""},
      {"short vault_id", "000102030405060708090a0b0c0d0e0f", "0001"},
      {"uppercase vault_id", "000102030405060708090a0b0c0d0e0f", "000102030405060708090A0B0C0D0E0F"},
      {"negative created_ms", "1700000000000", "-1"},
      {"avg_size not a power of two", "1048576", "1048577"},
      {"negative max_size", "4194304", "-4194304"},
      {"normalization_level too high", R"("normalization_level":2)", R"("normalization_level":9)"},
      {"unknown encryption", R"("encryption":"passphrase")", R"("encryption":"rot13")"},
      {"no kdf", R"("kdf":{"algorithm":"argon2id13","memlimit":8192,"opslimit":1,)"
                 R"("salt":"303132333435363738393a3b3c3d3e3f"},)", ""},
      {"unknown kdf algorithm", R"("argon2id13")", R"("scrypt")"},
      {"memlimit above the ceiling", R"("memlimit":8192)", R"("memlimit":1099511627776)"},
      {"memlimit not whole KiB", R"("memlimit":8192)", R"("memlimit":8193)"},
      {"opslimit zero", R"("opslimit":1)", R"("opslimit":0)"},
      {"opslimit huge", R"("opslimit":1)", R"("opslimit":1000000)"},
      {"short salt", "303132333435363738393a3b3c3d3e3f", "3031"},
      {"short wrapped key", R"("wrapped_master_key":"a96b)", R"("wrapped_master_key":")"},
      {"fingerprint not hex", "0e78244dff14", "0e78244dff1g"},
      {"passphrase vault with a clear key", R"("vault_id")",
       R"("master_key":"101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f","vault_id")"},
  };
  for (const Rejection& c : cases) {
    std::string text = c.to;
    if (!c.from.empty()) {
      text = kGoldenVaultJson;
      const std::size_t at = text.find(c.from);
      ASSERT_NE(at, std::string::npos) << c.rule;
      text.replace(at, c.from.size(), c.to);
    }
    auto config = ParseVaultConfig(text, "mem://x");
    ASSERT_FALSE(config.ok()) << c.rule;
    EXPECT_EQ(config.error().code, SyncCode::kStateFailed) << c.rule;
    EXPECT_EQ(config.error().category, Category::kCorrupt) << c.rule << ": " << config.error().message;
    EXPECT_EQ(config.error().message.rfind("vault.json at mem://x is corrupt: ", 0), 0u)
        << c.rule << ": " << config.error().message;
  }
  // An unencrypted vault must not carry KDF parameters.
  std::string none = kGoldenNoneJson;
  none.replace(none.find(R"("key_fingerprint")"), 17,
               R"("kdf":{"algorithm":"argon2id13","memlimit":8192,"opslimit":1,)"
               R"("salt":"303132333435363738393a3b3c3d3e3f"},"key_fingerprint")");
  EXPECT_FALSE(ParseVaultConfig(none).ok());
}

TEST(CreateVaultConfigTest, RefusesInputsThatWouldMakeABadVault) {
  auto made = CreateVaultConfig(FastOptions(""), CountingRandom());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, SyncCode::kInputInvalid);
  VaultCreateOptions options = FastOptions("pw");
  options.kdf.memlimit = 1;
  made = CreateVaultConfig(options, CountingRandom());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, SyncCode::kInputInvalid);
  options = FastOptions("pw");
  options.chunker.avg_size = 1000;
  made = CreateVaultConfig(options, CountingRandom());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, SyncCode::kInputInvalid);
}

TEST(VaultStoreTest, ReadingAStoreWithoutAVaultSaysToInit) {
  MemoryStore store;
  auto config = ReadVaultConfig(store);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(config.error().category, Category::kNotFound);
  EXPECT_EQ(config.error().message, "no vault at mem://test: run hx sync init");
}

TEST(VaultStoreTest, WritingOverAnExistingVaultIsRefused) {
  MemoryStore store;
  auto made = CreateVaultConfig(FastOptions(std::nullopt), CountingRandom());
  ASSERT_TRUE(WriteVaultConfig(store, made->config).ok());
  EXPECT_EQ(store.Text(kVaultConfigKey), kGoldenNoneJson);
  Status again = WriteVaultConfig(store, made->config);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().category, Category::kAborted);
  EXPECT_EQ(again.error().message.rfind("a vault already exists at mem://test", 0), 0u);
}

TEST(VaultStoreTest, AnOversizedVaultJsonIsCorrupt) {
  MemoryStore store;
  store.SetText(kVaultConfigKey, std::string(kMaxVaultConfigBytes + 1, '{'));
  auto config = ReadVaultConfig(store);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().category, Category::kCorrupt);
}

TEST(InitOrJoinTest, TheFirstDeviceCreatesAndTheSecondJoins) {
  MemoryStore store;
  auto first = InitOrJoinVault(store, FastOptions("correct horse"), CountingRandom());
  ASSERT_TRUE(first.ok()) << first.error().ToShortString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(store.Text(kVaultConfigKey), kGoldenVaultJson);

  // The second device has other random bytes and other options; it joins.
  VaultCreateOptions other = FastOptions("correct horse");
  other.chunker.avg_size = 1 << 16;
  other.chunker.min_size = 1 << 14;
  other.chunker.max_size = 1 << 18;
  auto second = InitOrJoinVault(store, other);
  ASSERT_TRUE(second.ok()) << second.error().ToShortString();
  EXPECT_FALSE(second->created);
  EXPECT_TRUE(ConstantTimeEquals(second->master, first->master));
  EXPECT_EQ(second->config.chunker.avg_size, std::size_t{1} << 20);
  EXPECT_EQ(store.Text(kVaultConfigKey), kGoldenVaultJson);
}

TEST(InitOrJoinTest, AWrongPassphraseFailsBeforeAnythingIsWritten) {
  MemoryStore store;
  store.SetText(kVaultConfigKey, kGoldenVaultJson);
  auto joined = InitOrJoinVault(store, FastOptions("wrong horse"));
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.error().code, SyncCode::kKeyMismatch);
  EXPECT_EQ(store.writes, 0);
  EXPECT_EQ(store.Text(kVaultConfigKey), kGoldenVaultJson);
}

TEST(InitOrJoinTest, ACreatorThatLosesTheRaceJoinsTheWinner) {
  MemoryStore store;
  store.before_put_if_absent = [&store] { store.SetText(kVaultConfigKey, kGoldenVaultJson); };
  auto opened = InitOrJoinVault(store, FastOptions("correct horse"));
  ASSERT_TRUE(opened.ok()) << opened.error().ToShortString();
  EXPECT_FALSE(opened->created);
  EXPECT_EQ(ToHex(opened->master.bytes()), kGoldenMaster);
  EXPECT_EQ(store.Text(kVaultConfigKey), kGoldenVaultJson);
}

TEST(InitOrJoinTest, ACorruptVaultIsNotOverwritten) {
  MemoryStore store;
  store.SetText(kVaultConfigKey, "garbage");
  auto opened = InitOrJoinVault(store, FastOptions("correct horse"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().category, Category::kCorrupt);
  EXPECT_EQ(store.writes, 0);
}

TEST(VaultContextTest, CarriesTheVaultAndRefusesAnotherKey) {
  auto config = ParseVaultConfig(kGoldenNoneJson);
  ASSERT_TRUE(config.ok());
  auto master = UnlockVault(*config, std::nullopt);
  auto context = MakeVaultContext(*config, *master);
  ASSERT_TRUE(context.ok());
  EXPECT_EQ(context->vault_id, "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(context->vault_id_bytes[15], 0x0f);
  EXPECT_EQ(context->key_fingerprint, config->key_fingerprint);
  EXPECT_TRUE(ConstantTimeEquals(context->keys.content, DeriveSubkey(*master, KeyPurpose::kContent)));
  EXPECT_EQ(context->chunker.avg_size, std::size_t{1} << 20);

  auto wrong = MakeVaultContext(*config, testing::CountingKey(0));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, SyncCode::kKeyMismatch);
}

TEST(VaultContextTest, TheChunkerIsKeyedPerVault) {
  VaultContext a = testing::TestContext(0);
  VaultContext b = testing::TestContext(1);
  for (VaultContext* context : {&a, &b}) {
    context->chunker.avg_size = 1 << 12;
    context->chunker.min_size = 1 << 10;
    context->chunker.max_size = 1 << 14;
  }
  auto cdc_a = MakeVaultChunker(a);
  auto cdc_b = MakeVaultChunker(b);
  auto cdc_a2 = MakeVaultChunker(a);
  ASSERT_TRUE(cdc_a.ok() && cdc_b.ok() && cdc_a2.ok());
  Bytes data(1 << 18);
  RandomBytes(data);
  const auto cuts_a = SplitIntoChunks(*cdc_a, data);
  EXPECT_GT(cuts_a.size(), 10u);
  EXPECT_EQ(cuts_a, SplitIntoChunks(*cdc_a2, data));
  EXPECT_NE(cuts_a, SplitIntoChunks(*cdc_b, data));
  a.chunker.avg_size = 1000;
  EXPECT_FALSE(MakeVaultChunker(a).ok());
}

}  // namespace
}  // namespace hx

namespace hx {
namespace {

// A passphrase change: the same master key under a new passphrase and salt.
TEST(RewrapVaultConfigTest, KeepsEveryFieldButTheWrapSoOnlyTheNewPassphraseOpensTheSameKey) {
  Result<NewVault> made = CreateVaultConfig(FastOptions("old"), CountingRandom());
  ASSERT_TRUE(made.ok());
  KdfParams kdf;
  kdf.opslimit = 1;
  kdf.memlimit = 8192;
  Result<VaultConfig> rewrapped = RewrapVaultConfig(made->config, made->master, "new", kdf,
                                                    [](std::span<std::uint8_t> out) {
                                                      for (std::uint8_t& b : out) b = 0xAB;
                                                    });
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.error().ToShortString();
  EXPECT_EQ(rewrapped->vault_id, made->config.vault_id);
  EXPECT_EQ(rewrapped->created_ms, made->config.created_ms);
  EXPECT_EQ(rewrapped->key_fingerprint, made->config.key_fingerprint);
  ASSERT_TRUE(rewrapped->kdf.has_value());
  EXPECT_EQ(rewrapped->kdf->salt[0], 0xAB);
  EXPECT_NE(rewrapped->wrapped_master_key, made->config.wrapped_master_key);

  // The same layout: it encodes, parses back to the same bytes, and opens.
  Result<std::string> bytes = EncodeVaultConfig(*rewrapped);
  ASSERT_TRUE(bytes.ok());
  Result<VaultConfig> parsed = ParseVaultConfig(*bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToShortString();
  Result<SecretKey> opened = UnlockVault(*parsed, "new");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(ToHex(opened->bytes()), ToHex(made->master.bytes()));
  Result<SecretKey> old = UnlockVault(*parsed, "old");
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, SyncCode::kKeyMismatch);
}

TEST(RewrapVaultConfigTest, RefusesAnUnencryptedVaultAnEmptyPassphraseAndAnotherKey) {
  Result<NewVault> clear = CreateVaultConfig(FastOptions(std::nullopt), CountingRandom());
  ASSERT_TRUE(clear.ok());
  KdfParams kdf;
  kdf.opslimit = 1;
  kdf.memlimit = 8192;
  Result<VaultConfig> none = RewrapVaultConfig(clear->config, clear->master, "new", kdf);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, SyncCode::kInputInvalid);

  Result<NewVault> made = CreateVaultConfig(FastOptions("old"), CountingRandom());
  ASSERT_TRUE(made.ok());
  Result<VaultConfig> empty = RewrapVaultConfig(made->config, made->master, "", kdf);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, SyncCode::kInputInvalid);
  SecretKey other;  // all zero: not this vault's key
  Result<VaultConfig> wrong = RewrapVaultConfig(made->config, other, "new", kdf);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, SyncCode::kKeyMismatch);
}

}  // namespace
}  // namespace hx
