// hx sync link (seed 003 first sync): a folder that shares, changes and
// lacks files relative to the vault, under each policy, with exact counts;
// never deleting local data; the dry run; convergence after the link.
#include "sync/link.h"

#include <cerrno>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "json/canonical_json.h"
#include "json/schema_testing.h"
#include "meta/manifest.h"
#include "os/env.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::StoreFixture;
using testing::TempDir;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The vault device A publishes, and a folder B used on its own that shares
// same.txt, changes changed.txt, lacks only_remote.txt and dir/nested.txt,
// adds only_local.txt, and still has gone.txt, which A deleted.
class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.Write("same.txt", "same");
    a_.Write("changed.txt", "cloud version");
    a_.Write("only_remote.txt", "remote");
    a_.Write("dir/nested.txt", "nested remote");
    a_.Write("gone.txt", "to be deleted");
    HX_ASSERT_OK(a_.Init(1000));
    HX_ASSERT_OK(a_.Push(2000));
    a_.Remove("gone.txt");
    HX_ASSERT_OK(a_.Push(3000));

    b_.Write("same.txt", "same");
    b_.Write("changed.txt", "local version");
    b_.Write("only_local.txt", "local");
    b_.Write("gone.txt", "kept");
  }

  Result<LinkReport> Link(MergePolicy policy, std::int64_t now_ms = 5000, bool dry_run = false,
                          std::string decisions = "") {
    LinkOptions link;
    link.policy = policy;
    link.dry_run = dry_run;
    link.decisions_file = std::move(decisions);
    return SyncLink(b_.vault(), b_.options(now_ms), link);
  }

  std::string WriteDecisions(const std::string& json) {
    const fs::path file = files_.path() / "decisions.json";
    std::ofstream(file) << json;
    return file.string();
  }

  static std::map<std::string, std::string> Statuses(const LinkReport& r) {
    std::map<std::string, std::string> out;
    for (const LinkItem& i : r.items) out[i.path] = i.change + "/" + i.status;
    return out;
  }

  std::unique_ptr<StoreFixture> store_ = testing::MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  Device b_{*store_, "b", 2};
  TempDir files_;
};

const std::map<std::string, std::string> kExpectedChanges = {
    {"changed.txt", "changed/updated"},       {"dir", "new_remote/created"},
    {"dir/nested.txt", "new_remote/created"}, {"gone.txt", "deleted_remotely/created"},
    {"only_local.txt", "new_local/created"},  {"only_remote.txt", "new_remote/created"},
    {"same.txt", "unchanged/skipped"}};

TEST_F(LinkTest, LocalPreferredKeepsLocalVersionAndArchivesTheStoresWithExactCounts) {
  Result<LinkReport> r = Link(MergePolicy::kLocalPreferred);
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "linked");
  EXPECT_EQ(Statuses(*r), kExpectedChanges);
  EXPECT_EQ(r->summary, (ItemSummary{.created = 5, .updated = 1, .skipped = 1}));
  EXPECT_EQ(b_.Read("changed.txt"), "local version");
  EXPECT_EQ(b_.Read("only_remote.txt"), "remote");
  EXPECT_EQ(b_.Read("dir/nested.txt"), "nested remote");
  EXPECT_EQ(b_.Read("gone.txt"), "kept");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000/changed.txt.cloud"), "cloud version");
  const LinkItem& changed = r->items.front();
  EXPECT_EQ(changed.winner, Side::kLocal);
  EXPECT_EQ(changed.archived, ".hx/archive/link-5000/changed.txt.cloud");
}

TEST_F(LinkTest, CloudPreferredWritesTheStoresVersionAndArchivesTheLocalOneWithASuffix) {
  Result<LinkReport> r = Link(MergePolicy::kCloudPreferred);
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "linked");
  EXPECT_EQ(Statuses(*r), kExpectedChanges);
  EXPECT_EQ(r->summary, (ItemSummary{.created = 5, .updated = 1, .skipped = 1}));
  EXPECT_EQ(b_.Read("changed.txt"), "cloud version");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000/changed.txt.local"), "local version");
  EXPECT_EQ(b_.Read("gone.txt"), "kept");  // a remote tombstone never deletes at link
}

TEST_F(LinkTest, ManualPerItemWithoutDecisionsAppliesNothing) {
  const auto before = b_.Snapshot();
  Result<LinkReport> r = Link(MergePolicy::kManualPerItem);
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "needs_decisions");
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->code, SyncCode::kConflict);
  EXPECT_EQ(r->summary, (ItemSummary{.skipped = 6, .conflicted = 1}));
  EXPECT_EQ(b_.Snapshot(), before);
  // The link is pending: push refuses (the folder has not synced yet).
  Result<PushReport> push = b_.Push(6000);
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.error().code, SyncCode::kConflict);
}

TEST_F(LinkTest, ManualPerItemAppliesTheDecisionsFileAndFinishesAPendingLink) {
  HX_ASSERT_OK(Link(MergePolicy::kManualPerItem, 5000));
  Result<LinkReport> r =
      Link(MergePolicy::kManualPerItem, 6000, false,
           WriteDecisions(R"({"decisions":{"changed.txt":"remote"},"format_version":1})"));
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "linked");
  EXPECT_EQ(r->summary, (ItemSummary{.created = 5, .updated = 1, .skipped = 1}));
  EXPECT_EQ(b_.Read("changed.txt"), "cloud version");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-6000/changed.txt.local"), "local version");
}

TEST_F(LinkTest, DecisionsNamingAnItemThatDoesNotDifferAreRefused) {
  Result<LinkReport> r =
      Link(MergePolicy::kManualPerItem, 5000, false,
           WriteDecisions(
               R"({"decisions":{"changed.txt":"remote","same.txt":"local"},"format_version":1})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyncCode::kInputInvalid);
}

TEST_F(LinkTest, DryRunChangesNeitherTheFolderNorTheStore) {
  const auto folder = b_.Snapshot();
  const auto objects = store_->Objects();
  for (MergePolicy p :
       {MergePolicy::kLocalPreferred, MergePolicy::kCloudPreferred, MergePolicy::kManualPerItem}) {
    Result<LinkReport> r = Link(p, 5000, true);
    HX_ASSERT_OK(r);
    EXPECT_EQ(r->outcome, "preview");
    EXPECT_FALSE(r->report_file.has_value());
    EXPECT_EQ(r->items.size(), kExpectedChanges.size());
  }
  EXPECT_EQ(b_.Snapshot(), folder);
  EXPECT_FALSE(fs::exists(b_.vault() / ".hx"));
  EXPECT_EQ(store_->Objects(), objects);
}

TEST_F(LinkTest, AfterALinkPushPublishesTheLocalAdditionsAndTheOtherDeviceConverges) {
  HX_ASSERT_OK(Link(MergePolicy::kLocalPreferred));
  Result<PushReport> push = b_.Push(6000);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "published");
  Result<PullReport> pull = a_.Pull(7000);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(a_.Snapshot(), b_.Snapshot());
  EXPECT_EQ(a_.Read("changed.txt"), "local version");
  EXPECT_EQ(a_.Read("gone.txt"), "kept");
  EXPECT_EQ(a_.Read("only_local.txt"), "local");
  // Both are in step now: nothing more moves either way.
  Result<PullReport> again = b_.Pull(8000);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->outcome, "up_to_date");
}

TEST_F(LinkTest, TheReportIsSavedAsCanonicalJson) {
  Result<LinkReport> r = Link(MergePolicy::kCloudPreferred);
  HX_ASSERT_OK(r);
  ASSERT_EQ(r->report_file, ".hx/reports/link_5000.json");
  const std::string saved = ReadAll(b_.vault() / *r->report_file);
  Result<std::string> expected = WriteCanonicalJson(r->ToJson());
  HX_ASSERT_OK(expected);
  EXPECT_EQ(saved, *expected);
  HX_ASSERT_OK(ParseCanonicalJson(saved));
}

TEST_F(LinkTest, EveryReportMatchesItsSchema) {
  constexpr const char* kSchema = "schemas/link_report.schema.json";
  Result<LinkReport> preview = Link(MergePolicy::kCloudPreferred, 4000, true);
  HX_ASSERT_OK(preview);
  EXPECT_TRUE(ValidateAgainstSchema(preview->ToJson(), kSchema));
  Result<LinkReport> waiting = Link(MergePolicy::kManualPerItem, 4500);
  HX_ASSERT_OK(waiting);
  EXPECT_TRUE(ValidateAgainstSchema(waiting->ToJson(), kSchema));
  ASSERT_EQ(::mkfifo((b_.vault() / "only_remote.txt").c_str(), 0644), 0);
  Result<LinkReport> partial = Link(MergePolicy::kCloudPreferred, 5000);
  HX_ASSERT_OK(partial);
  EXPECT_EQ(partial->outcome, "partial");
  EXPECT_TRUE(ValidateAgainstSchema(partial->ToJson(), kSchema));
  fs::remove(b_.vault() / "only_remote.txt");
  Result<LinkReport> linked = Link(MergePolicy::kLocalPreferred, 6000);
  HX_ASSERT_OK(linked);
  EXPECT_EQ(linked->outcome, "linked");
  EXPECT_TRUE(ValidateAgainstSchema(linked->ToJson(), kSchema));
  // The saved copy is the same document.
  Result<nlohmann::json> saved = ParseJson(ReadAll(b_.vault() / *linked->report_file));
  HX_ASSERT_OK(saved);
  EXPECT_TRUE(ValidateAgainstSchema(*saved, kSchema));
}

TEST_F(LinkTest, ASecondLinkOfASyncedVaultIsRefused) {
  HX_ASSERT_OK(Link(MergePolicy::kLocalPreferred));
  Result<LinkReport> again = Link(MergePolicy::kLocalPreferred, 6000);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, SyncCode::kInputInvalid);
}

TEST_F(LinkTest, AnItemThatCannotBeWrittenFailsAloneAndLinkingAgainFinishes) {
  // A FIFO is not synced, so the scan does not see it, but it occupies the
  // path the store's only_remote.txt needs: that item fails, never the FIFO.
  ASSERT_EQ(::mkfifo((b_.vault() / "only_remote.txt").c_str(), 0644), 0);
  Result<LinkReport> r = Link(MergePolicy::kLocalPreferred);
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "partial");
  EXPECT_EQ(r->summary, (ItemSummary{.created = 4, .updated = 1, .skipped = 1, .failed = 1}));
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(r->error->details.at("first_path"), "only_remote.txt");
  EXPECT_EQ(fs::status(b_.vault() / "only_remote.txt").type(), fs::file_type::fifo);
  EXPECT_EQ(b_.Read("dir/nested.txt"), "nested remote");

  fs::remove(b_.vault() / "only_remote.txt");
  Result<LinkReport> again = Link(MergePolicy::kLocalPreferred, 6000);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->outcome, "linked");
  EXPECT_EQ(b_.Read("only_remote.txt"), "remote");
  // What the first run wrote joins as unchanged.
  EXPECT_EQ(Statuses(*again).at("dir/nested.txt"), "unchanged/skipped");
}

// The defect class: names made from the time collided when a command ran
// again in the same millisecond (EEXIST on .hx/archive/link-<ms>/...). The
// rerun archives beside the first run and saves its own report.
TEST_F(LinkTest, ALinkRerunInTheSameMillisecondArchivesBesideTheFirstRun) {
  ASSERT_EQ(::mkfifo((b_.vault() / "only_remote.txt").c_str(), 0644), 0);
  Result<LinkReport> first = Link(MergePolicy::kLocalPreferred, 5000);
  HX_ASSERT_OK(first);
  ASSERT_EQ(first->outcome, "partial");
  EXPECT_EQ(first->report_file, ".hx/reports/link_5000.json");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000/changed.txt.cloud"), "cloud version");

  fs::remove(b_.vault() / "only_remote.txt");
  Result<LinkReport> again = Link(MergePolicy::kLocalPreferred, 5000);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->outcome, "linked") << (again->error ? again->error->ToShortString() : "");
  EXPECT_EQ(again->items.front().archived, ".hx/archive/link-5000-2/changed.txt.cloud");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000-2/changed.txt.cloud"), "cloud version");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000/changed.txt.cloud"), "cloud version");
  EXPECT_EQ(again->report_file, ".hx/reports/link_5000-2.json");
  EXPECT_TRUE(fs::exists(b_.vault() / ".hx/reports/link_5000.json"));
  EXPECT_TRUE(fs::exists(b_.vault() / ".hx/reports/link_5000-2.json"));
  EXPECT_TRUE(ValidateAgainstSchema(again->ToJson(), "schemas/link_report.schema.json"));
}

// A reader device with read-only credentials: the store refuses only this
// device's manifest. The link completes (exit 0) with a warning, as a pull
// does, in the JSON and the text.
TEST_F(LinkTest, ALinkToAReadOnlyStoreCompletesWithAWarningWhenOnlyTheManifestIsRefused) {
  b_.wrap_store = testing::RefuseManifestWrites();
  Result<LinkReport> r = Link(MergePolicy::kLocalPreferred);
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "linked");
  EXPECT_FALSE(r->error.has_value());
  EXPECT_EQ(b_.Read("only_remote.txt"), "remote");
  const nlohmann::json json = r->ToJson();
  testing::ExpectManifestRefusedWarning(r->warnings, r->ToHuman(), json, "linked");
  EXPECT_EQ(r->warnings.at(0).details.at("key"), ManifestKey(r->node_id));
  EXPECT_TRUE(ValidateAgainstSchema(json, "schemas/link_report.schema.json"));
  // The saved report says the same; the folder is linked: the next pull is
  // up to date (and warned again only when it writes the manifest).
  Result<nlohmann::json> saved = ParseJson(ReadAll(b_.vault() / *r->report_file));
  HX_ASSERT_OK(saved);
  EXPECT_EQ(saved->at("warnings").size(), 1u);
  Result<PullReport> pulled = b_.Pull(6000);
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->outcome, "up_to_date");
  // Without a manifest refusal there are no warnings (and no "warnings" key).
  Device c(*store_, "c", 3);
  Result<LinkReport> writable = SyncLink(c.vault(), c.options(7000), LinkOptions{});
  HX_ASSERT_OK(writable);
  EXPECT_TRUE(writable->warnings.empty());
  EXPECT_FALSE(writable->ToJson().contains("warnings"));
}

// Fails every stat of a <vault>/.hx/config.json with `err` (.hx/ cannot be
// looked at: EACCES on the folder, EIO on the disk).
class UnreadableStateEnv final : public EnvWrapper {
 public:
  UnreadableStateEnv(Env& target, int err) : EnvWrapper(target), err_(err) {}
  int StatAt(int dirfd, const char* path, struct stat* st, int flags) override {
    if (std::string_view(path).ends_with("/.hx/config.json")) return err_;
    return EnvWrapper::StatAt(dirfd, path, st, flags);
  }

 private:
  int err_;
};

// The defect class: a failure to look at .hx/ was taken for "not
// initialized" (LocalState::Exists), so init and link went on as if the
// folder were new (or advised "run hx sync init"). It is the error itself:
// KC_SYNC_STATE_FAILED with the errno's category, naming the path.
TEST_F(LinkTest, AStateFolderThatCannotBeLookedAtIsItsErrorNeverNotInitialized) {
  HX_ASSERT_OK(b_.Init(4000));
  for (const int err : {EACCES, EIO}) {
    SCOPED_TRACE(err);
    UnreadableStateEnv env(Env::Default(), err);
    SyncOptions o = b_.options(5000);
    o.env = &env;
    const Category want = err == EACCES ? Category::kAuth : Category::kIo;
    auto check = [&](const Error& e) {
      EXPECT_EQ(e.code, SyncCode::kStateFailed) << e.ToShortString();
      EXPECT_EQ(e.category, want) << e.ToShortString();
      EXPECT_EQ(e.details.at("path"), (b_.vault() / ".hx/config.json").string());
      EXPECT_EQ(e.message.find("hx sync init"), std::string::npos) << e.ToShortString();
    };
    LinkOptions link;
    Result<LinkReport> linked = SyncLink(b_.vault(), o, link);
    ASSERT_FALSE(linked.ok());
    check(linked.error());
    Result<InitReport> init = SyncInit(b_.vault(), o, InitOptions{});
    ASSERT_FALSE(init.ok());
    check(init.error());
    Result<PullReport> pulled = SyncPull(b_.vault(), o);
    ASSERT_FALSE(pulled.ok());
    EXPECT_EQ(pulled.error().category, want) << pulled.error().ToShortString();
    EXPECT_EQ(pulled.error().message.find("hx sync init"), std::string::npos);
  }
}

TEST_F(LinkTest, ALinkNeverWritesThroughASymlinkedParentOrArchive) {
  // The folder's own state exists (init), its archive is a symlink to a
  // folder outside, and "dir" (where the store has dir/nested.txt) is a
  // symlink hidden by .hxignore, so the scan never looks at it.
  HX_ASSERT_OK(b_.Init(4000));
  TempDir outside;
  fs::remove_all(b_.vault() / ".hx/archive");
  fs::create_directory_symlink(outside.path(), b_.vault() / ".hx/archive");
  fs::create_directory_symlink(outside.path(), b_.vault() / "dir");
  b_.Write(".hxignore", ".hxignore\n/dir\n");
  std::int64_t now = 5000;
  // cloud_preferred moves the local changed.txt into the archive;
  // local_preferred writes the store's version there.
  for (const MergePolicy policy : {MergePolicy::kCloudPreferred, MergePolicy::kLocalPreferred}) {
    SCOPED_TRACE(MergePolicyName(policy));
    Result<LinkReport> r = Link(policy, now += 1000);
    HX_ASSERT_OK(r);
    EXPECT_EQ(r->outcome, "partial");
    const auto statuses = Statuses(*r);
    EXPECT_EQ(statuses.at("changed.txt"), "changed/failed");
    EXPECT_EQ(statuses.at("dir/nested.txt"), "new_remote/failed");
    for (const LinkItem& item : r->items) {
      if (item.path == "changed.txt" || item.path == "dir/nested.txt") {
        ASSERT_TRUE(item.error.has_value());
        EXPECT_EQ(item.error->code, SyncCode::kApplyFailed);
        EXPECT_EQ(item.error->category, Category::kConflict) << item.error->ToShortString();
      }
    }
    EXPECT_EQ(b_.Read("changed.txt"), "local version");
    EXPECT_EQ(b_.Read("only_remote.txt"), "remote");
    EXPECT_TRUE(fs::is_empty(outside.path()));
  }
}

TEST_F(LinkTest, AStoreWithoutAVaultIsRefusedAndTheFolderStaysAsItWas) {
  auto empty = testing::MakeFolderStoreFixture();
  Device c(*empty, "c", 3);
  c.Write("x.txt", "x");
  fs::create_directories(empty->TargetUri());
  LinkOptions link;
  Result<LinkReport> r = SyncLink(c.vault(), c.options(1000), link);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyncCode::kTargetInvalid);
  EXPECT_EQ(r.error().category, Category::kNotFound);
  EXPECT_NE(r.error().message.find("hx sync init"), std::string::npos);
  EXPECT_FALSE(fs::exists(c.vault() / ".hx"));
  EXPECT_TRUE(empty->Objects().empty());
}

TEST(LinkEmptyVaultTest, LinkingToAVaultWithNothingPublishedKeepsEverythingForThePush) {
  auto store = testing::MakeFolderStoreFixture();
  Device a(*store, "a", 1);
  Device b(*store, "b", 2);
  HX_ASSERT_OK(a.Init(1000));
  b.Write("x.txt", "x");
  b.Write("d/y.txt", "y");
  Result<LinkReport> r = SyncLink(b.vault(), b.options(2000), LinkOptions{});
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "linked");
  EXPECT_FALSE(r->head_seq.has_value());
  EXPECT_EQ(r->summary, (ItemSummary{.created = 3}));
  HX_ASSERT_OK(b.Push(3000));
  HX_ASSERT_OK(a.Pull(4000));
  EXPECT_EQ(a.Snapshot(), b.Snapshot());
}

TEST_F(LinkTest, OnlyTheThreeFirstSyncPoliciesAreAccepted) {
  Result<LinkReport> r = Link(MergePolicy::kKeepBoth);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyncCode::kMergePolicyUnsupported);
  Result<LinkReport> d = Link(MergePolicy::kLocalPreferred, 5000, false,
                              WriteDecisions(R"({"decisions":{},"format_version":1})"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, SyncCode::kInputInvalid);
}

TEST_F(LinkTest, AFileWhereTheStoreHasADirectoryFollowsThePolicyForTheWholeSubtree) {
  b_.Remove("dir");
  b_.Write("dir", "a local file named dir");
  Result<LinkReport> cloud = Link(MergePolicy::kCloudPreferred, 5000, true);
  HX_ASSERT_OK(cloud);
  EXPECT_EQ(Statuses(*cloud).at("dir"), "changed/updated");
  EXPECT_EQ(Statuses(*cloud).at("dir/nested.txt"), "new_remote/created");

  Result<LinkReport> r = Link(MergePolicy::kLocalPreferred);
  HX_ASSERT_OK(r);
  EXPECT_EQ(Statuses(*r).at("dir"), "changed/updated");
  EXPECT_EQ(Statuses(*r).at("dir/nested.txt"), "changed/updated");
  EXPECT_EQ(b_.Read("dir"), "a local file named dir");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000/dir/nested.txt.cloud"), "nested remote");
}

TEST_F(LinkTest, ALocalDirectoryWhereTheStoreHasAFileIsArchivedWholeUnderCloudPreferred) {
  b_.Remove("changed.txt");
  b_.Write("changed.txt/inner.txt", "inner");
  Result<LinkReport> r = Link(MergePolicy::kCloudPreferred);
  HX_ASSERT_OK(r);
  EXPECT_EQ(r->outcome, "linked");
  EXPECT_EQ(Statuses(*r).at("changed.txt/inner.txt"), "changed/updated");
  EXPECT_EQ(b_.Read("changed.txt"), "cloud version");
  EXPECT_EQ(ReadAll(b_.vault() / ".hx/archive/link-5000/changed.txt.local/inner.txt"), "inner");
}

TEST_F(LinkTest, ADecisionToKeepBothIsRefusedAtLink) {
  Result<LinkReport> r =
      Link(MergePolicy::kManualPerItem, 5000, false,
           WriteDecisions(R"({"decisions":{"changed.txt":"both"},"format_version":1})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(r.error().details.at("item_id"), "changed.txt");
}

}  // namespace
}  // namespace hx
