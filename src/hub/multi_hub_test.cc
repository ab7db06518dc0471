// Several hubs over one S3 bucket (issue 16: "the hub is stateless; S3 is the
// distributed engine"): two real `hx serve` processes over the same moto
// bucket, as behind a load balancer. Proven here:
//   - a device enrolled through hub A gets tokens that hub B verifies (one
//     token key in the bucket), and a token altered by one byte is refused;
//   - conditional writes of head.json through A and through B at once never
//     both win: N seeded rounds, exactly one winner each, and the head holds
//     the winner's bytes;
//   - a signed challenge traded through A cannot be traded again through B;
//   - a revocation (hx serve revoke on the bucket) stops the device on B
//     within one token lifetime: no token is issued to it after the
//     revocation, so it runs at most on the one it held
//     (HX_TEST_HUB_TOKEN_LIFETIME_MS shortens tokens to 2 s for that test
//     only: a token handed around by hand must not expire on a loaded
//     machine between its fetch and its use).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/process_test_util.h"
#include "base/temp_dir_test_util.h"
#include "hub/testing/hub_process.h"
#include "os/real_clock.h"
#include "store/hub/device_credential.h"
#include "store/hub/hub_store.h"
#include "store/s3/testing/moto_server.h"
#include "store/target_uri.h"

namespace hx::hub {
namespace {

using hx::testing::ProcessRun;
using hx::testing::RunProcess;
using testing::HubProcess;
using testing::HxBinary;

constexpr char kVault[] = "notes";
constexpr int kTokenLifetimeMs = 2000;

std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::int64_t WallMs() { return RealClock::Get().WallMs(); }

// A token source that always hands out one given token.
class FixedToken final : public TokenSource {
 public:
  explicit FixedToken(std::string token) : token_(std::move(token)) {}
  Result<std::string> Token(std::int64_t, bool) override { return token_; }

 private:
  std::string token_;
};

class MultiHubTest : public ::testing::Test {
 protected:
  // `token_lifetime_ms`: the hubs' token lifetime, 0 for their default.
  explicit MultiHubTest(int token_lifetime_ms = 0) : token_lifetime_ms_(token_lifetime_ms) {}

  void SetUp() override {
    s3::testing::MotoServer& moto = s3::testing::SharedMotoServer();
    const std::string bucket = moto.NewBucket();
    store_args_ = {"--store", "s3+endpoint://" + bucket + "/hubs", "--endpoint", moto.endpoint(),
                   "--path-style", "--region", s3::testing::MotoServer::kRegion};
    aws_env_ = {{"AWS_ACCESS_KEY_ID", moto.credentials().access_key_id},
                {"AWS_SECRET_ACCESS_KEY", moto.credentials().secret_access_key}};
    for (std::unique_ptr<HubProcess>* hub : {&hub_a_, &hub_b_}) {
      std::vector<std::string> args = store_args_;
      args.insert(args.end(), {"--insecure-listen", "127.0.0.1:0"});
      std::vector<std::pair<std::string, std::string>> env = aws_env_;
      if (token_lifetime_ms_ > 0) {
        env.emplace_back("HX_TEST_HUB_TOKEN_LIFETIME_MS", std::to_string(token_lifetime_ms_));
      }
      Result<std::unique_ptr<HubProcess>> started = HubProcess::Start(args, env);
      ASSERT_TRUE(started.ok()) << started.error().ToShortString();
      *hub = std::move(started).value();
    }
  }

  // `hx serve <admin...>` on the bucket, as an administrator runs it.
  ProcessRun Admin(const std::vector<std::string>& admin) {
    std::vector<std::string> args = {"serve"};
    args.insert(args.end(), admin.begin(), admin.end());
    args.insert(args.end(), store_args_.begin(), store_args_.end());
    std::vector<std::string> env;
    for (const auto& [name, value] : aws_env_) env.push_back(name + "=" + value);
    return RunProcess(HxBinary(), args, env);
  }

  // A writer enrolled through `hub` with a fresh code.
  DeviceCredential EnrollThrough(const HubProcess& hub, const std::string& name) {
    const ProcessRun run = Admin({"enroll", "--vault", kVault, "--role", "writer"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::string out = run.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    const std::string code = out.substr(out.rfind('\n') + 1);
    auto transport = MakeHttpHubAuthTransport(hub.url());
    Result<DeviceCredential> credential = EnrollDevice(
        *transport, {.vault = kVault, .code = code, .name = name, .platform = "linux"});
    EXPECT_TRUE(credential.ok()) << credential.error().ToShortString();
    return std::move(credential).value();
  }

  static std::shared_ptr<DeviceTokenSource> TokensFrom(const HubProcess& hub,
                                                       const DeviceCredential& credential) {
    DeviceCredential copy{credential.vault, credential.device_id, credential.role,
                          credential.seed.Clone()};
    return std::make_shared<DeviceTokenSource>(std::move(copy),
                                               MakeHttpHubAuthTransport(hub.url()));
  }

  static std::unique_ptr<Store> StoreOn(const HubProcess& hub,
                                        std::shared_ptr<TokenSource> tokens) {
    Result<Target> target = ParseTargetUri("hx://" + hub.address() + "/" + kVault, {}, "/");
    EXPECT_TRUE(target.ok());
    HubStoreOptions options;
    options.tokens = std::move(tokens);
    Result<std::unique_ptr<Store>> store = MakeHubStore(*target, options);
    EXPECT_TRUE(store.ok()) << store.error().ToShortString();
    return std::move(store).value();
  }

  const int token_lifetime_ms_;
  std::vector<std::string> store_args_;
  std::vector<std::pair<std::string, std::string>> aws_env_;
  std::unique_ptr<HubProcess> hub_a_;
  std::unique_ptr<HubProcess> hub_b_;
};

TEST_F(MultiHubTest, ADeviceEnrolledThroughOneHubHasItsTokensVerifiedByTheOther) {
  const DeviceCredential device = EnrollThrough(*hub_a_, "laptop");
  Result<std::string> token = TokensFrom(*hub_a_, device)->Token(WallMs(), false);
  ASSERT_TRUE(token.ok()) << token.error().ToShortString();

  std::unique_ptr<Store> on_b = StoreOn(*hub_b_, std::make_shared<FixedToken>(*token));
  const Bytes bytes = {'b'};
  Status put = on_b->Put("probe/from-a-token", bytes);
  ASSERT_TRUE(put.ok()) << put.error().ToShortString();
  Result<Bytes> back = StoreOn(*hub_a_, std::make_shared<FixedToken>(*token))
                           ->Get("probe/from-a-token", 16);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, bytes);

  // One hex digit of the tag changed: B refuses it.
  std::string altered = *token;
  altered.back() = altered.back() == '0' ? '1' : '0';
  Status forged = StoreOn(*hub_b_, std::make_shared<FixedToken>(altered))->Put("probe/x", bytes);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, SyncCode::kAuthFailed) << forged.error().ToShortString();
}

TEST_F(MultiHubTest, ConcurrentConditionalWritesOfTheHeadThroughTwoHubsNeverBothWin) {
  constexpr int kRounds = 24;
  std::mt19937_64 rng(20261206);
  const DeviceCredential a_device = EnrollThrough(*hub_a_, "a");
  const DeviceCredential b_device = EnrollThrough(*hub_b_, "b");
  std::unique_ptr<Store> via_a = StoreOn(*hub_a_, TokensFrom(*hub_a_, a_device));
  std::unique_ptr<Store> via_b = StoreOn(*hub_b_, TokensFrom(*hub_b_, b_device));
  Result<StoreVersion> first = via_a->PutIfAbsent("head.json", AsBytes("{\"round\":-1}"));
  ASSERT_TRUE(first.ok()) << first.error().ToShortString();

  for (int round = 0; round < kRounds; ++round) {
    Result<std::pair<Bytes, StoreVersion>> head = via_b->GetVersioned("head.json", 4096);
    ASSERT_TRUE(head.ok()) << head.error().ToShortString();
    const std::string a_body = "{\"round\":" + std::to_string(round) + ",\"by\":\"a\",\"r\":" +
                               std::to_string(rng()) + "}";
    const std::string b_body = "{\"round\":" + std::to_string(round) + ",\"by\":\"b\",\"r\":" +
                               std::to_string(rng()) + "}";
    // Which side is started first is seeded; both wait on one flag.
    const bool a_first = (rng() & 1) != 0;
    std::atomic<bool> go{false};
    Result<StoreVersion> a_result = InternalError("not run");
    Result<StoreVersion> b_result = InternalError("not run");
    auto write = [&](Store& store, const std::string& body, Result<StoreVersion>& out) {
      while (!go.load()) std::this_thread::yield();
      out = store.PutIfMatch("head.json", AsBytes(body), head->second);
    };
    std::vector<std::thread> writers;
    if (a_first) writers.emplace_back(write, std::ref(*via_a), a_body, std::ref(a_result));
    writers.emplace_back(write, std::ref(*via_b), b_body, std::ref(b_result));
    if (!a_first) writers.emplace_back(write, std::ref(*via_a), a_body, std::ref(a_result));
    go.store(true);
    for (std::thread& t : writers) t.join();

    ASSERT_EQ(a_result.ok() + b_result.ok(), 1)
        << "round " << round << ": a " << (a_result.ok() ? "won" : a_result.error().ToShortString())
        << ", b " << (b_result.ok() ? "won" : b_result.error().ToShortString());
    const Result<StoreVersion>& loser = a_result.ok() ? b_result : a_result;
    EXPECT_EQ(loser.error().category, Category::kAborted) << loser.error().ToShortString();
    Result<std::pair<Bytes, StoreVersion>> now = via_a->GetVersioned("head.json", 4096);
    ASSERT_TRUE(now.ok());
    const std::string& winner_body = a_result.ok() ? a_body : b_body;
    EXPECT_EQ(std::string(now->first.begin(), now->first.end()), winner_body) << "round " << round;
    EXPECT_EQ(now->second, a_result.ok() ? *a_result : *b_result);
  }
}

TEST_F(MultiHubTest, AChallengeTradedThroughOneHubCannotBeTradedAgainThroughTheOther) {
  const DeviceCredential device = EnrollThrough(*hub_a_, "laptop");
  auto to_a = MakeHttpHubAuthTransport(hub_a_->url());
  auto to_b = MakeHttpHubAuthTransport(hub_b_->url());
  Result<std::string> asked = to_a->Post(HubAuthPath(kVault, "challenge"),
                                         nlohmann::json{{"device_id", device.device_id}}.dump());
  ASSERT_TRUE(asked.ok()) << asked.error().ToShortString();
  const std::string challenge = nlohmann::json::parse(*asked)["challenge"].get<std::string>();
  const Ed25519Signature signature = Ed25519Sign(
      device.KeyPair().secret_key, AsBytes(ChallengeMessage(kVault, device.device_id, challenge)));
  const std::string trade = nlohmann::json{{"device_id", device.device_id},
                                           {"challenge", challenge},
                                           {"signature", ToHex(signature)}}
                                .dump();
  Result<std::string> first = to_a->Post(HubAuthPath(kVault, "token"), trade);
  ASSERT_TRUE(first.ok()) << first.error().ToShortString();
  Result<std::string> replayed = to_b->Post(HubAuthPath(kVault, "token"), trade);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().code, SyncCode::kAuthFailed) << replayed.error().ToShortString();
  EXPECT_NE(replayed.error().message.find("already traded"), std::string::npos)
      << replayed.error().message;
  // And through A again.
  EXPECT_FALSE(to_a->Post(HubAuthPath(kVault, "token"), trade).ok());
}

// Hubs whose tokens live kTokenLifetimeMs, so that a revoked device's last
// token runs out within the test.
class MultiHubShortTokensTest : public MultiHubTest {
 protected:
  MultiHubShortTokensTest() : MultiHubTest(kTokenLifetimeMs) {}
};

TEST_F(MultiHubShortTokensTest, ARevocationStopsTheDeviceOnTheOtherHubWithinOneTokenLifetime) {
  const DeviceCredential device = EnrollThrough(*hub_a_, "phone");
  std::shared_ptr<DeviceTokenSource> tokens = TokensFrom(*hub_b_, device);
  std::unique_ptr<Store> on_b = StoreOn(*hub_b_, tokens);
  const Bytes bytes = {'r'};
  ASSERT_TRUE(on_b->Put("probe/before", bytes).ok());

  const ProcessRun revoke = Admin({"revoke", "--vault", kVault, "phone"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  const int fetched_before = tokens->fetches();

  // The device keeps writing through B; within a generous deadline it is
  // refused. (B may honour the token it already holds until it expires.)
  Status refused;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    refused = on_b->Put("probe/after-" + std::to_string(i), bytes);
    if (!refused.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(refused.ok()) << "hub B still accepts the revoked device after 60 s";
  EXPECT_EQ(refused.error().code, SyncCode::kAuthFailed) << refused.error().ToShortString();
  EXPECT_NE(refused.error().message.find("revoked"), std::string::npos) << refused.error().message;
  // No token was issued to it after the revocation: it ran at most on the
  // one it held, which lives kTokenLifetimeMs.
  EXPECT_EQ(tokens->fetches(), fetched_before);
  // Neither hub lets it log in again.
  for (const HubProcess* hub : {hub_a_.get(), hub_b_.get()}) {
    Result<std::string> again = TokensFrom(*hub, device)->Token(WallMs(), true);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, SyncCode::kAuthFailed);
  }
}

}  // namespace
}  // namespace hx::hub
