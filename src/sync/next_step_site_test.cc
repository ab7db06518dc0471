// Every error site that knows better than its code's generic next step sets
// its own (base/next_steps.h): each row below makes the situation happen
// for real and checks the next step the user is shown. A site that forgets
// its hint (or sets another's) fails here; that every named command exists
// is checked by the CLI's test (src/cli/cli_test.cc).
#include <sys/stat.h>

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "agent/agent_status.h"
#include "base/next_steps.h"
#include "meta/lock.h"
#include "sync/governance.h"
#include "sync/link.h"
#include "sync/local_state.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

// Two devices of one vault, for the situations to happen in.
struct Scene {
  std::unique_ptr<StoreFixture> store = MakeFolderStoreFixture();
  Device a{*store, "a", 1};
  Device b{*store, "b", 2};
  Scene() {
    EXPECT_TRUE(a.Init(1000).ok());
    EXPECT_TRUE(b.Init(1000).ok());
  }
};

// The error of a failed result, or of a partial report.
template <typename R>
Error FailureOf(const Result<R>& result) {
  if (!result.ok()) return result.error();
  if constexpr (requires { result->error; }) {
    if (result->error) return *result->error;
  }
  ADD_FAILURE() << "the operation succeeded";
  return Error();
}

struct SiteCase {
  std::string site;
  SyncCode code;
  std::string_view next_step;
  std::function<Error(Scene&)> trigger;
};

std::vector<SiteCase> Sites() {
  return {
      {"partial_pull", SyncCode::kApplyFailed, next_steps::kPartialPull,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());
         // Damage the first bytes of the pack: the file's chunk, not the
         // trees after it (the pull reads those, then fails on the item).
         for (auto [key, bytes] : s.store->Objects()) {
           if (!key.starts_with("blobs/")) continue;
           for (std::size_t i = 4; i < 12 && i < bytes.size(); ++i) bytes[i] ^= 0x5a;
           s.store->Overwrite(key, bytes);
         }
         return FailureOf(s.b.Pull(3000));
       }},
      {"partial_link", SyncCode::kApplyFailed, next_steps::kPartialLink,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());
         // A FIFO is not synced, but it occupies the path f.txt needs.
         const std::filesystem::path c = s.a.vault().parent_path() / "c";
         std::filesystem::create_directories(c);
         EXPECT_EQ(::mkfifo((c / "f.txt").c_str(), 0644), 0);
         return FailureOf(SyncLink(c, s.a.options(3000), LinkOptions{}));
       }},
      {"mass_delete_push", SyncCode::kStateFailed, next_steps::kMassDeletePush,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());
         s.a.Remove("f.txt");
         return FailureOf(s.a.Push(3000));
       }},
      {"mass_delete_pull", SyncCode::kStateFailed, next_steps::kMassDeletePull,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());
         EXPECT_TRUE(s.b.Pull(3000).ok());
         s.a.Remove("f.txt");
         EXPECT_TRUE(s.a.Push(4000, /*allow_mass_delete=*/true).ok());
         return FailureOf(s.b.Pull(5000));
       }},
      {"damaged_store_lock", SyncCode::kLocked, next_steps::kDamagedStoreLock,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());  // the store's locks/ folder exists
         s.store->Overwrite(std::string(kWriteLockKey), "{not a lock");
         EXPECT_EQ(s.store->Objects().count(std::string(kWriteLockKey)), 1u);
         s.a.Write("g.txt", "two");
         return FailureOf(s.a.Push(3000));
       }},
      {"local_process_lock", SyncCode::kLocked, next_steps::kLocalProcessLock,
       [](Scene& s) {
         Result<LocalState> held = LocalState::Open(s.a.vault());
         EXPECT_TRUE(held.ok());
         return FailureOf(s.a.Push(2000));
       }},
      {"passphrase_missing_open", SyncCode::kKeyMismatch, next_steps::kPassphraseMissing,
       [](Scene& s) {
         std::filesystem::remove(s.b.vault() / ".hx" / "key");
         SyncOptions options = s.b.options(2000);
         options.passphrase = [](const PassphraseRequest&) -> Result<std::optional<std::string>> {
           return std::optional<std::string>();
         };
         return FailureOf(SyncPush(s.b.vault(), options));
       }},
      {"passphrase_missing_init", SyncCode::kInputInvalid, next_steps::kPassphraseMissing,
       [](Scene& s) {
         SyncOptions options = s.a.options(2000);
         options.passphrase = [](const PassphraseRequest&) -> Result<std::optional<std::string>> {
           return std::optional<std::string>();
         };
         return FailureOf(SyncInit(s.a.vault().parent_path() / "third", options, {}));
       }},
      {"push_behind", SyncCode::kConflict, next_steps::kPushBehind,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());
         s.b.Write("g.txt", "two");
         return FailureOf(s.b.Push(3000));
       }},
      {"target_mismatch", SyncCode::kTargetInvalid, next_steps::kTargetMismatch,
       [](Scene& s) {
         SyncOptions options = s.a.options(2000);
         options.target_uri = "/elsewhere";
         return FailureOf(SyncStatus(s.a.vault(), options));
       }},
      {"vault_json_lost_open", SyncCode::kStateFailed, next_steps::kVaultJsonLost,
       [](Scene& s) {
         s.store->Remove("vault.json");
         return FailureOf(s.a.Status(2000));
       }},
      {"vault_json_lost_init", SyncCode::kStateFailed, next_steps::kVaultJsonLost,
       [](Scene& s) {
         s.a.Write("f.txt", "one");
         EXPECT_TRUE(s.a.Push(2000).ok());
         s.store->Remove("vault.json");
         return FailureOf(SyncInit(s.a.vault().parent_path() / "third", s.a.options(3000), {}));
       }},
      {"path_lock_held", SyncCode::kLocked, next_steps::kPathLockHeld,
       [](Scene& s) {
         EXPECT_TRUE(SyncLockAdd(s.a.vault(), s.a.options(2000), "docs", 60'000).ok());
         return FailureOf(SyncLockAdd(s.b.vault(), s.b.options(3000), "docs", 60'000));
       }},
      {"not_a_vault", SyncCode::kStateFailed, next_steps::kNotAVault,
       [](Scene& s) {
         const std::filesystem::path fresh = s.a.vault().parent_path() / "fresh";
         std::filesystem::create_directories(fresh);
         return FailureOf(SyncPush(fresh, s.a.options(2000)));
       }},
      {"agent_running", SyncCode::kLocked, next_steps::kAgentRunning,
       [](Scene& s) {
         Result<AgentLock> first = AgentLock::Acquire(s.a.vault());
         EXPECT_TRUE(first.ok());
         return FailureOf(AgentLock::Acquire(s.a.vault()));
       }},
  };
}

class NextStepSiteTest : public ::testing::TestWithParam<SiteCase> {};

TEST_P(NextStepSiteTest, TheErrorSaysWhatToDoInItsSituation) {
  Scene scene;
  const Error error = GetParam().trigger(scene);
  EXPECT_EQ(error.code, GetParam().code) << error.ToShortString();
  EXPECT_EQ(error.NextStep(), GetParam().next_step) << error.ToShortString();
  // The human text shows it as the error's `next:` line.
  EXPECT_NE(error.ToHuman().find("\n  next: " + std::string(GetParam().next_step) + "\n"),
            std::string::npos)
      << error.ToHuman();
}

INSTANTIATE_TEST_SUITE_P(EverySite, NextStepSiteTest, ::testing::ValuesIn(Sites()),
                         [](const auto& test_info) { return test_info.param.site; });

// Every next step of base/next_steps.h has a row above.
TEST(NextStepSites, EveryNextStepHasASite) {
  for (const std::string_view step : next_steps::kAll) {
    bool found = false;
    for (const SiteCase& c : Sites()) found = found || c.next_step == step;
    EXPECT_TRUE(found) << step;
  }
}

}  // namespace
}  // namespace hx
