// A store that lies by losing or rolling back its records — a head.json
// restored from a backup and then built on, a deleted head.json, a deleted
// vault.json — and devices that notice, repair and lose nothing. Run
// against every store kind a test binary lists in ScenarioStores(), like
// sync_scenarios_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

using ::testing::HasSubstr;

// Bytes no other file shares, so that their chunks are recorded only by the
// snapshot that first published them.
std::string UniqueBytes(std::size_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  const auto random = SeededRandom(seed);
  random(std::span(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  return out;
}

class StoreRecoveryTest : public StoreScenarioTest {};

// A pushes s1 and s2; the store's head.json is restored to the s1 copy; B,
// who only saw s1, pushes s3 (seq 2, like s2: the replay guard cannot tell).
// A's pull merges s3 like a concurrent change, A's next push re-publishes
// what s3 lacks — chunks included, since only the abandoned s2 located
// them — and a fresh device C gets every file with the right bytes.
TEST_P(StoreRecoveryTest, AHeadRolledBackThenForkedLosesNothingForAFreshDevice) {
  auto a = NewDevice("a");
  a->Write("shared.txt", "one");
  a->Write("keep.bin", UniqueBytes(200'000, 1));
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  const std::string s1_head = StoreObject("head.json");
  ASSERT_FALSE(s1_head.empty());

  a->Write("shared.txt", "one, edited by a");
  a->Write("only-in-s2.bin", UniqueBytes(300'000, 2));
  a->Remove("keep.bin");
  a->Write("keep.bin", UniqueBytes(250'000, 3));
  HX_ASSERT_OK(a->Push(Tick()));

  store_->Overwrite("head.json", s1_head);  // restored from a backup
  b->Write("from-b.txt", "b never saw s2");
  auto forked = b->Push(Tick());
  HX_ASSERT_OK(forked);
  EXPECT_EQ(forked->outcome, "published");
  EXPECT_EQ(forked->head_seq, 2u);

  // A has not pulled: its push is a divergence, nothing published.
  a->Write("after.txt", "a's next change");
  auto refused = a->Push(Tick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kConflict);

  auto merged = a->Pull(Tick());
  HX_ASSERT_OK(merged);
  EXPECT_EQ(merged->outcome, "applied");
  EXPECT_EQ(a->Read("from-b.txt"), "b never saw s2");
  // Nothing of s2 was undone on A.
  EXPECT_EQ(a->Read("shared.txt"), "one, edited by a");
  EXPECT_EQ(a->Read("only-in-s2.bin"), UniqueBytes(300'000, 2));
  EXPECT_EQ(a->Read("keep.bin"), UniqueBytes(250'000, 3));

  auto republished = a->Push(Tick());
  HX_ASSERT_OK(republished);
  EXPECT_EQ(republished->outcome, "published");
  // s2's versions are published again as they were (not as new edits: the
  // folder did not change), and their chunks uploaded again.
  EXPECT_GE(republished->bytes_uploaded, 500'000u);
  EXPECT_EQ(a->Push(Tick())->outcome, "up_to_date");

  HX_ASSERT_OK(b->Pull(Tick()));
  auto c = NewDevice("c");
  auto fresh = c->Pull(Tick());
  HX_ASSERT_OK(fresh);
  ASSERT_FALSE(fresh->error) << fresh->error->ToShortString();
  EXPECT_EQ(c->Read("only-in-s2.bin"), UniqueBytes(300'000, 2));
  EXPECT_EQ(c->Read("keep.bin"), UniqueBytes(250'000, 3));
  EXPECT_EQ(c->Read("shared.txt"), "one, edited by a");
  EXPECT_EQ(c->Read("from-b.txt"), "b never saw s2");
  EXPECT_EQ(c->Read("after.txt"), "a's next change");
  EXPECT_EQ(c->Snapshot(), a->Snapshot());
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

// The same, when the fork's seq is below what A saw: the replay guard
// refuses it (a store may replay an old head on purpose), the user says
// the store was restored with `hx sync repair`, and nothing is lost.
TEST_P(StoreRecoveryTest, AHeadRolledBelowWhatADeviceSawNeedsRepairThenLosesNothing) {
  auto a = NewDevice("a");
  a->Write("f.txt", "v1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  const std::string s1_head = StoreObject("head.json");
  a->Write("f.txt", "v2");
  HX_ASSERT_OK(a->Push(Tick()));
  a->Write("g.bin", UniqueBytes(150'000, 4));
  HX_ASSERT_OK(a->Push(Tick()));  // seq 3

  store_->Overwrite("head.json", s1_head);
  b->Write("b.txt", "b");
  HX_ASSERT_OK(b->Push(Tick()));  // seq 2 < 3

  const auto expect_replay = [](const Error& e) {
    EXPECT_EQ(e.code, SyncCode::kStateFailed) << e.ToShortString();
    EXPECT_THAT(e.message, HasSubstr("hx sync repair"));
  };
  auto pulled = a->Pull(Tick());
  ASSERT_FALSE(pulled.ok());
  expect_replay(pulled.error());
  a->Write("more.txt", "more");
  auto pushed = a->Push(Tick());
  ASSERT_FALSE(pushed.ok());
  expect_replay(pushed.error());
  auto repaired = a->Repair(Tick());
  HX_ASSERT_OK(repaired);
  EXPECT_EQ(repaired->head, "rollback_accepted");
  EXPECT_EQ(repaired->vault_json, "ok");
  HX_ASSERT_OK(a->Pull(Tick()));
  EXPECT_EQ(a->Read("b.txt"), "b");
  EXPECT_EQ(a->Read("f.txt"), "v2");
  HX_ASSERT_OK(a->Push(Tick()));

  auto c = NewDevice("c");
  auto fresh = c->Pull(Tick());
  HX_ASSERT_OK(fresh);
  ASSERT_FALSE(fresh->error) << fresh->error->ToShortString();
  EXPECT_EQ(c->Read("g.bin"), UniqueBytes(150'000, 4));
  EXPECT_EQ(c->Snapshot(), a->Snapshot());
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

// A deleted head.json on a store this device synced with is an error with
// the repair hint — never "up to date", never an internal error — for
// status, pull and push; repair publishes the device's last synced head
// again (the same bytes), and syncing goes on.
TEST_P(StoreRecoveryTest, ADeletedHeadIsAnErrorUntilRepairPublishesItAgain) {
  auto a = NewDevice("a");
  a->Write("f.txt", "v1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  a->Write("f.txt", "v2");
  HX_ASSERT_OK(a->Push(Tick()));
  const std::string lost = StoreObject("head.json");
  store_->Remove("head.json");

  const auto expect_lost = [](const Error& e) {
    EXPECT_EQ(e.code, SyncCode::kStateFailed) << e.ToShortString();
    EXPECT_EQ(e.category, Category::kNotFound);
    EXPECT_THAT(e.message, HasSubstr("hx sync repair"));
  };
  auto status = a->Status(Tick());
  ASSERT_FALSE(status.ok());
  expect_lost(status.error());
  auto pulled = a->Pull(Tick());
  ASSERT_FALSE(pulled.ok());
  expect_lost(pulled.error());
  auto unchanged = a->Push(Tick());  // nothing to publish
  ASSERT_FALSE(unchanged.ok());
  expect_lost(unchanged.error());
  a->Write("g.txt", "new");
  auto changed = a->Push(Tick());  // something to publish
  ASSERT_FALSE(changed.ok());
  expect_lost(changed.error());
  EXPECT_TRUE(StoreObject("head.json").empty());

  auto repaired = a->Repair(Tick());
  HX_ASSERT_OK(repaired);
  EXPECT_EQ(repaired->head, "republished");
  EXPECT_EQ(repaired->head_seq, 2u);
  EXPECT_EQ(StoreObject("head.json"), lost);
  auto again = a->Repair(Tick());
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->head, "ok");

  HX_ASSERT_OK(a->Push(Tick()));
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Read("f.txt"), "v2");
  EXPECT_EQ(b->Read("g.txt"), "new");
  EXPECT_EQ(b->Snapshot(), a->Snapshot());
}

// The device that repairs a deleted head may have seen less than another:
// B re-publishes s1; A, who saw s2, is refused as for a replay, accepts it
// with its own repair, and A's s2 reaches B.
TEST_P(StoreRecoveryTest, ADeletedHeadRepairedByABehindDeviceLosesNothing) {
  auto a = NewDevice("a");
  a->Write("f.txt", "v1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  a->Write("f.txt", "v2");
  a->Write("new.bin", UniqueBytes(120'000, 5));
  HX_ASSERT_OK(a->Push(Tick()));
  store_->Remove("head.json");

  auto by_b = b->Repair(Tick());
  HX_ASSERT_OK(by_b);
  EXPECT_EQ(by_b->head, "republished");
  EXPECT_EQ(by_b->head_seq, 1u);
  auto refused = a->Pull(Tick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kStateFailed);
  auto by_a = a->Repair(Tick());
  HX_ASSERT_OK(by_a);
  EXPECT_EQ(by_a->head, "rollback_accepted");
  HX_ASSERT_OK(a->Pull(Tick()));
  HX_ASSERT_OK(a->Push(Tick()));
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Read("f.txt"), "v2");
  EXPECT_EQ(b->Read("new.bin"), UniqueBytes(120'000, 5));
  auto c = NewDevice("c");
  HX_ASSERT_OK(c->Pull(Tick()));
  EXPECT_EQ(c->Snapshot(), a->Snapshot());
}

// A deleted vault.json: every device points to `hx sync repair` (not to
// init), a device without the key cannot write it back, one with the
// passphrase or the cached key writes back the very same bytes, and a new
// device can then join.
TEST_P(StoreRecoveryTest, ADeletedVaultJsonIsWrittenBackByADeviceWithTheKey) {
  auto a = NewDevice("a");
  a->Write("f.txt", "v1");
  HX_ASSERT_OK(a->Push(Tick()));
  auto b = NewDevice("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  const std::string lost = StoreObject("vault.json");
  ASSERT_FALSE(lost.empty());
  store_->Remove("vault.json");

  auto pulled = a->Pull(Tick());
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(pulled.error().category, Category::kNotFound);
  EXPECT_THAT(pulled.error().message, HasSubstr("hx sync repair"));
  EXPECT_THAT(pulled.error().message, ::testing::Not(HasSubstr("run hx sync init")));

  // B without its cached key and with a wrong passphrase: refused.
  std::filesystem::remove(b->vault() / ".hx" / "key");
  b->passphrase = "not the passphrase";
  auto wrong = b->Repair(Tick());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, SyncCode::kKeyMismatch);
  EXPECT_TRUE(StoreObject("vault.json").empty());
  // With the passphrase it can.
  b->passphrase = "correct horse battery staple";
  auto by_b = b->Repair(Tick());
  HX_ASSERT_OK(by_b);
  EXPECT_EQ(by_b->vault_json, "rewritten");
  EXPECT_EQ(by_b->head, "ok");
  EXPECT_EQ(StoreObject("vault.json"), lost);

  // And with the cached key (A), after another loss.
  store_->Remove("vault.json");
  auto by_a = a->Repair(Tick());
  HX_ASSERT_OK(by_a);
  EXPECT_EQ(by_a->vault_json, "rewritten");
  EXPECT_EQ(StoreObject("vault.json"), lost);

  a->Write("f.txt", "v2");
  HX_ASSERT_OK(a->Push(Tick()));
  HX_ASSERT_OK(b->Pull(Tick()));
  EXPECT_EQ(b->Read("f.txt"), "v2");
  auto c = NewDevice("c");
  HX_ASSERT_OK(c->Pull(Tick()));
  EXPECT_EQ(c->Snapshot(), a->Snapshot());
}

INSTANTIATE_TEST_SUITE_P(Store, StoreRecoveryTest, ::testing::ValuesIn(ScenarioStores()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace hx::testing
