// Merge policies on one divergent scenario: two devices edit the same file
// (and a few others) concurrently, then one pulls (or pushes) with each
// policy. Each test says what the policy keeps, renames, archives and
// reports, and that the devices converge afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "os/env.h"
#include "os/vault_dir.h"
#include "sync/displace.h"
#include "sync/governance.h"
#include "sync/resolve.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class SyncPolicyTest : public ::testing::Test {
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
  }

  // a edits report.txt and pushes; b edits it too (not yet pushed).
  void Diverge() {
    a_->Write("report.txt", "from a");
    HX_ASSERT_OK(a_->Push(Tick()));
    b_->Write("report.txt", "from b");
  }

  // `env`: the Env of the pull's local calls (null: the process's).
  Result<PullReport> PullB(MergePolicy policy, std::string decisions = "", Env* env = nullptr) {
    SyncOptions o = b_->options(Tick());
    o.auto_merge = policy;
    o.decisions_file = std::move(decisions);
    if (env != nullptr) o.env = env;
    return SyncPull(b_->vault(), o);
  }

  Result<PushReport> PushB(std::optional<MergePolicy> policy) {
    SyncOptions o = b_->options(Tick());
    o.auto_merge = policy;
    return SyncPush(b_->vault(), o);
  }

  // b publishes, a pulls: both folders must then be identical.
  void ExpectConvergence() {
    HX_ASSERT_OK(b_->Push(Tick()));
    HX_ASSERT_OK(a_->Pull(Tick()));
    EXPECT_EQ(a_->Snapshot(), b_->Snapshot());
    // And nothing is left to do on either side.
    auto again = a_->Push(Tick());
    HX_ASSERT_OK(again);
    EXPECT_EQ(again->outcome, "up_to_date");
    auto b_again = b_->Pull(Tick());
    HX_ASSERT_OK(b_again);
    EXPECT_EQ(b_again->outcome, "up_to_date");
  }

  std::string WriteDecisions(const std::string& json) {
    const fs::path file = decisions_dir_.path() / "decisions.json";
    std::ofstream(file) << json;
    return file.string();
  }

  std::int64_t Tick() { return now_ += 1000; }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_, b_;
  TempDir decisions_dir_;
  std::int64_t now_ = 1'700'000'000'000;
};

TEST_F(SyncPolicyTest, NoneRefusesWithAConflictAndAppliesNothing) {
  Diverge();
  auto pull = PullB(MergePolicy::kNone);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().code, SyncCode::kConflict);
  EXPECT_EQ(b_->Read("report.txt"), "from b");
  EXPECT_EQ(pull.error().details.count("artifact"), 1u);
}

TEST_F(SyncPolicyTest, KeepBothKeepsTheWinnerUnderItsNameAndTheLoserUnderAConflictName) {
  Diverge();
  auto pull = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(pull->policy, "keep_both");
  ASSERT_EQ(pull->resolutions.size(), 1u);
  const PullResolution& r = pull->resolutions[0];
  EXPECT_EQ(r.path, "report.txt");
  EXPECT_EQ(r.decision, "kept_both");
  EXPECT_EQ(r.status, "applied");
  ASSERT_TRUE(r.renamed_to.has_value());
  EXPECT_THAT(*r.renamed_to, StartsWith("report (conflict "));
  EXPECT_THAT(*r.renamed_to, ::testing::EndsWith(").txt"));
  // Both versions are live, one under each name.
  const std::set<std::string> versions = {b_->Read("report.txt"), b_->Read(*r.renamed_to)};
  EXPECT_EQ(versions, (std::set<std::string>{"from a", "from b"}));
  EXPECT_EQ(b_->Read("notes/keep.txt"), "untouched");
  ExpectConvergence();
  EXPECT_EQ(a_->Read(*r.renamed_to), b_->Read(*r.renamed_to));
}

TEST_F(SyncPolicyTest, KeepBothLetsAnEditSurviveAConcurrentDeletion) {
  a_->Remove("report.txt");
  HX_ASSERT_OK(a_->Push(Tick()));
  b_->Write("report.txt", "edited on b");
  auto pull = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 1u);
  EXPECT_EQ(pull->resolutions[0].decision, "kept_local");
  EXPECT_EQ(b_->Read("report.txt"), "edited on b");
  ExpectConvergence();
  EXPECT_EQ(a_->Read("report.txt"), "edited on b");
}

TEST_F(SyncPolicyTest, KeepBothTakesTheRemoteEditOverALocalDeletion) {
  a_->Write("report.txt", "edited on a");
  HX_ASSERT_OK(a_->Push(Tick()));
  b_->Remove("report.txt");
  auto pull = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 1u);
  EXPECT_EQ(pull->resolutions[0].decision, "kept_remote");
  EXPECT_EQ(b_->Read("report.txt"), "edited on a");
  ExpectConvergence();
}

TEST_F(SyncPolicyTest, KeepBothLosesNothingWhenADirectoryMeetsAFile) {
  // a creates a file "e" while b creates a directory "e" with a file in it.
  a_->Write("e", "a file on a");
  HX_ASSERT_OK(a_->Push(Tick()));
  b_->Write("e/z.txt", "in a directory on b");
  auto pull = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 1u);
  const PullResolution& r = pull->resolutions[0];
  EXPECT_EQ(r.path, "e");
  ASSERT_TRUE(r.renamed_to.has_value());
  // The directory keeps the name; the file is kept beside it.
  EXPECT_EQ(b_->Read("e/z.txt"), "in a directory on b");
  EXPECT_EQ(b_->Read(*r.renamed_to), "a file on a");
  ExpectConvergence();
}

TEST_F(SyncPolicyTest, KeepBothBringsBackADeletedDirectoryThatGotANewFile) {
  a_->Write("d/x.txt", "x");
  HX_ASSERT_OK(a_->Push(Tick()));
  HX_ASSERT_OK(b_->Pull(Tick()));
  a_->Remove("d");
  HX_ASSERT_OK(a_->Push(Tick()));
  b_->Write("d/y.txt", "new on b");
  auto pull = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(b_->Read("d/y.txt"), "new on b");
  EXPECT_FALSE(b_->Exists("d/x.txt"));  // a's deletion stands
  ExpectConvergence();
  EXPECT_EQ(a_->Read("d/y.txt"), "new on b");
}

TEST_F(SyncPolicyTest, CloudPreferredTakesTheStoresVersionAndArchivesTheLocalOne) {
  Diverge();
  auto pull = PullB(MergePolicy::kCloudPreferred);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 1u);
  const PullResolution& r = pull->resolutions[0];
  EXPECT_EQ(r.decision, "kept_remote");
  ASSERT_TRUE(r.archived.has_value());
  EXPECT_THAT(*r.archived, StartsWith(".hx/archive/pull-"));
  EXPECT_THAT(*r.archived, ::testing::EndsWith("-local/report.txt"));
  EXPECT_EQ(b_->Read("report.txt"), "from a");
  EXPECT_EQ(b_->Read(*r.archived), "from b");
  ExpectConvergence();
  EXPECT_EQ(a_->Read("report.txt"), "from a");
}

// A file system without hard links (linkat: EPERM), whose install of the
// store's version into `path` fails with EIO while `fail_install` is set.
class NoHardLinksEnv final : public EnvWrapper {
 public:
  NoHardLinksEnv(Env& target, std::string path) : EnvWrapper(target), path_(std::move(path)) {}
  bool fail_install = false;
  int LinkAt(int, const char*, int, const char*) override { return EPERM; }
  int RenameAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path,
               unsigned flags) override {
    if (fail_install && std::string_view(old_path).starts_with("pull-") && path_ == new_path) {
      return EIO;
    }
    return EnvWrapper::RenameAt(old_dirfd, old_path, new_dirfd, new_path, flags);
  }

 private:
  std::string path_;
};

// Where hard links are unsupported, the losing local version is renamed
// aside first (apply.h); an install that then fails puts it back, so the
// path is not left empty, and the next pull finishes.
TEST_F(SyncPolicyTest, WithoutHardLinksALoserIsRenamedAsideAndPutBackIfTheInstallFails) {
  Diverge();
  NoHardLinksEnv env(Env::Default(), "report.txt");
  env.fail_install = true;
  auto failed = PullB(MergePolicy::kCloudPreferred, "", &env);
  HX_ASSERT_OK(failed);
  ASSERT_TRUE(failed->error.has_value());
  EXPECT_EQ(failed->error->category, Category::kIo) << failed->error->ToShortString();
  ASSERT_EQ(failed->resolutions.size(), 1u);
  EXPECT_EQ(failed->resolutions[0].status, "failed");
  EXPECT_EQ(b_->Read("report.txt"), "from b");

  env.fail_install = false;
  auto pull = PullB(MergePolicy::kCloudPreferred, "", &env);
  HX_ASSERT_OK(pull);
  EXPECT_FALSE(pull->error.has_value()) << pull->error->ToShortString();
  ASSERT_EQ(pull->resolutions.size(), 1u);
  ASSERT_TRUE(pull->resolutions[0].archived.has_value());
  EXPECT_EQ(b_->Read("report.txt"), "from a");
  EXPECT_EQ(b_->Read(*pull->resolutions[0].archived), "from b");
  ExpectConvergence();
}

TEST_F(SyncPolicyTest, WithoutHardLinksKeepBothStillKeepsBoth) {
  Diverge();
  NoHardLinksEnv env(Env::Default(), "report.txt");
  auto pull = PullB(MergePolicy::kKeepBoth, "", &env);
  HX_ASSERT_OK(pull);
  EXPECT_FALSE(pull->error.has_value());
  ASSERT_EQ(pull->resolutions.size(), 1u);
  ASSERT_TRUE(pull->resolutions[0].renamed_to.has_value());
  std::set<std::string> versions = {b_->Read("report.txt"),
                                    b_->Read(*pull->resolutions[0].renamed_to)};
  EXPECT_EQ(versions, (std::set<std::string>{"from a", "from b"}));
  ExpectConvergence();
}

TEST_F(SyncPolicyTest, LocalPreferredKeepsThisDevicesVersionAndArchivesTheStores) {
  Diverge();
  auto pull = PullB(MergePolicy::kLocalPreferred);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 1u);
  const PullResolution& r = pull->resolutions[0];
  EXPECT_EQ(r.decision, "kept_local");
  ASSERT_TRUE(r.archived.has_value());
  EXPECT_THAT(*r.archived, ::testing::EndsWith("-remote/report.txt"));
  EXPECT_EQ(b_->Read("report.txt"), "from b");
  EXPECT_EQ(b_->Read(*r.archived), "from a");
  ExpectConvergence();
  EXPECT_EQ(a_->Read("report.txt"), "from b");
}

TEST_F(SyncPolicyTest, ManualPerItemWithoutDecisionsAppliesNothingAndSaysWhatToDecide) {
  Diverge();
  auto pull = PullB(MergePolicy::kManualPerItem);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().code, SyncCode::kConflict);
  EXPECT_THAT(pull.error().message, HasSubstr("--decisions"));
  EXPECT_EQ(pull.error().details.at("paths"), "report.txt");
  EXPECT_EQ(b_->Read("report.txt"), "from b");
}

TEST_F(SyncPolicyTest, ManualPerItemRefusesMissingAndExtraDecisions) {
  Diverge();
  auto missing = PullB(MergePolicy::kManualPerItem,
                       WriteDecisions(R"({"decisions":{},"format_version":1})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, SyncCode::kMergePreconditionFailed);
  EXPECT_EQ(missing.error().details.at("missing"), "report.txt");
  auto extra = PullB(MergePolicy::kManualPerItem,
                     WriteDecisions(R"({"decisions":{"report.txt":"both","other.txt":"local"},)"
                                    R"("format_version":1})"));
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.error().code, SyncCode::kMergePreconditionFailed);
  EXPECT_EQ(extra.error().details.at("extra"), "other.txt");
  auto malformed = PullB(MergePolicy::kManualPerItem,
                         WriteDecisions(R"({"decisions":{"report.txt":"mine"},"format_version":1})"));
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(b_->Read("report.txt"), "from b");
}

TEST_F(SyncPolicyTest, ManualPerItemAppliesEachPathsChoice) {
  a_->Write("second.txt", "s1");
  HX_ASSERT_OK(a_->Push(Tick()));
  HX_ASSERT_OK(b_->Pull(Tick()));
  a_->Write("second.txt", "second from a");
  Diverge();
  b_->Write("second.txt", "second from b");
  auto pull = PullB(MergePolicy::kManualPerItem,
                    WriteDecisions(R"({"decisions":{"report.txt":"local","second.txt":"remote"},)"
                                   R"("format_version":1})"));
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->resolutions.size(), 2u);
  EXPECT_EQ(pull->resolutions[0].decision, "kept_local");
  EXPECT_EQ(pull->resolutions[1].decision, "kept_remote");
  EXPECT_EQ(b_->Read("report.txt"), "from b");
  EXPECT_EQ(b_->Read("second.txt"), "second from a");
  ExpectConvergence();
}

TEST_F(SyncPolicyTest, ConservativeRefusesOverlappingChangesWithMergeNotSafe) {
  Diverge();
  auto pull = PullB(MergePolicy::kConservative);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().code, SyncCode::kMergeNotSafe);
  EXPECT_EQ(b_->Read("report.txt"), "from b");
}

TEST_F(SyncPolicyTest, ConservativeMergesDisjointChanges) {
  a_->Write("report.txt", "from a");
  HX_ASSERT_OK(a_->Push(Tick()));
  b_->Write("other.txt", "from b");
  auto pull = PullB(MergePolicy::kConservative);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(b_->Read("report.txt"), "from a");
  ExpectConvergence();
}

TEST_F(SyncPolicyTest, ConservativePlusV2RefusesChangesToAPathAnotherDeviceLocked) {
  HX_ASSERT_OK(SyncLockAdd(a_->vault(), a_->options(Tick()), "notes/keep.txt", 3'600'000));
  a_->Write("report.txt", "from a");
  HX_ASSERT_OK(a_->Push(Tick()));
  b_->Write("notes/keep.txt", "edited on b despite the lock");
  auto pull = PullB(MergePolicy::kConservativePlusV2);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().code, SyncCode::kMergeLockConflict);
  EXPECT_EQ(pull.error().details.count("artifact"), 1u);
  EXPECT_EQ(b_->Read("report.txt"), "v1");
  // The plain conservative policy looks only at overlap: disjoint, so merged.
  HX_ASSERT_OK(PullB(MergePolicy::kConservative));
  EXPECT_EQ(b_->Read("report.txt"), "from a");
}

TEST_F(SyncPolicyTest, AReaderMayMergeButNotPublish) {
  auto status = b_->Status(Tick());
  HX_ASSERT_OK(status);
  HX_ASSERT_OK(SyncMemberSetRole(a_->vault(), a_->options(Tick()), status->node_id,
                                 DeviceRole::kReader));
  Diverge();
  auto push = PushB(MergePolicy::kKeepBoth);
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.error().code, SyncCode::kAuthFailed);
  // The merge happened (a reader may pull): both versions are on b.
  std::set<std::string> on_b;
  for (const auto& [path, what] : b_->Snapshot()) on_b.insert(what);
  EXPECT_EQ(on_b.count("file:from a"), 1u);
  EXPECT_EQ(on_b.count("file:from b"), 1u);
  // Nothing was published: a still sees only its own version.
  HX_ASSERT_OK(a_->Pull(Tick()));
  EXPECT_EQ(a_->Read("report.txt"), "from a");
}

TEST_F(SyncPolicyTest, PushWithNoneStillRefusesWhenTheStoreMovedOn) {
  Diverge();
  auto push = PushB(MergePolicy::kNone);
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.error().code, SyncCode::kConflict);
}

TEST_F(SyncPolicyTest, PushWithKeepBothMergesFirstThenPublishes) {
  Diverge();
  auto push = PushB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "published");
  EXPECT_EQ(push->policy, "keep_both");
  ASSERT_TRUE(push->merged.has_value());
  ASSERT_EQ(push->merged->resolutions.size(), 1u);
  HX_ASSERT_OK(a_->Pull(Tick()));
  EXPECT_EQ(a_->Snapshot(), b_->Snapshot());
}

TEST_F(SyncPolicyTest, TheVaultsDefaultPolicyAppliesWithoutAutoMerge) {
  auto set = SyncConfigure(b_->vault(), {.default_merge_policy = MergePolicy::kKeepBoth});
  HX_ASSERT_OK(set);
  EXPECT_TRUE(set->changed);
  EXPECT_EQ(set->default_merge_policy, "keep_both");
  Diverge();
  auto pull = b_->Pull(Tick());
  HX_ASSERT_OK(pull);
  EXPECT_EQ(pull->policy, "keep_both");
  EXPECT_EQ(pull->resolutions.size(), 1u);
  // --auto-merge none still overrides the default.
  auto unchanged = SyncConfigure(b_->vault(), {});
  HX_ASSERT_OK(unchanged);
  EXPECT_FALSE(unchanged->changed);
  EXPECT_EQ(unchanged->default_merge_policy, "keep_both");
}

TEST_F(SyncPolicyTest, AutoMergeNoneOverridesTheVaultsDefault) {
  HX_ASSERT_OK(SyncConfigure(b_->vault(), {.default_merge_policy = MergePolicy::kKeepBoth}));
  Diverge();
  auto pull = PullB(MergePolicy::kNone);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().code, SyncCode::kConflict);
}

TEST_F(SyncPolicyTest, KeepBothResolvesTheSameWayOnThreeDevices) {
  auto c = std::make_unique<Device>(*store_, "c");
  HX_ASSERT_OK(c->Init(Tick()));
  HX_ASSERT_OK(c->Pull(Tick()));
  Diverge();
  c->Write("report.txt", "from c");
  // b and c each resolve against the store in turn.
  auto pb = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pb);
  HX_ASSERT_OK(b_->Push(Tick()));
  SyncOptions o = c->options(Tick());
  o.auto_merge = MergePolicy::kKeepBoth;
  HX_ASSERT_OK(SyncPull(c->vault(), o));
  HX_ASSERT_OK(c->Push(Tick()));
  HX_ASSERT_OK(a_->Pull(Tick()));
  HX_ASSERT_OK(b_->Pull(Tick()));
  EXPECT_EQ(a_->Snapshot(), b_->Snapshot());
  EXPECT_EQ(a_->Snapshot(), c->Snapshot());
  std::set<std::string> contents;
  for (const auto& [path, what] : a_->Snapshot()) contents.insert(what);
  for (const char* v : {"file:from a", "file:from b", "file:from c"}) {
    EXPECT_EQ(contents.count(v), 1u) << v;
  }
}

// Resolving one conflict twice. The first keep_both pull of the divergent
// scenario (run on a copy of b's folder) says which name the losing version
// gets and what it holds; b's folder is then put back as it was before that
// pull, so b meets the same conflict again.
class SameConflictTwiceTest : public SyncPolicyTest {
 protected:
  struct FirstResolution {
    std::string copy;       // the conflict copy's name
    std::string loser;      // what it holds
    std::string winner;     // what report.txt holds
  };

  FirstResolution ResolveOnACopy() {
    Diverge();
    const fs::path saved = saved_.path() / "b";
    fs::copy(b_->vault(), saved, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    FirstResolution first;
    auto pull = PullB(MergePolicy::kKeepBoth);
    EXPECT_TRUE(pull.ok());
    if (!pull.ok() || pull->resolutions.size() != 1 || !pull->resolutions[0].renamed_to) {
      ADD_FAILURE() << "the first keep_both pull did not rename a loser";
      return first;
    }
    first.copy = *pull->resolutions[0].renamed_to;
    first.loser = b_->Read(first.copy);
    first.winner = b_->Read("report.txt");
    // b's own version loses here, so it is the one moved aside as the
    // store's takes its path (displace.h), the step these tests are about.
    EXPECT_EQ(first.loser, "from b");
    fs::remove_all(b_->vault());
    fs::copy(saved, b_->vault(), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    return first;
  }

  // The file names of b's folder (not .hx/) that start with "report (".
  std::set<std::string> Copies() const {
    std::set<std::string> out;
    for (const auto& [path, what] : b_->Snapshot()) {
      if (path.starts_with("report (")) out.insert(path);
    }
    return out;
  }

  TempDir saved_;
};

// The defect: the conflict copy already held this very version (another
// run, or another device with the same edit, resolved the same conflict),
// and the pull failed with KC_SYNC_APPLY_FAILED "File exists" on its name,
// blocking every later sync. The version is already kept there: nothing
// to do.
TEST_F(SameConflictTwiceTest, AConflictCopyThatAlreadyHoldsTheLoserIsReused) {
  const FirstResolution first = ResolveOnACopy();
  ASSERT_FALSE(first.copy.empty());
  b_->Write(first.copy, first.loser);  // the same bytes, another inode
  auto pull = PullB(MergePolicy::kKeepBoth);
  HX_ASSERT_OK(pull);
  ASSERT_FALSE(pull->error.has_value()) << pull->error->ToShortString();
  ASSERT_EQ(pull->resolutions.size(), 1u);
  EXPECT_EQ(pull->resolutions[0].status, "applied");
  EXPECT_EQ(pull->resolutions[0].renamed_to, first.copy);
  EXPECT_EQ(b_->Read("report.txt"), first.winner);
  EXPECT_EQ(b_->Read(first.copy), first.loser);
  EXPECT_EQ(Copies(), (std::set<std::string>{first.copy}));
  ExpectConvergence();
}

// The same where the file system has no hard links (the loser is renamed
// aside, apply.h): the copy already there is reused and report.txt is
// replaced in one rename, never left empty.
TEST_F(SameConflictTwiceTest, WithoutHardLinksACopyThatAlreadyHoldsTheLoserIsReused) {
  const FirstResolution first = ResolveOnACopy();
  ASSERT_FALSE(first.copy.empty());
  b_->Write(first.copy, first.loser);
  NoHardLinksEnv env(Env::Default(), "report.txt");
  auto pull = PullB(MergePolicy::kKeepBoth, "", &env);
  HX_ASSERT_OK(pull);
  ASSERT_FALSE(pull->error.has_value()) << pull->error->ToShortString();
  EXPECT_EQ(b_->Read("report.txt"), first.winner);
  EXPECT_EQ(b_->Read(first.copy), first.loser);
  EXPECT_EQ(Copies(), (std::set<std::string>{first.copy}));
  ExpectConvergence();
}

// The conflict copy's name was taken after the scan by other bytes (a file
// the user made while the pull ran): never replaced; the loser gets the
// next free variant "report (conflict NODE CONTENT 2).txt".
TEST_F(SameConflictTwiceTest, AConflictCopyNameTakenByOtherBytesGetsAFreshVariant) {
  const FirstResolution first = ResolveOnACopy();
  ASSERT_FALSE(first.copy.empty());
  SyncOptions o = b_->options(Tick());
  o.auto_merge = MergePolicy::kKeepBoth;
  o.checkpoint = [&](std::string_view point) {
    if (point == "pull.before_apply") b_->Write(first.copy, "made by the user meanwhile");
  };
  auto pull = SyncPull(b_->vault(), o);
  HX_ASSERT_OK(pull);
  ASSERT_FALSE(pull->error.has_value()) << pull->error->ToShortString();
  ASSERT_EQ(pull->resolutions.size(), 1u);
  ASSERT_TRUE(pull->resolutions[0].renamed_to.has_value());
  const std::string variant = *pull->resolutions[0].renamed_to;
  EXPECT_NE(variant, first.copy);
  EXPECT_THAT(variant, ::testing::EndsWith(" 2).txt"));
  EXPECT_EQ(b_->Read(variant), first.loser);
  EXPECT_EQ(b_->Read(first.copy), "made by the user meanwhile");
  EXPECT_EQ(b_->Read("report.txt"), first.winner);
  ExpectConvergence();
}

// displace.h's conflict_copy rule on its own, for each kind of thing that
// can hold the copy's name: the same content (bytes and executable bit, or
// a symlink's target) is reused; anything else gets the next variant;
// nothing there is ever replaced.
class ConflictCopyDisplaceTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(root() / ".hx/staging"); }
  const fs::path& root() const { return dir_.path(); }
  std::string ReadAt(const std::string& rel) const {
    std::ifstream in(root() / rel, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Replaces `path` by the staged file or symlink `staged` (in .hx/staging),
  // keeping the old version at `copy` by the conflict_copy rule.
  Result<std::string> Replace(const std::string& path, const std::string& staged,
                              const std::string& copy) {
    HX_ASSIGN_OR_RETURN(VaultDir v, VaultDir::Open(Env::Default(), root()));
    HX_ASSIGN_OR_RETURN(VaultSlot slot, v.OpenParent(path, VaultArea::kContent, false));
    HX_ASSIGN_OR_RETURN(Fd staging, v.OpenDir(".hx/staging", VaultArea::kState, false));
    return ReplaceKeeping(v, slot, path, /*old_is_dir=*/false,
                          StagedVersion{staging.get(), staged, /*is_dir=*/false},
                          Displacement{.to = copy, .conflict_copy = true});
  }
  TempDir dir_;
};

TEST_F(ConflictCopyDisplaceTest, ASymlinkCopyWithTheSameTargetIsReused) {
  fs::create_symlink("target-a", root() / "link");
  fs::create_symlink("target-a", root() / "link (conflict aaaaaaaa bbbbbbbb)");
  fs::create_symlink("new", root() / ".hx/staging/s");
  Result<std::string> kept = Replace("link", "s", "link (conflict aaaaaaaa bbbbbbbb)");
  HX_ASSERT_OK(kept);
  EXPECT_EQ(*kept, "link (conflict aaaaaaaa bbbbbbbb)");
  EXPECT_EQ(fs::read_symlink(root() / "link"), "new");
  EXPECT_FALSE(fs::exists(fs::symlink_status(root() / "link (conflict aaaaaaaa bbbbbbbb 2)")));
}

TEST_F(ConflictCopyDisplaceTest, OtherTargetsBytesModesAndDirectoriesGetTheNextVariant) {
  struct Case {
    const char* what;
    std::function<void(const fs::path&)> make_there;  // what holds the copy's name
  };
  const std::vector<Case> cases = {
      {"a symlink to another target",
       [](const fs::path& p) { fs::create_symlink("elsewhere", p); }},
      {"other bytes", [](const fs::path& p) { std::ofstream(p) << "other"; }},
      {"the same bytes, executable",
       [](const fs::path& p) {
         std::ofstream(p) << "old bytes";
         fs::permissions(p, fs::perms::owner_exec, fs::perm_options::add);
       }},
      {"a directory", [](const fs::path& p) { fs::create_directory(p); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    fs::remove_all(root() / "d");
    fs::create_directories(root() / "d");
    std::ofstream(root() / "d/f.txt") << "old bytes";
    c.make_there(root() / "d/f (conflict aaaaaaaa bbbbbbbb).txt");
    std::ofstream(root() / ".hx/staging/s") << "new bytes";
    Result<std::string> kept = Replace("d/f.txt", "s", "d/f (conflict aaaaaaaa bbbbbbbb).txt");
    HX_ASSERT_OK(kept);
    EXPECT_EQ(*kept, "d/f (conflict aaaaaaaa bbbbbbbb 2).txt");
    EXPECT_EQ(ReadAt("d/f.txt"), "new bytes");
    EXPECT_EQ(ReadAt(*kept), "old bytes");
    // What held the name is still there.
    EXPECT_TRUE(fs::exists(fs::symlink_status(root() / "d/f (conflict aaaaaaaa bbbbbbbb).txt")));
  }
}

// Regressions found by the convergence proof (sync_convergence_test.cc):
// two devices with fixed node ids, syncing with keep_both only, end with
// identical folders.
class KeepBothConvergenceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  // A new store with two new devices (node ids from seeds 1 and 2, as in
  // the convergence proof).
  void Start() {
    devices_.clear();
    store_ = MakeFolderStoreFixture();
    for (int i = 0; i < 2; ++i) {
      devices_.push_back(std::make_unique<Device>(*store_, "dev" + std::to_string(i), i + 1));
      HX_ASSERT_OK(devices_.back()->Init(Tick(), /*encrypted=*/false));
    }
  }

  Device& dev(int i) { return *devices_[i]; }

  void Push(int i) {
    SyncOptions o = dev(i).options(Tick());
    o.auto_merge = MergePolicy::kKeepBoth;
    o.allow_mass_delete = true;
    HX_ASSERT_OK(SyncPush(dev(i).vault(), o));
  }

  void Pull(int i) {
    SyncOptions o = dev(i).options(Tick());
    o.auto_merge = MergePolicy::kKeepBoth;
    o.allow_mass_delete = true;
    auto r = SyncPull(dev(i).vault(), o);
    HX_ASSERT_OK(r);
    EXPECT_FALSE(r->error.has_value()) << r->error->ToShortString();
  }

  // The convergence proof's final round: everyone publishes (merging
  // first), then everyone takes the last head.
  void FinalRound() {
    for (int i = 0; i < 2; ++i) Push(i);
    for (int i = 0; i < 2; ++i) Pull(i);
  }

  std::int64_t Tick() { return now_ += 1000; }

  std::unique_ptr<StoreFixture> store_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::int64_t now_ = 1'700'000'000'000;
};

// Found with rapidcheck seed 16251781936324259711: dev1 publishes d/c.txt
// and then removes d; dev0, which never saw d, makes d/c.txt and deletes it
// again, leaving an empty d. dev0's d joins dev1's as the store's version,
// so dev1's removal (which saw that version) is taken everywhere — whether
// or not dev0's push had anything else to publish (it once decided which
// device kept d).
TEST_F(KeepBothConvergenceTest, ADirectoryTwoDevicesMadeAndOneRemovedIsGoneEverywhere) {
  for (const bool other_change : {false, true}) {
    SCOPED_TRACE(other_change ? "dev0 has another change" : "dev0 has no other change");
    Start();
    dev(0).Write("a.txt", "v1 by dev0");
    dev(0).Remove("a.txt");
    Pull(0);
    dev(1).Write("d/c.txt", "v4 by dev1");
    Push(0);
    dev(0).Write("a.txt", "v8 by dev0");
    Push(1);
    dev(1).Remove("d");
    dev(0).Write("d/c.txt", "v12 by dev0");
    if (!other_change) dev(0).Remove("a.txt");
    dev(0).Remove("d/c.txt");
    FinalRound();
    EXPECT_EQ(dev(0).Snapshot(), dev(1).Snapshot());
    EXPECT_FALSE(dev(0).Exists("d"));
    EXPECT_EQ(dev(1).Exists("a.txt"), other_change);
  }
}

}  // namespace
}  // namespace hx::testing
