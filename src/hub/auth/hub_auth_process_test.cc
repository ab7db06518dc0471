// Registration and auth through a real `hx serve` process on loopback, with
// the hx command as the devices and the administrator: enrollment codes
// (hx serve enroll), hx sync init --enroll, pushes and pulls through the hub
// with tokens, a reader that cannot write, a revoked device refused, a code
// used twice refused, and a token that expires at the hub refreshed without
// the caller seeing it.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/process_test_util.h"
#include "base/temp_dir_test_util.h"
#include "hub/testing/hub_process.h"
#include "os/real_clock.h"
#include "store/hub/device_credential.h"
#include "store/hub/hub_store.h"
#include "store/target_uri.h"

namespace hx::hub {
namespace {

namespace fs = std::filesystem;
using hx::testing::ProcessRun;
using hx::testing::RunProcess;
using hx::testing::TempDir;
using testing::HubProcess;
using testing::HxBinary;

class HubAuthProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = (dir_.path() / "store").string();
    fs::create_directories(store_);
    // Tokens of the default lifetime: a command slowed down by a loaded
    // machine never sees its token expire between a fetch and its use.
    Result<std::unique_ptr<HubProcess>> hub =
        HubProcess::Start({"--store", store_, "--insecure-listen", "127.0.0.1:0"});
    ASSERT_TRUE(hub.ok()) << hub.error().ToShortString();
    hub_ = std::move(hub).value();
    target_ = "hx://" + hub_->address() + "/notes";
  }

  ProcessRun Hx(std::vector<std::string> args) {
    return RunProcess(HxBinary(), args, {"HX_PASSPHRASE="});
  }

  // A fresh enrollment code of `role` (the last line of hx serve enroll).
  std::string Enroll(const std::string& role) {
    const ProcessRun run =
        Hx({"serve", "enroll", "--store", store_, "--vault", "notes", "--role", role});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::string out = run.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out.substr(out.rfind('\n') + 1);
  }

  std::string Vault(const std::string& name) { return (dir_.path() / name).string(); }

  ProcessRun InitWith(const std::string& name, const std::string& code) {
    return Hx({"sync", "init", Vault(name), target_, "--enroll", code, "--device-name", name,
               "--no-encryption"});
  }

  void Write(const std::string& vault, const std::string& file, const std::string& text) {
    std::ofstream(fs::path(Vault(vault)) / file) << text;
  }

  TempDir dir_{"hub_auth_process"};
  std::string store_;
  std::unique_ptr<HubProcess> hub_;
  std::string target_;
};

TEST_F(HubAuthProcessTest, EnrolledDevicesPushAndPullThroughTheHub) {
  const std::string code = Enroll("writer");
  ASSERT_EQ(code.substr(0, 5), "hxe1-");
  ProcessRun init = InitWith("a", code);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  const fs::path credential = fs::path(Vault("a")) / ".hx" / "hub-credential.json";
  struct stat st {};
  ASSERT_EQ(::stat(credential.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Write("a", "hello.txt", "through the hub");
  ProcessRun push = Hx({"sync", "push", Vault("a")});
  ASSERT_EQ(push.exit_code, 0) << push.output;

  ASSERT_EQ(InitWith("b", Enroll("writer")).exit_code, 0);
  ProcessRun pull = Hx({"sync", "pull", Vault("b")});
  ASSERT_EQ(pull.exit_code, 0) << pull.output;
  std::ifstream in(fs::path(Vault("b")) / "hello.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "through the hub");

  ProcessRun devices = Hx({"--json", "serve", "devices", "--store", store_, "--vault", "notes"});
  ASSERT_EQ(devices.exit_code, 0) << devices.output;
  EXPECT_NE(devices.output.find("\"name\":\"a\""), std::string::npos) << devices.output;
  EXPECT_NE(devices.output.find("\"name\":\"b\""), std::string::npos) << devices.output;
}

TEST_F(HubAuthProcessTest, AnUnenrolledDeviceIsRefused) {
  ASSERT_EQ(InitWith("a", Enroll("writer")).exit_code, 0);
  // A vault folder made without --enroll has no credential: the hub
  // refuses its requests.
  ProcessRun init = Hx({"sync", "init", Vault("x"), target_, "--no-encryption"});
  EXPECT_NE(init.exit_code, 0) << init.output;
  EXPECT_NE(init.output.find("KC_SYNC_AUTH_FAILED"), std::string::npos) << init.output;
}

TEST_F(HubAuthProcessTest, AReaderCannotWrite) {
  ASSERT_EQ(InitWith("a", Enroll("writer")).exit_code, 0);
  Write("a", "one.txt", "1");
  ASSERT_EQ(Hx({"sync", "push", Vault("a")}).exit_code, 0);
  ProcessRun init = InitWith("reader", Enroll("reader"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  ASSERT_EQ(Hx({"sync", "pull", Vault("reader")}).exit_code, 0);
  Write("reader", "two.txt", "2");
  ProcessRun push = Hx({"sync", "push", Vault("reader")});
  EXPECT_NE(push.exit_code, 0) << push.output;
  EXPECT_NE(push.output.find("KC_SYNC_AUTH_FAILED"), std::string::npos) << push.output;
  EXPECT_FALSE(fs::exists(fs::path(store_) / "notes" / "two.txt"));
}

TEST_F(HubAuthProcessTest, ARevokedThirdDeviceIsRefused) {
  ASSERT_EQ(InitWith("a", Enroll("writer")).exit_code, 0);
  ASSERT_EQ(InitWith("b", Enroll("writer")).exit_code, 0);
  ASSERT_EQ(InitWith("c", Enroll("writer")).exit_code, 0);
  Write("c", "c.txt", "c");
  ASSERT_EQ(Hx({"sync", "push", Vault("c")}).exit_code, 0);
  ProcessRun revoke = Hx({"serve", "revoke", "--store", store_, "--vault", "notes", "c"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  Write("c", "c2.txt", "c2");
  ProcessRun refused = Hx({"sync", "push", Vault("c")});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("KC_SYNC_AUTH_FAILED"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("revoked"), std::string::npos) << refused.output;
  // The others go on.
  ProcessRun pull = Hx({"sync", "pull", Vault("a")});
  EXPECT_EQ(pull.exit_code, 0) << pull.output;
  ProcessRun devices = Hx({"--json", "serve", "devices", "--store", store_, "--vault", "notes"});
  EXPECT_NE(devices.output.find("\"revoked\":true"), std::string::npos) << devices.output;
}

TEST_F(HubAuthProcessTest, ACodeUsedTwiceIsRefused) {
  const std::string code = Enroll("writer");
  ASSERT_EQ(InitWith("a", code).exit_code, 0);
  ProcessRun again = InitWith("b", code);
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already used"), std::string::npos) << again.output;
}

// Hands out a token that is already expired (minted by a hub whose tokens
// live 1 ms) until the caller forces a refresh, which comes from a hub of
// the default lifetime. The expiry is certain, not a race with the hub's
// clock, and so is the refreshed token's validity (it used to be a token of
// 1 s that a loaded machine could let expire before its first use, or before
// the retry that refreshed it).
class ExpiredThenFreshTokens final : public TokenSource {
 public:
  ExpiredThenFreshTokens(std::string expired, std::shared_ptr<DeviceTokenSource> fresh)
      : current_(std::move(expired)), fresh_(std::move(fresh)) {}
  Result<std::string> Token(std::int64_t now_ms, bool force) override {
    if (force) {
      ++forced_;
      HX_ASSIGN_OR_RETURN(current_, fresh_->Token(now_ms, /*force=*/true));
    }
    return current_;
  }
  int forced() const { return forced_; }

 private:
  std::string current_;
  std::shared_ptr<DeviceTokenSource> fresh_;
  int forced_ = 0;
};

TEST_F(HubAuthProcessTest, ATokenThatExpiredAtTheHubIsRefreshedWithoutTheCallerNoticing) {
  ASSERT_EQ(InitWith("a", Enroll("writer")).exit_code, 0);
  const fs::path credential_file =
      fs::path(Vault("a")) / ".hx" / std::string(kHubCredentialFileName);
  Result<DeviceCredential> credential = ReadDeviceCredential(Env::Default(), credential_file);
  ASSERT_TRUE(credential.ok()) << credential.error().ToShortString();
  // A second hub over the same store (the same token key) whose tokens live
  // 1 ms; wait until the wall clock is past any token it issued.
  Result<std::unique_ptr<HubProcess>> short_lived =
      HubProcess::Start({"--store", store_, "--insecure-listen", "127.0.0.1:0"},
                        {{"HX_TEST_HUB_TOKEN_LIFETIME_MS", "1"}});
  ASSERT_TRUE(short_lived.ok()) << short_lived.error().ToShortString();
  DeviceTokenSource stale_source(std::move(credential).value(),
                                 MakeHttpHubAuthTransport((*short_lived)->url()));
  Result<std::string> expired = stale_source.Token(RealClock::Get().WallMs(), false);
  ASSERT_TRUE(expired.ok()) << expired.error().ToShortString();
  const std::int64_t issued_by = RealClock::Get().WallMs();
  while (RealClock::Get().WallMs() <= issued_by + 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  Result<DeviceCredential> again = ReadDeviceCredential(Env::Default(), credential_file);
  ASSERT_TRUE(again.ok());
  auto fresh = std::make_shared<DeviceTokenSource>(std::move(again).value(),
                                                   MakeHttpHubAuthTransport(hub_->url()));
  auto tokens = std::make_shared<ExpiredThenFreshTokens>(*expired, fresh);
  Result<hx::Target> target = ParseTargetUri(target_, {}, "/");
  ASSERT_TRUE(target.ok());
  HubStoreOptions options;
  options.tokens = tokens;
  Result<std::unique_ptr<Store>> store = MakeHubStore(*target, options);
  ASSERT_TRUE(store.ok());
  const Bytes bytes = {'x'};
  // The hub refuses the expired token (401); the store fetches a new one
  // and retries: the caller sees a success.
  Status first = (*store)->Put("probe/one", bytes);
  ASSERT_TRUE(first.ok()) << first.error().ToShortString();
  EXPECT_EQ(tokens->forced(), 1);
  EXPECT_EQ(fresh->fetches(), 1);
  // The refreshed token is kept: no further refresh.
  Status second = (*store)->Put("probe/two", bytes);
  ASSERT_TRUE(second.ok()) << second.error().ToShortString();
  EXPECT_EQ(tokens->forced(), 1);
  EXPECT_EQ(fresh->fetches(), 1);
}

}  // namespace
}  // namespace hx::hub

namespace hx::hub {
namespace {

// hx serve --key-file (hub/auth/hub_key.h): the token key stays outside the
// store, so a reader of the store cannot mint tokens; devices enroll, push
// and pull as before, and a key file others may read is refused at start.
TEST(HubKeyFileProcessTest, WithAKeyFileTheStoreHoldsNoTokenKeyAndDevicesStillSync) {
  TempDir dir("hub_key_file");
  const fs::path store = dir.path() / "store";
  const fs::path key = dir.path() / "hub.key";
  fs::create_directories(store);
  std::ofstream(key) << std::string(64, 'c') << "\n";
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  Result<std::unique_ptr<HubProcess>> hub = HubProcess::Start(
      {"--store", store.string(), "--insecure-listen", "127.0.0.1:0", "--key-file", key.string()});
  ASSERT_TRUE(hub.ok()) << hub.error().ToShortString();
  auto hx = [](std::vector<std::string> args) {
    return RunProcess(HxBinary(), args, {"HX_PASSPHRASE=", "HX_HUB_KEY="});
  };
  const ProcessRun enroll = hx({"serve", "enroll", "--store", store.string(), "--vault", "notes",
                                "--key-file", key.string()});
  ASSERT_EQ(enroll.exit_code, 0) << enroll.output;
  std::string code = enroll.output;
  while (!code.empty() && code.back() == '\n') code.pop_back();
  code = code.substr(code.rfind('\n') + 1);
  const fs::path vault = dir.path() / "a";
  const ProcessRun init = hx({"sync", "init", vault.string(), "hx://" + (*hub)->address() + "/notes",
                              "--enroll", code, "--no-encryption"});
  ASSERT_EQ(init.exit_code, 0) << init.output;
  std::ofstream(vault / "a.txt") << "a";
  const ProcessRun push = hx({"sync", "push", vault.string()});
  ASSERT_EQ(push.exit_code, 0) << push.output;
  EXPECT_TRUE(fs::exists(store / "_hub" / "notes" / "devices"));
  EXPECT_FALSE(fs::exists(store / "_hub" / "notes" / "token-key.json"));

  fs::permissions(key, fs::perms::group_read, fs::perm_options::add);
  const fs::path err = dir.path() / "refused.stderr";
  Result<std::unique_ptr<HubProcess>> refused = HubProcess::Start(
      {"--store", store.string(), "--insecure-listen", "127.0.0.1:0", "--key-file", key.string()},
      {}, err.string());
  ASSERT_FALSE(refused.ok());
  std::ifstream in(err);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("chmod 600"), std::string::npos) << text;
}

}  // namespace
}  // namespace hx::hub
