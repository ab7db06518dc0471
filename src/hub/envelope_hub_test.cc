// The envelope endpoints' logic without sockets (hub/envelope_hub.h): the
// routes' paths, the apply body, the hub's item set, the dry-run diff and
// the apply plan under each seed-003 policy.
#include "hub/envelope_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "hub/testing/envelope_test_util.h"

namespace hx::hub {
namespace {

using ::testing::HasSubstr;
using testing::DamagedFileItem;
using testing::DirectoryItem;
using testing::FileItem;
using testing::MakeEnvelope;

const std::string kId(64, 'a');

LocalItem HubVersion(const EnvelopeItem& item) {
  return {item.item_type, item.item_id, item.updated_utc, item.content_hash};
}

HubItems ItemsOf(const std::vector<EnvelopeItem>& items) {
  HubItems out;
  for (const EnvelopeItem& item : items) out[item.item_id] = HubVersion(item);
  return out;
}

const EnvelopeApplyItem& StatusOf(const HubApplyPlan& plan, const std::string& id) {
  for (const EnvelopeApplyItem& item : plan.report.items) {
    if (item.item_id == id) return item;
  }
  ADD_FAILURE() << "no item " << id;
  static const EnvelopeApplyItem kNone;
  return kNone;
}

HubApplyRequest Policy(MergePolicy policy, std::map<std::string, Side> decisions = {}) {
  return {policy, std::move(decisions)};
}

// ------------------------------------------------------------ routes

TEST(EnvelopeRoute, ParsesEveryRoute) {
  EXPECT_EQ(ParseEnvelopeRoute("POST", "v1/envelopes")->op, EnvelopeOp::kUpload);
  EXPECT_EQ(ParseEnvelopeRoute("GET", "v1/items")->op, EnvelopeOp::kItems);
  const Result<EnvelopeRoute> diff = ParseEnvelopeRoute("GET", "v1/envelopes/" + kId + "/diff");
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->op, EnvelopeOp::kDiff);
  EXPECT_EQ(diff->vault, "v1");
  EXPECT_EQ(diff->id, kId);
  EXPECT_FALSE(diff->writes());
  const Result<EnvelopeRoute> apply =
      ParseEnvelopeRoute("POST", "v1/envelopes/" + kId + "/apply");
  ASSERT_TRUE(apply.ok());
  EXPECT_TRUE(apply->writes());
  EXPECT_EQ(ParseEnvelopeRoute("GET", "v1/reports/" + kId)->op, EnvelopeOp::kReport);
}

TEST(EnvelopeRoute, TraversalBadIdsAndUnknownPathsAreRefusedWithInputInvalid) {
  struct Case {
    std::string method, rest;
    Category category;
  };
  const std::vector<Case> cases = {
      {"GET", "v1/reports/../../token-key.json", Category::kInvalidInput},
      {"GET", "v1/reports/..", Category::kInvalidInput},
      {"GET", "v1/reports/" + std::string(63, 'a'), Category::kInvalidInput},
      {"GET", "v1/reports/" + std::string(64, 'A'), Category::kInvalidInput},
      {"GET", "v1/envelopes/%2e%2e/diff", Category::kInvalidInput},
      {"GET", "../envelopes/" + kId + "/diff", Category::kInvalidInput},
      {"GET", "_hub/items", Category::kInvalidInput},
      {"GET", "Vault/items", Category::kInvalidInput},
      {"GET", "v1/reports/" + kId + "/x", Category::kNotFound},
      {"GET", "v1/envelopes/" + kId + "/delete", Category::kNotFound},
      {"GET", "v1", Category::kNotFound},
      {"GET", "", Category::kNotFound},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rest);
    const Result<EnvelopeRoute> route = ParseEnvelopeRoute(c.method, c.rest);
    ASSERT_FALSE(route.ok());
    EXPECT_EQ(route.error().code, SyncCode::kInputInvalid);
    EXPECT_EQ(route.error().category, c.category);
  }
}

TEST(EnvelopeRoute, AnotherMethodOnAKnownPathIs405) {
  const Result<EnvelopeRoute> route = ParseEnvelopeRoute("GET", "v1/envelopes");
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.error().details.at("http_status"), "405");
  EXPECT_THAT(route.error().message, HasSubstr("POST"));
}

// ------------------------------------------------------------ apply body

TEST(ApplyRequest, ReadsThePolicyAndTheDecisions) {
  const Result<HubApplyRequest> request = ParseApplyRequest(
      R"({"policy":"manual_per_item","decisions":{"a/b.txt":"local","c":"cloud"}})");
  ASSERT_TRUE(request.ok()) << request.error().ToShortString();
  EXPECT_EQ(request->policy, MergePolicy::kManualPerItem);
  EXPECT_EQ(request->decisions.at("a/b.txt"), Side::kLocal);
  EXPECT_EQ(request->decisions.at("c"), Side::kCloud);
  EXPECT_EQ(ParseApplyRequest(R"({"policy":"local_preferred"})")->policy,
            MergePolicy::kLocalPreferred);
}

TEST(ApplyRequest, MalformedBodiesAreRefusedNamingWhatIsWrong) {
  struct Case {
    std::string body, says;
    SyncCode code = SyncCode::kInputInvalid;
  };
  const std::vector<Case> cases = {
      {"", "offset"},
      {"{", "offset"},
      {"[]", "object"},
      {R"({"policy":1})", "policy"},
      {R"({"policy":"local_preferred","extra":1})", "extra"},
      {R"({"policy":"conservative"})", "conservative", SyncCode::kMergePolicyUnsupported},
      {R"({"policy":"nonsense"})", "nonsense"},
      {R"({"policy":"manual_per_item","decisions":[]})", "decisions"},
      {R"({"policy":"manual_per_item","decisions":{"a":"both"}})", "\"local\""},
      {R"({"policy":"manual_per_item","decisions":{"a":1}})", "a"},
      {R"({"policy":"manual_per_item","decisions":{"../etc":"local"}})", "item_id"},
      {R"({"policy":"cloud_preferred","decisions":{"a":"local"}})", "manual_per_item"},
      {R"({"policy":"local_preferred","policy":"cloud_preferred"})", "duplicate"},
      {R"({"policy":"manual_per_item","decisions":{"a":{"b":{"c":1}}}})", "nesting"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const Result<HubApplyRequest> request = ParseApplyRequest(c.body);
    ASSERT_FALSE(request.ok());
    if (c.code == SyncCode::kInputInvalid) {
      EXPECT_TRUE(request.error().code == SyncCode::kInputInvalid ||
                  request.error().code == SyncCode::kMergePolicyUnsupported)
          << request.error().ToShortString();
    } else {
      EXPECT_EQ(request.error().code, c.code);
    }
    EXPECT_THAT(request.error().ToShortString(), HasSubstr(c.says));
  }
}

TEST(ApplyRequest, AHugeBodyIsRefusedAs413BeforeParsing) {
  const Result<HubApplyRequest> request =
      ParseApplyRequest(std::string(kMaxApplyBodyBytes + 1, ' '));
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().details.at("http_status"), "413");
}

// ------------------------------------------------------------ item set

TEST(HubItemSet, RoundTripsAndADamagedObjectIsStateFailed) {
  const HubItems items = ItemsOf({FileItem("a", "1"), DirectoryItem("d")});
  const Result<std::string> bytes = EncodeHubItems(items);
  ASSERT_TRUE(bytes.ok());
  const Result<HubItems> back = ParseHubItems(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(back->at("a").content_hash, items.at("a").content_hash);
  for (const std::string bad :
       {"", "{}", R"({"format_version":2,"items":[]})",
        R"({"format_version":1,"items":[{"item_id":"a","item_type":"file","updated_utc":"2026-02-12T07:55:00Z","content_hash":"x"}]})",
        R"({"format_version":1,"items":[{"item_id":"../a","item_type":"file","updated_utc":"2026-02-12T07:55:00Z","content_hash":"x"}]})"}) {
    SCOPED_TRACE(bad);
    const Result<HubItems> parsed = ParseHubItems(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(parsed.error().category, Category::kCorrupt);
  }
}

// ------------------------------------------------------------ diff

TEST(HubDiff, ClassifiesNewChangedConflictUnchangedHubOnlyAndInvalidByTypeIdAndHash) {
  const HubItems hub = ItemsOf({FileItem("conflict", "hub"), FileItem("same", "s"),
                                FileItem("typed", "file"), FileItem("zz-hub-only", "h")});
  const Envelope envelope =
      MakeEnvelope({FileItem("conflict", "app"), DamagedFileItem("damaged"), FileItem("new", "n"),
                    FileItem("same", "s"), DirectoryItem("typed")});
  const nlohmann::json diff = HubDiffJson(hub, envelope, "v", kId);
  EXPECT_EQ(diff["summary"]["new"], 2);  // "new" and "damaged"
  EXPECT_EQ(diff["summary"]["conflicts"], 1);
  EXPECT_EQ(diff["summary"]["changed"], 1);
  EXPECT_EQ(diff["summary"]["unchanged"], 1);
  EXPECT_EQ(diff["summary"]["hub_only"], 1);
  EXPECT_EQ(diff["summary"]["invalid"], 1);
  EXPECT_EQ(diff["hub_only"], nlohmann::json::array({"zz-hub-only"}));
  for (const nlohmann::json& item : diff["items"]) {
    if (item["item_id"] == "conflict") {
      EXPECT_EQ(item["change"], "conflict");
      EXPECT_EQ(item["hub_content_hash"], hub.at("conflict").content_hash);
    }
    if (item["item_id"] == "typed") {
      EXPECT_EQ(item["hub_item_type"], "file");
    }
    if (item["item_id"] == "damaged") {
      EXPECT_EQ(item["content_hash_ok"], false);
    }
  }
}

// ------------------------------------------------------------ apply

class HubApplyTest : public ::testing::Test {
 protected:
  const EnvelopeItem hub_a_ = FileItem("a.txt", "the hub's a");
  const EnvelopeItem app_a_ = FileItem("a.txt", "the app's a");
  const EnvelopeItem hub_b_ = FileItem("b.txt", "the hub's b");
  const EnvelopeItem app_b_ = FileItem("b.txt", "the app's b");
  const EnvelopeItem same_ = FileItem("same.txt", "same");
  const EnvelopeItem new_ = FileItem("z-new.txt", "new");
  const HubItems hub_ = ItemsOf({hub_a_, hub_b_, same_});
  const Envelope envelope_ = MakeEnvelope({app_a_, app_b_, same_, new_});
};

TEST_F(HubApplyTest, LocalPreferredReplacesTheHubsVersionAndArchivesItAsCloud) {
  Result<HubApplyPlan> plan =
      PlanHubApply(hub_, envelope_, Policy(MergePolicy::kLocalPreferred));
  ASSERT_TRUE(plan.ok()) << plan.error().ToShortString();
  FinishHubApply(*plan);
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "updated");
  EXPECT_EQ(StatusOf(*plan, "a.txt").archived, "a.txt.cloud");
  EXPECT_EQ(StatusOf(*plan, "same.txt").status, "skipped");
  EXPECT_EQ(StatusOf(*plan, "z-new.txt").status, "created");
  EXPECT_EQ(plan->next.at("a.txt").content_hash, app_a_.content_hash);
  EXPECT_EQ(plan->next.at("z-new.txt").content_hash, new_.content_hash);
  ASSERT_EQ(plan->archived.size(), 2u);
  EXPECT_EQ(plan->archived[0].side, Side::kCloud);
  EXPECT_EQ(plan->archived[0].version.content_hash, hub_a_.content_hash);
  EXPECT_EQ(plan->report.summary, (ItemSummary{1, 2, 1, 0, 0}));
  EXPECT_EQ(plan->report.outcome, "applied");
  EXPECT_FALSE(plan->report.error.has_value());
}

TEST_F(HubApplyTest, CloudPreferredKeepsTheHubsVersionAndArchivesTheAppsAsLocal) {
  Result<HubApplyPlan> plan =
      PlanHubApply(hub_, envelope_, Policy(MergePolicy::kCloudPreferred));
  ASSERT_TRUE(plan.ok());
  FinishHubApply(*plan);
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "skipped");
  EXPECT_EQ(StatusOf(*plan, "a.txt").archived, "a.txt.local");
  EXPECT_EQ(plan->next.at("a.txt").content_hash, hub_a_.content_hash);
  ASSERT_EQ(plan->archived.size(), 2u);
  EXPECT_EQ(plan->archived[0].side, Side::kLocal);
  EXPECT_EQ(plan->archived[0].version.content_hash, app_a_.content_hash);
  EXPECT_EQ(plan->report.summary, (ItemSummary{1, 0, 3, 0, 0}));
  // The archived envelope versions' contents are kept too.
  EXPECT_EQ(plan->contents.size(), 3u);
}

TEST_F(HubApplyTest, ManualPerItemFollowsEachDecisionAndLeavesAnUndecidedItemConflicted) {
  Result<HubApplyPlan> plan = PlanHubApply(
      hub_, envelope_, Policy(MergePolicy::kManualPerItem, {{"a.txt", Side::kLocal}}));
  ASSERT_TRUE(plan.ok());
  FinishHubApply(*plan);
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "updated");
  EXPECT_EQ(StatusOf(*plan, "b.txt").status, "conflicted");
  EXPECT_FALSE(StatusOf(*plan, "b.txt").archived.has_value());
  EXPECT_EQ(plan->next.at("b.txt").content_hash, hub_b_.content_hash) << "not guessed";
  EXPECT_EQ(StatusOf(*plan, "z-new.txt").status, "created");
  EXPECT_EQ(plan->report.outcome, "needs_decisions");
  ASSERT_TRUE(plan->report.error.has_value());
  EXPECT_EQ(plan->report.error->code, SyncCode::kConflict);
  EXPECT_EQ(plan->report.summary, (ItemSummary{1, 1, 1, 1, 0}));

  plan = PlanHubApply(hub_, envelope_,
                      Policy(MergePolicy::kManualPerItem,
                             {{"a.txt", Side::kCloud}, {"b.txt", Side::kLocal}}));
  ASSERT_TRUE(plan.ok());
  FinishHubApply(*plan);
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "skipped");
  EXPECT_EQ(StatusOf(*plan, "a.txt").archived, "a.txt.local");
  EXPECT_EQ(StatusOf(*plan, "b.txt").status, "updated");
  EXPECT_EQ(plan->report.outcome, "applied");
}

TEST_F(HubApplyTest, ADecisionForAnItemThatDoesNotDifferIsRefused) {
  for (const std::string id : {"same.txt", "z-new.txt", "absent.txt"}) {
    SCOPED_TRACE(id);
    const Result<HubApplyPlan> plan =
        PlanHubApply(hub_, envelope_, Policy(MergePolicy::kManualPerItem, {{id, Side::kLocal}}));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.error().code, SyncCode::kInputInvalid);
    EXPECT_EQ(plan.error().details.at("item_id"), id);
  }
  EXPECT_EQ(PlanHubApply(hub_, envelope_, Policy(MergePolicy::kKeepBoth)).error().code,
            SyncCode::kMergePolicyUnsupported);
}

TEST_F(HubApplyTest, AnotherItemTypeAtTheSameIdIsDecidedLikeAConflict) {
  const Envelope envelope = MakeEnvelope({DirectoryItem("a.txt")});
  Result<HubApplyPlan> plan = PlanHubApply(hub_, envelope, Policy(MergePolicy::kLocalPreferred));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(StatusOf(*plan, "a.txt").change, "changed");
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "updated");
  EXPECT_EQ(plan->next.at("a.txt").item_type, "directory");
}

TEST_F(HubApplyTest, ADamagedItemFailsAloneAndTheOthersApply) {
  const Envelope envelope = MakeEnvelope({app_a_, DamagedFileItem("bad.txt"), new_});
  Result<HubApplyPlan> plan = PlanHubApply(hub_, envelope, Policy(MergePolicy::kLocalPreferred));
  ASSERT_TRUE(plan.ok());
  FinishHubApply(*plan);
  EXPECT_EQ(StatusOf(*plan, "bad.txt").status, "failed");
  EXPECT_EQ(StatusOf(*plan, "bad.txt").error->category, Category::kHashMismatch);
  EXPECT_EQ(plan->next.count("bad.txt"), 0u);
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "updated");
  EXPECT_EQ(StatusOf(*plan, "z-new.txt").status, "created");
  EXPECT_EQ(plan->report.outcome, "partial");
  EXPECT_EQ(plan->report.error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(plan->report.error->details.at("first_item_id"), "bad.txt");
  EXPECT_EQ(plan->report.summary, (ItemSummary{1, 1, 0, 0, 1}));
}

TEST_F(HubApplyTest, AnItemBeyondTheItemBoundFailsAndTheOthersApply) {
  const Envelope envelope = MakeEnvelope({app_a_, FileItem("y.txt", "y"), new_});
  Result<HubApplyPlan> plan =
      PlanHubApply(hub_, envelope, Policy(MergePolicy::kLocalPreferred), /*max_items=*/4);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(StatusOf(*plan, "y.txt").status, "created");
  EXPECT_EQ(StatusOf(*plan, "z-new.txt").status, "failed");
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "updated") << "a replacement needs no room";
  EXPECT_EQ(plan->next.size(), 4u);
}

TEST_F(HubApplyTest, AnItemWhoseContentCannotBeStoredFailsAndItsChangeIsUndone) {
  Result<HubApplyPlan> plan =
      PlanHubApply(hub_, envelope_, Policy(MergePolicy::kLocalPreferred));
  ASSERT_TRUE(plan.ok());
  FailHubApplyItem(*plan, hub_, envelope_, 0, Error(SyncCode::kNetworkFailed, Category::kNetwork,
                                                    "the store is gone"));
  FailHubApplyItem(*plan, hub_, envelope_, 3, Error(SyncCode::kNetworkFailed, Category::kNetwork,
                                                    "the store is gone"));
  FinishHubApply(*plan);
  EXPECT_EQ(StatusOf(*plan, "a.txt").status, "failed");
  EXPECT_FALSE(StatusOf(*plan, "a.txt").archived.has_value());
  EXPECT_EQ(plan->next.at("a.txt").content_hash, hub_a_.content_hash);
  EXPECT_EQ(plan->next.count("z-new.txt"), 0u);
  ASSERT_EQ(plan->archived.size(), 1u);
  EXPECT_EQ(plan->archived[0].name, "b.txt.cloud");
  EXPECT_EQ(plan->report.outcome, "partial");
}

}  // namespace
}  // namespace hx::hub
