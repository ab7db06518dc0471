// Held conflicts (sync/hold.h), the engine side of the agent's "a conflict
// under policy none pauses only its paths": a pull with hold_conflicts
// applies everything but the conflicting paths, a push on that base
// publishes this device's other changes and the store's version at the held
// paths, the conflict stays a conflict for the commands, and a policy pull
// resolves it as it would have without the agent.
#include <gtest/gtest.h>

#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

class HeldConflictsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MakeFolderStoreFixture();
    a_ = std::make_unique<Device>(*store_, "a");
    HX_ASSERT_OK(a_->Init(Tick()));
    b_ = std::make_unique<Device>(*store_, "b");
    HX_ASSERT_OK(b_->Init(Tick()));
    a_->Write("report.txt", "v1");
    a_->Write("notes/keep.txt", "untouched");
    HX_ASSERT_OK(a_->Push(Tick()));
    HX_ASSERT_OK(b_->Pull(Tick()));
    // Both edit report.txt; each also changes something else.
    a_->Write("report.txt", "from a");
    a_->Write("from-a.txt", "a's other change");
    HX_ASSERT_OK(a_->Push(Tick()));
    b_->Write("report.txt", "from b");
    b_->Write("from-b.txt", "b's other change");
  }
  SyncOptions Holding(Device& d) {
    SyncOptions o = d.options(Tick());
    o.hold_conflicts = true;
    return o;
  }
  std::int64_t Tick() { return now_ += 1000; }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_, b_;
  std::int64_t now_ = 1'700'000'000'000;
};

TEST_F(HeldConflictsTest, APullHoldsOnlyTheConflictingPathAndAppliesTheRest) {
  // Without holding, policy none stops the whole pull.
  auto refused = b_->Pull(Tick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kConflict);
  EXPECT_FALSE(b_->Exists("from-a.txt"));

  auto held = SyncPull(b_->vault(), Holding(*b_));
  HX_ASSERT_OK(held);
  EXPECT_EQ(held->held, std::vector<std::string>{"report.txt"});
  EXPECT_EQ(held->ToJson()["held"], nlohmann::json::array({"report.txt"}));
  EXPECT_EQ(b_->Read("from-a.txt"), "a's other change");
  EXPECT_EQ(b_->Read("report.txt"), "from b");  // untouched
}

TEST_F(HeldConflictsTest, APushOnAHoldingBasePublishesTheOtherChangesAndTheStoresVersionThere) {
  HX_ASSERT_OK(SyncPull(b_->vault(), Holding(*b_)));
  // The commands still see the conflict: a plain push is refused.
  auto plain = b_->Push(Tick());
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, SyncCode::kConflict);

  auto pushed = SyncPush(b_->vault(), Holding(*b_));
  HX_ASSERT_OK(pushed);
  EXPECT_EQ(pushed->outcome, "published");
  EXPECT_EQ(pushed->changes.paths, std::vector<std::string>{"from-b.txt"});
  HX_ASSERT_OK(a_->Pull(Tick()));
  EXPECT_EQ(a_->Read("from-b.txt"), "b's other change");
  EXPECT_EQ(a_->Read("report.txt"), "from a");  // the store kept a's version
  EXPECT_EQ(b_->Read("report.txt"), "from b");  // b's stays on b, unpublished

  // Still a conflict on b: held again, and only that.
  auto again = SyncPull(b_->vault(), Holding(*b_));
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->held, std::vector<std::string>{"report.txt"});
  // Nothing else to publish: the push says behind (the held path waits).
  auto nothing = SyncPush(b_->vault(), Holding(*b_));
  HX_ASSERT_OK(nothing);
  EXPECT_EQ(nothing->outcome, "behind");
}

TEST_F(HeldConflictsTest, APolicyPullResolvesAHeldConflictAsWithoutTheAgent) {
  HX_ASSERT_OK(SyncPull(b_->vault(), Holding(*b_)));
  HX_ASSERT_OK(SyncPush(b_->vault(), Holding(*b_)));
  SyncOptions keep_both = b_->options(Tick());
  keep_both.auto_merge = MergePolicy::kKeepBoth;
  auto resolved = SyncPull(b_->vault(), keep_both);
  HX_ASSERT_OK(resolved);
  ASSERT_EQ(resolved->resolutions.size(), 1u);
  EXPECT_TRUE(resolved->held.empty());
  HX_ASSERT_OK(b_->Push(Tick()));  // a plain push works again
  HX_ASSERT_OK(a_->Pull(Tick()));
  EXPECT_EQ(a_->Snapshot(), b_->Snapshot());
  std::vector<std::string> versions;
  for (const auto& [path, entry] : a_->Snapshot()) versions.push_back(entry);
  EXPECT_NE(std::find(versions.begin(), versions.end(), "file:from a"), versions.end());
  EXPECT_NE(std::find(versions.begin(), versions.end(), "file:from b"), versions.end());
}

}  // namespace
}  // namespace hx::testing
