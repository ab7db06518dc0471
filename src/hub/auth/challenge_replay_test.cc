// A signed challenge is single-use: the defect was that a challenge and its
// signature, seen once (on the wire, in a proxy's log), could be traded for
// fresh tokens again and again for its 60 s, on any hub over the store.
// Trading it now claims its id in the store (PutIfAbsent), so a replay is
// refused here, through another hub over the same store, and when many
// trades race; a refused trade (a wrong signature) burns nothing; old claims
// are pruned.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hub/auth/hub_auth.h"
#include "hub/auth/auth_test_util.h"
#include "store/memory_store.h"
#include "store/store_test_util.h"

namespace hx::hub {
namespace {

using auth_testing::AsBytes;
using auth_testing::kDay;
using auth_testing::kT0;
using auth_testing::StoreKind;

// A signed answer to a challenge, as a device sends it (and as an
// eavesdropper would keep it).
struct SignedChallenge {
  std::string device_id;
  std::string challenge;
  Ed25519Signature signature{};
};

class ChallengeReplayTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    hub_a_ = std::make_unique<HubAuth>(*store_);
    hub_b_ = std::make_unique<HubAuth>(*store_);
    Result<Enrollment> code = hub_a_->CreateEnrollment("notes", Role::kWriter, kDay, kT0);
    ASSERT_TRUE(code.ok()) << code.error().ToShortString();
    Result<DeviceRecord> device = hub_a_->Register(
        "notes", {.code = code->code, .public_key = pair_.public_key, .name = "laptop",
                  .platform = "linux"},
        kT0);
    ASSERT_TRUE(device.ok()) << device.error().ToShortString();
    device_id_ = device->device_id;
  }

  SignedChallenge Sign(HubAuth& issuer, std::int64_t now_ms,
                       const Ed25519KeyPair* pair = nullptr) {
    Result<std::string> challenge = issuer.IssueChallenge("notes", device_id_, now_ms);
    EXPECT_TRUE(challenge.ok()) << challenge.error().ToShortString();
    SignedChallenge out{device_id_, *challenge, {}};
    const std::string message = ChallengeMessage("notes", device_id_, out.challenge);
    out.signature = Ed25519Sign((pair ? *pair : pair_).secret_key, AsBytes(message));
    return out;
  }

  static Result<IssuedToken> Trade(HubAuth& hub, const SignedChallenge& signed_challenge,
                                   std::int64_t now_ms) {
    return hub.ExchangeChallenge("notes", signed_challenge.device_id, signed_challenge.challenge,
                                 signed_challenge.signature, now_ms);
  }

  std::vector<std::string> Claims() {
    Result<std::vector<StoreObjectInfo>> listed = store_->List(HubKey("notes", "challenges/"));
    EXPECT_TRUE(listed.ok());
    std::vector<std::string> keys;
    for (const StoreObjectInfo& info : *listed) keys.push_back(info.key);
    return keys;
  }

  static void ExpectReplayRefused(const Result<IssuedToken>& traded) {
    ASSERT_FALSE(traded.ok());
    EXPECT_EQ(traded.error().code, SyncCode::kAuthFailed) << traded.error().ToShortString();
    EXPECT_EQ(traded.error().category, Category::kAuth);
    EXPECT_NE(traded.error().message.find("already traded"), std::string::npos)
        << traded.error().message;
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<HubAuth> hub_a_;
  std::unique_ptr<HubAuth> hub_b_;
  const Ed25519KeyPair pair_ = NewEd25519KeyPair();
  std::string device_id_;
};

TEST_P(ChallengeReplayTest, ASignedChallengeTradedTwiceOnOneHubIsRefused) {
  const SignedChallenge seen = Sign(*hub_a_, kT0 + 1000);
  Result<IssuedToken> first = Trade(*hub_a_, seen, kT0 + 1000);
  ASSERT_TRUE(first.ok()) << first.error().ToShortString();
  ExpectReplayRefused(Trade(*hub_a_, seen, kT0 + 2000));
  // The device itself logs in again with a new challenge.
  EXPECT_TRUE(Trade(*hub_a_, Sign(*hub_a_, kT0 + 3000), kT0 + 3000).ok());
}

TEST_P(ChallengeReplayTest, AReplayThroughAnotherHubOverTheSameStoreIsRefused) {
  const SignedChallenge seen = Sign(*hub_a_, kT0 + 1000);
  ASSERT_TRUE(Trade(*hub_a_, seen, kT0 + 1000).ok());
  ExpectReplayRefused(Trade(*hub_b_, seen, kT0 + 1500));
  // And the other way round: issued by B, traded at B, replayed at A.
  const SignedChallenge at_b = Sign(*hub_b_, kT0 + 2000);
  ASSERT_TRUE(Trade(*hub_b_, at_b, kT0 + 2000).ok());
  ExpectReplayRefused(Trade(*hub_a_, at_b, kT0 + 2000));
}

TEST_P(ChallengeReplayTest, ManyConcurrentTradesOfOneChallengeHaveExactlyOneWinner) {
  constexpr int kRounds = 8;
  constexpr int kTraders = 6;
  for (int round = 0; round < kRounds; ++round) {
    const std::int64_t now = kT0 + 1000 * (round + 1);
    const SignedChallenge seen = Sign(*hub_a_, now);
    std::atomic<int> winners{0};
    std::atomic<int> replays{0};
    std::vector<std::thread> traders;
    for (int i = 0; i < kTraders; ++i) {
      HubAuth& hub = i % 2 == 0 ? *hub_a_ : *hub_b_;
      traders.emplace_back([&, now] {
        Result<IssuedToken> traded = Trade(hub, seen, now);
        if (traded.ok()) {
          winners.fetch_add(1);
        } else if (traded.error().message.find("already traded") != std::string::npos) {
          replays.fetch_add(1);
        }
      });
    }
    for (std::thread& t : traders) t.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(replays.load(), kTraders - 1) << "round " << round;
  }
}

TEST_P(ChallengeReplayTest, ARefusedTradeDoesNotBurnTheChallenge) {
  const Ed25519KeyPair thief = NewEd25519KeyPair();
  SignedChallenge forged = Sign(*hub_a_, kT0 + 1000, &thief);
  ASSERT_FALSE(Trade(*hub_a_, forged, kT0 + 1000).ok());
  EXPECT_TRUE(Claims().empty());
  // The same challenge, signed by the device, still works once.
  const std::string message = ChallengeMessage("notes", device_id_, forged.challenge);
  forged.signature = Ed25519Sign(pair_.secret_key, AsBytes(message));
  EXPECT_TRUE(Trade(*hub_b_, forged, kT0 + 1000).ok());
  EXPECT_EQ(Claims().size(), 1u);
}

TEST_P(ChallengeReplayTest, ClaimsOlderThanAnyHubWouldHonourArePrunedRecentOnesKept) {
  ASSERT_TRUE(Trade(*hub_a_, Sign(*hub_a_, kT0), kT0).ok());
  ASSERT_EQ(Claims().size(), 1u);
  // Within a challenge's life plus two clock skews the claim is kept.
  const std::int64_t keep_until = kT0 + kChallengeLifetimeMs + 2 * kMaxClockSkewMs;
  ASSERT_TRUE(Trade(*hub_a_, Sign(*hub_a_, keep_until), keep_until).ok());
  EXPECT_EQ(Claims().size(), 2u);
  // Past it (and past the prune's once-a-minute throttle), the first goes.
  const std::int64_t later = keep_until + kChallengeLifetimeMs + 1;
  ASSERT_TRUE(Trade(*hub_a_, Sign(*hub_a_, later), later).ok());
  const std::vector<std::string> left = Claims();
  EXPECT_EQ(left.size(), 2u);
  for (const std::string& key : left) {
    EXPECT_EQ(key.find(HubKey("notes", "challenges/") + "000" + std::to_string(kT0)),
              std::string::npos)
        << key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Stores, ChallengeReplayTest,
    auth_testing::StoreKinds(), auth_testing::StoreKindName);

}  // namespace
}  // namespace hx::hub
