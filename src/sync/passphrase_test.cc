// The passphrase: asked twice for a new vault, retried while a person at a
// prompt has another one, changed by re-wrapping the same master key
// (hx key change-passphrase), and checked when given to a device that uses
// its cached key (sync/passphrase.h). Run against every store kind of the
// test binary (ScenarioStores(): the folder store in hx_sync_test, S3 on
// moto in hx_sync_s3_test), since the change's conditional write differs.
#include "sync/passphrase.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "repo/vault.h"
#include "store/store_wrappers.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using testing::Device;
using testing::NamedStoreFixture;
using testing::ScenarioStores;
using testing::StoreFixture;
using Purpose = PassphraseRequest::Purpose;

// A source that answers from a script and records what it was asked.
struct ScriptedSource {
  std::vector<std::string> answers;  // one per ask; then nullopt
  std::vector<PassphraseRequest> asked;

  PassphraseFn Fn() {
    return [this](const PassphraseRequest& request) -> Result<std::optional<std::string>> {
      asked.push_back(request);
      if (asked.size() > answers.size()) return std::optional<std::string>();
      return std::optional<std::string>(answers[asked.size() - 1]);
    };
  }
};

class PassphraseTest : public ::testing::TestWithParam<NamedStoreFixture> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    a_ = std::make_unique<Device>(*store_, "a");
    b_ = std::make_unique<Device>(*store_, "b");
    a_->passphrase = "old passphrase";
    b_->passphrase = "old passphrase";
    ASSERT_TRUE(a_->Init(1000).ok());
    ASSERT_TRUE(b_->Init(1000).ok());
    a_->Write("doc.txt", "v1");
    ASSERT_TRUE(a_->Push(2000).ok());
    ASSERT_TRUE(b_->Pull(3000).ok());
  }

  Result<ChangePassphraseReport> Change(Device& device, const std::string& current,
                                        const std::string& fresh, std::int64_t now_ms) {
    SyncOptions options = device.options(now_ms);
    options.passphrase = [current](const PassphraseRequest& r) -> Result<std::optional<std::string>> {
      if (r.attempt > 1) return std::optional<std::string>();
      return std::optional<std::string>(current);
    };
    ChangePassphraseOptions change;
    change.new_passphrase = [fresh](const PassphraseRequest&) -> Result<std::optional<std::string>> {
      return std::optional<std::string>(fresh);
    };
    change.kdf_opslimit = 1;  // tests need speed, not strength
    change.kdf_memlimit = 8192;
    return SyncChangePassphrase(device.vault(), options, change);
  }

  VaultConfig StoreConfig() const {
    Result<VaultConfig> config = ParseVaultConfig(store_->Objects().at("vault.json"));
    EXPECT_TRUE(config.ok());
    return config.ok() ? std::move(*config) : VaultConfig();
  }

  // A device set up after the change, with `passphrase`.
  Result<InitReport> Join(const std::string& name, const std::string& passphrase) {
    joined_.push_back(std::make_unique<Device>(*store_, name));
    joined_.back()->passphrase = passphrase;
    return joined_.back()->Init(5000);
  }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_;
  std::unique_ptr<Device> b_;
  std::vector<std::unique_ptr<Device>> joined_;
  std::vector<PassphraseRequest> asked_;
};

TEST_P(PassphraseTest, AChangeRewrapsTheSameMasterKeySoTheOldPassphraseIsRefusedAndTheNewOneOpens) {
  const VaultConfig before = StoreConfig();
  Result<ChangePassphraseReport> changed = Change(*a_, "old passphrase", "new passphrase", 4000);
  HX_ASSERT_OK(changed);
  const VaultConfig after = StoreConfig();

  // Only the wrap changed: same vault, same key (fingerprint), same chunker.
  EXPECT_EQ(after.vault_id, before.vault_id);
  EXPECT_EQ(after.key_fingerprint, before.key_fingerprint);
  EXPECT_EQ(changed->key_fingerprint, before.key_fingerprint);
  EXPECT_EQ(after.created_ms, before.created_ms);
  EXPECT_EQ(after.chunker.avg_size, before.chunker.avg_size);
  ASSERT_TRUE(after.kdf && before.kdf);
  EXPECT_NE(after.kdf->salt, before.kdf->salt);
  EXPECT_NE(after.wrapped_master_key, before.wrapped_master_key);

  Result<InitReport> old_one = Join("c", "old passphrase");
  ASSERT_FALSE(old_one.ok());
  EXPECT_EQ(old_one.error().code, SyncCode::kKeyMismatch);
  EXPECT_FALSE(joined_.back()->Exists(".hx/config.json"));

  HX_ASSERT_OK(Join("d", "new passphrase"));
  HX_ASSERT_OK(joined_.back()->Pull(6000));
  EXPECT_EQ(joined_.back()->Read("doc.txt"), "v1");  // the data of the old wrap's key
}

TEST_P(PassphraseTest, ADeviceWithACachedKeyKeepsSyncingAfterAChangeElsewhereAndLearnsTheNewWrap) {
  HX_ASSERT_OK(Change(*a_, "old passphrase", "new passphrase", 4000));
  const std::string new_record = store_->Objects().at("vault.json");

  // b never learnt the new passphrase (its source still gives the old one).
  a_->Write("doc.txt", "v2");
  HX_ASSERT_OK(a_->Push(5000));
  HX_ASSERT_OK(b_->Pull(6000));
  EXPECT_EQ(b_->Read("doc.txt"), "v2");
  b_->Write("from-b.txt", "b");
  HX_ASSERT_OK(b_->Push(7000));
  HX_ASSERT_OK(a_->Pull(8000));
  EXPECT_EQ(a_->Read("from-b.txt"), "b");

  // b's copy of vault.json is the new one: the store loses it, and b's
  // repair writes back the new wrap, never the old (which would make the
  // old passphrase open the vault again).
  store_->Remove("vault.json");
  HX_ASSERT_OK(b_->Repair(9000));
  EXPECT_EQ(store_->Objects().at("vault.json"), new_record);
  EXPECT_FALSE(Join("c", "old passphrase").ok());
  HX_ASSERT_OK(Join("d", "new passphrase"));
}

// Holds the write lock's creation until `before_lock` ran once: the other
// device's change lands between this one's read of vault.json and its write.
class RaceBeforeLock : public StoreWrapper {
 public:
  RaceBeforeLock(std::unique_ptr<Store> inner, std::function<void()> before_lock)
      : StoreWrapper(std::move(inner)), before_lock_(std::move(before_lock)) {}
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    if (key == "locks/write.lock" && before_lock_) std::exchange(before_lock_, nullptr)();
    return StoreWrapper::PutIfAbsent(key, bytes);
  }

 private:
  std::function<void()> before_lock_;
};

TEST_P(PassphraseTest, OfTwoConcurrentChangesOneWinsAndTheOtherChangesNothing) {
  Result<ChangePassphraseReport> b_changed = InternalError("not run");
  a_->wrap_store = [&](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    return std::make_unique<RaceBeforeLock>(std::move(inner), [&] {
      b_changed = Change(*b_, "old passphrase", "b's passphrase", 4000);
    });
  };
  Result<ChangePassphraseReport> a_changed = Change(*a_, "old passphrase", "a's passphrase", 4000);
  HX_ASSERT_OK(b_changed);
  ASSERT_FALSE(a_changed.ok());
  EXPECT_EQ(a_changed.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(a_changed.error().category, Category::kAborted);
  EXPECT_NE(a_changed.error().message.find("changed while"), std::string::npos);

  // One wrap on the store, b's; a's is nowhere; the write lock is released.
  EXPECT_EQ(store_->Objects().count("locks/write.lock"), 0u);
  EXPECT_FALSE(Join("c", "a's passphrase").ok());
  EXPECT_FALSE(Join("d", "old passphrase").ok());
  HX_ASSERT_OK(Join("e", "b's passphrase"));

  // The loser runs again with the passphrase now in force.
  a_->wrap_store = nullptr;
  HX_ASSERT_OK(Change(*a_, "b's passphrase", "a's passphrase", 5000));
  HX_ASSERT_OK(Join("f", "a's passphrase"));
}

TEST_P(PassphraseTest, AChangeNeedsTheCurrentPassphraseEvenOnADeviceWithACachedKey) {
  const std::string record = store_->Objects().at("vault.json");
  Result<ChangePassphraseReport> wrong = Change(*a_, "not the passphrase", "new", 4000);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, SyncCode::kKeyMismatch);

  Result<ChangePassphraseReport> same = Change(*a_, "old passphrase", "old passphrase", 4000);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code, SyncCode::kInputInvalid);

  Result<ChangePassphraseReport> empty = Change(*a_, "old passphrase", "", 4000);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, SyncCode::kInputInvalid);

  EXPECT_EQ(store_->Objects().at("vault.json"), record);  // nothing written
}

TEST_P(PassphraseTest, AnUnencryptedVaultHasNoPassphraseToChange) {
  ChangePassphraseOptions change;
  change.new_passphrase = [](const PassphraseRequest&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>("new");
  };
  // Its own store: the fixture's vault is encrypted.
  std::unique_ptr<StoreFixture> other = GetParam().make();
  Device plain(*other, "plain");
  HX_ASSERT_OK(plain.Init(1000, /*encrypted=*/false));
  Result<ChangePassphraseReport> changed =
      SyncChangePassphrase(plain.vault(), plain.options(2000), change);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, SyncCode::kInputInvalid);
}

TEST_P(PassphraseTest, AWrongPassphraseIsRetriedWhileTheSourceHasAnotherOneThreeTriesInAll) {
  // A person at a prompt: two wrong ones, then the right one.
  ScriptedSource person{{"typo", "typo again", "old passphrase"}, {}};
  Device c(*store_, "c");
  SyncOptions options = c.options(4000);
  options.passphrase = person.Fn();
  InitOptions init;
  HX_ASSERT_OK(SyncInit(c.vault(), options, init));
  ASSERT_EQ(person.asked.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(person.asked[i].purpose, Purpose::kOpen);
    EXPECT_EQ(person.asked[i].attempt, i + 1);
  }

  // Three wrong ones: the mismatch, and never a fourth ask.
  ScriptedSource stubborn{{"x", "y", "z", "old passphrase"}, {}};
  Device d(*store_, "d");
  options = d.options(4000);
  options.passphrase = stubborn.Fn();
  Result<InitReport> refused = SyncInit(d.vault(), options, init);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kKeyMismatch);
  EXPECT_EQ(stubborn.asked.size(), 3u);
  EXPECT_FALSE(d.Exists(".hx/config.json"));

  // A file or the environment has one value: asked once (Device's source
  // answers nullopt after the first attempt, as the CLI's does).
  Device e(*store_, "e");
  e.passphrase = "wrong";
  Result<InitReport> once = e.Init(4000);
  ASSERT_FALSE(once.ok());
  EXPECT_EQ(once.error().code, SyncCode::kKeyMismatch);

  // A device without a cached key opening a session retries the same way.
  std::filesystem::remove(c.vault() / ".hx" / "key");
  ScriptedSource later{{"typo", "old passphrase"}, {}};
  options = c.options(5000);
  options.passphrase = later.Fn();
  HX_ASSERT_OK(SyncPull(c.vault(), options));
  EXPECT_EQ(later.asked.size(), 2u);
  EXPECT_EQ(c.Read("doc.txt"), "v1");
}

TEST_P(PassphraseTest, ANewVaultAsksForANewPassphraseAndARefusalCreatesNoVault) {
  std::unique_ptr<StoreFixture> store = GetParam().make();  // an empty one
  Device a(*store, "a");
  std::vector<PassphraseRequest> asked;
  SyncOptions options = a.options(1000);
  options.passphrase = [&](const PassphraseRequest& r) -> Result<std::optional<std::string>> {
    asked.push_back(r);
    return InvalidInput(SyncCode::kInputInvalid, "the two passphrases typed differ");
  };
  InitOptions init;
  init.kdf_opslimit = 1;
  init.kdf_memlimit = 8192;
  Result<InitReport> refused = SyncInit(a.vault(), options, init);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kInputInvalid);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].purpose, Purpose::kCreate);
  EXPECT_EQ(store->Objects().count("vault.json"), 0u);
  EXPECT_FALSE(a.Exists(".hx"));

  // Answered: the vault is made with it; a second device joins (kOpen).
  HX_ASSERT_OK(a.Init(1000));
  Device b(*store, "b");
  ScriptedSource joiner{{a.passphrase}, {}};
  options = b.options(2000);
  options.passphrase = joiner.Fn();
  HX_ASSERT_OK(SyncInit(b.vault(), options, init));
  ASSERT_EQ(joiner.asked.size(), 1u);
  EXPECT_EQ(joiner.asked[0].purpose, Purpose::kOpen);
}

TEST_P(PassphraseTest, APassphraseGivenToADeviceWithACachedKeyIsCheckedAndAStaleOneIsSaidOnce) {
  std::vector<Error> warnings;
  const auto status = [&](const std::string& given) {
    SyncOptions options = b_->options(5000);
    std::vector<PassphraseRequest>* asked = &asked_;
    options.passphrase = [given, asked](const PassphraseRequest& r)
        -> Result<std::optional<std::string>> {
      asked->push_back(r);
      return std::optional<std::string>(given);
    };
    options.warning = [&](const Error& e) { warnings.push_back(e); };
    return SyncStatus(b_->vault(), options);
  };
  // The right one: checked (kCheck, never a prompt), nothing said.
  HX_ASSERT_OK(status("old passphrase"));
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0].purpose, Purpose::kCheck);
  EXPECT_TRUE(warnings.empty());

  // After a change elsewhere the old one is stale: said, and the status
  // still runs on the cached key.
  HX_ASSERT_OK(Change(*a_, "old passphrase", "new passphrase", 6000));
  HX_ASSERT_OK(status("old passphrase"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].code, SyncCode::kKeyMismatch);
  EXPECT_EQ(warnings[0].category, Category::kAuth);
  EXPECT_NE(warnings[0].message.find("cached key"), std::string::npos);
  EXPECT_EQ(warnings[0].message.find("old passphrase"), std::string::npos);  // never the secret

  // Said once per process for the same wrap and passphrase (the agent opens
  // a session per cycle); the new one is accepted silently.
  HX_ASSERT_OK(status("old passphrase"));
  EXPECT_EQ(warnings.size(), 1u);
  HX_ASSERT_OK(status("new passphrase"));
  EXPECT_EQ(warnings.size(), 1u);

  // Without a listener nothing is asked (the RPC server, the tests' devices).
  asked_.clear();
  SyncOptions quiet = b_->options(7000);
  quiet.passphrase = [this](const PassphraseRequest& r) -> Result<std::optional<std::string>> {
    asked_.push_back(r);
    return std::optional<std::string>("whatever");
  };
  HX_ASSERT_OK(SyncStatus(b_->vault(), quiet));
  EXPECT_TRUE(asked_.empty());
}

INSTANTIATE_TEST_SUITE_P(Store, PassphraseTest, ::testing::ValuesIn(ScenarioStores()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace hx
