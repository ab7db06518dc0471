// The token master key outside the store (hub_key.h): the defect it answers
// is that the per-vault token key lies in the backing store, so whoever can
// read the store can mint tokens. With a master key the store holds no token
// key, a token minted from what the store holds is refused, hubs given the
// same key agree and a hub with another key does not; the key text and file
// are read strictly (a group- or world-readable file is refused).
#include "hub/auth/hub_key.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "hub/auth/hub_auth.h"
#include "hub/auth/auth_test_util.h"
#include "store/memory_store.h"
#include "store/store_test_util.h"

namespace hx::hub {
namespace {

using auth_testing::AsBytes;
using auth_testing::kDay;
using auth_testing::kT0;

const std::string kKeyText(64, 'a');
const std::string kOtherKeyText = std::string(63, 'a') + "b";

std::shared_ptr<const SecretKey> Master(const std::string& text) {
  Result<SecretKey> key = ParseHubMasterKey(text, "test");
  EXPECT_TRUE(key.ok()) << key.error().ToShortString();
  return std::make_shared<const SecretKey>(std::move(key).value());
}

// Enrolls a writer and logs it in at kT0; its token.
Result<IssuedToken> EnrollAndLogin(HubAuth& auth) {
  HX_ASSIGN_OR_RETURN(const Enrollment code,
                      auth.CreateEnrollment("notes", Role::kWriter, kDay, kT0));
  const Ed25519KeyPair pair = NewEd25519KeyPair();
  HX_ASSIGN_OR_RETURN(const DeviceRecord device,
                      auth.Register("notes", {.code = code.code, .public_key = pair.public_key,
                                              .name = "laptop", .platform = "linux"},
                                    kT0));
  HX_ASSIGN_OR_RETURN(const std::string challenge,
                      auth.IssueChallenge("notes", device.device_id, kT0));
  const Ed25519Signature signature = Ed25519Sign(
      pair.secret_key, AsBytes(ChallengeMessage("notes", device.device_id, challenge)));
  return auth.ExchangeChallenge("notes", device.device_id, challenge, signature, kT0);
}

TEST(HubKey, TheKeyTextIsExactly64LowercaseHexDigitsAndOneOptionalNewline) {
  EXPECT_TRUE(ParseHubMasterKey(kKeyText, "t").ok());
  EXPECT_TRUE(ParseHubMasterKey(kKeyText + "\n", "t").ok());
  for (const std::string& bad : {std::string(), kKeyText + "\n\n", kKeyText + " ",
                                 std::string(62, 'a'), std::string(66, 'a'),
                                 std::string(64, 'A'), std::string(64, 'g')}) {
    Result<SecretKey> key = ParseHubMasterKey(bad, "t");
    ASSERT_FALSE(key.ok()) << bad;
    EXPECT_EQ(key.error().code, SyncCode::kInputInvalid);
  }
}

TEST(HubKey, TheFileWinsOverTheEnvironmentAndMustNotBeReadableByOthers) {
  store_testing::TempFolder dir;
  const std::string file = dir.Join("hub.key");
  std::ofstream(file) << kKeyText << "\n";
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  Result<std::shared_ptr<const SecretKey>> loaded = LoadHubMasterKey(file, kOtherKeyText.c_str());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToShortString();
  ASSERT_NE(*loaded, nullptr);
  EXPECT_TRUE(std::equal((*loaded)->bytes().begin(), (*loaded)->bytes().end(),
                         Master(kKeyText)->bytes().begin()));

  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  Result<std::shared_ptr<const SecretKey>> open_file = LoadHubMasterKey(file, nullptr);
  ASSERT_FALSE(open_file.ok());
  EXPECT_NE(open_file.error().message.find("chmod 600"), std::string::npos);
  EXPECT_FALSE(LoadHubMasterKey(dir.Join("absent.key"), nullptr).ok());

  Result<std::shared_ptr<const SecretKey>> from_env = LoadHubMasterKey("", kKeyText.c_str());
  ASSERT_TRUE(from_env.ok());
  EXPECT_NE(*from_env, nullptr);
  EXPECT_FALSE(LoadHubMasterKey("", "not a key").ok());
  Result<std::shared_ptr<const SecretKey>> none = LoadHubMasterKey("", nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

TEST(HubKey, WithAMasterKeyTheStoreHoldsNoTokenKeyAndATokenMintedFromTheStoreIsRefused) {
  MemoryStore store;
  HubAuth hub(store, {}, Master(kKeyText));
  Result<IssuedToken> token = EnrollAndLogin(hub);
  ASSERT_TRUE(token.ok()) << token.error().ToShortString();
  EXPECT_TRUE(hub.Authenticate("notes", token->token, kT0 + 1).ok());
  Result<bool> stored_key = store.Exists(HubKey("notes", "token-key.json"));
  ASSERT_TRUE(stored_key.ok());
  EXPECT_FALSE(*stored_key);

  // Someone with read and write access to the store and hx's code mints a
  // writer token with what the store holds (a token key of its own making,
  // as a hub without the master key would): the hub refuses it.
  HubAuth store_reader(store);
  const std::string device = hub.ListDevices("notes")->front().device_id;
  Result<IssuedToken> minted = store_reader.IssueToken("notes", device, Role::kWriter, kT0);
  ASSERT_TRUE(minted.ok());
  Result<Principal> refused = hub.Authenticate("notes", minted->token, kT0 + 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kAuthFailed);
}

TEST(HubKey, HubsWithTheSameMasterKeyAgreeAndOneWithAnotherRefuses) {
  MemoryStore store;
  HubAuth first(store, {}, Master(kKeyText));
  HubAuth second(store, {}, Master(kKeyText));
  HubAuth other(store, {}, Master(kOtherKeyText));
  Result<IssuedToken> token = EnrollAndLogin(first);
  ASSERT_TRUE(token.ok()) << token.error().ToShortString();
  EXPECT_TRUE(second.Authenticate("notes", token->token, kT0 + 1).ok());
  EXPECT_FALSE(other.Authenticate("notes", token->token, kT0 + 1).ok());
}

TEST(HubKey, EachVaultGetsItsOwnDerivedKey) {
  const std::shared_ptr<const SecretKey> master = Master(kKeyText);
  const SecretKey notes = DeriveVaultTokenKey(*master, "notes");
  const SecretKey again = DeriveVaultTokenKey(*master, "notes");
  const SecretKey photos = DeriveVaultTokenKey(*master, "photos");
  EXPECT_TRUE(std::equal(notes.bytes().begin(), notes.bytes().end(), again.bytes().begin()));
  EXPECT_FALSE(std::equal(notes.bytes().begin(), notes.bytes().end(), photos.bytes().begin()));
  EXPECT_FALSE(std::equal(notes.bytes().begin(), notes.bytes().end(), master->bytes().begin()));
}

}  // namespace
}  // namespace hx::hub
