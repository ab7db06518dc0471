// The command tree as users meet it: what a typo suggests, and that every
// next step an error can show (each code's, and each situation's of
// base/next_steps.h) names commands and flags that exist.
#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/error.h"
#include "base/next_steps.h"
#include "cli/app.h"
#include "cli/command_spec.h"
#include "cli/commands.h"
#include "cli/usage.h"
#include "merge/policy.h"

namespace hx::cli {
namespace {

class CommandTreeTest : public ::testing::Test {
 protected:
  CommandTreeTest() { BuildApp(app_, context_); }
  CLI::App app_;
  Context context_;
};

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("status", "status"), 0u);
  EXPECT_EQ(EditDistance("stauts", "status"), 1u);  // adjacent letters swapped
  EXPECT_EQ(EditDistance("pul", "pull"), 1u);
  EXPECT_EQ(EditDistance("pish", "push"), 1u);
  EXPECT_EQ(EditDistance("log", "lock"), 2u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

TEST_F(CommandTreeTest, AnUnknownCommandSuggestsTheClosestOne) {
  const CLI::App* sync = FindCommand(app_, {"sync"});
  ASSERT_NE(sync, nullptr);
  struct Case {
    const CLI::App* level;
    std::string word;
    std::optional<std::string> expected;
  };
  const std::vector<Case> cases = {
      {&app_, "log", "hx sync log"},        // exists one level down
      {&app_, "pus", "hx sync push"},       // a typo one level down
      {sync, "stauts", "hx sync status"},   // a typo at its level
      {sync, "pul", "hx sync pull"},
      {&app_, "sycn", "hx sync"},
      {&app_, "locks", "hx lock"},          // its level before the tree
      {&app_, "frobnicate", std::nullopt},  // nothing close
      {sync, "x", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SuggestCommand(app_, *c.level, c.word), c.expected) << c.word;
  }
}

// The commands quoted in a next step ('hx sync unlock <vault>'): each
// quoted text that starts with "hx ".
std::vector<std::string> QuotedCommands(std::string_view step) {
  std::vector<std::string> out;
  const std::string text(step);
  static const std::regex quoted("'(hx( [^']*)?)'");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), quoted);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// Whether `command` ("hx sync push <vault> --allow-mass-delete") names a
// command of the tree, and flags that it (or hx itself) takes.
::testing::AssertionResult NamesARealCommand(const CLI::App& root, const std::string& command) {
  std::istringstream words(command);
  std::string word;
  words >> word;  // "hx"
  std::vector<std::string> path;
  std::vector<std::string> flags;
  bool in_args = false;
  while (words >> word) {
    if (word.starts_with("--")) {
      flags.push_back(word.substr(0, word.find('=')));
      in_args = true;
    } else if (word.starts_with("<") || word.starts_with("-")) {
      in_args = true;
    } else if (!in_args) {
      path.push_back(word);
    }
  }
  const CLI::App* cmd = FindCommand(root, path);
  if (cmd == nullptr) return ::testing::AssertionFailure() << "no such command: " << command;
  for (const std::string& flag : flags) {
    if (cmd->get_option_no_throw(flag) == nullptr && root.get_option_no_throw(flag) == nullptr) {
      return ::testing::AssertionFailure() << "no flag " << flag << " on " << command;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST_F(CommandTreeTest, EveryNextStepNamesCommandsThatExist) {
  std::vector<std::string_view> steps(next_steps::kAll.begin(), next_steps::kAll.end());
  for (int code = 0; code < kSyncCodeCount; ++code) {
    steps.push_back(NextStepFor(static_cast<SyncCode>(code)));
  }
  int commands = 0;
  for (const std::string_view step : steps) {
    for (const std::string& command : QuotedCommands(step)) {
      ++commands;
      EXPECT_TRUE(NamesARealCommand(app_, command)) << step;
    }
  }
  // The check saw the commands it is about (the code's and the sites').
  EXPECT_GE(commands, 15);
}

TEST_F(CommandTreeTest, TheCheckRefusesWhatDoesNotExist) {
  EXPECT_FALSE(NamesARealCommand(app_, "hx sync frobnicate <vault>"));
  EXPECT_FALSE(NamesARealCommand(app_, "hx unlock <vault>"));
  EXPECT_FALSE(NamesARealCommand(app_, "hx sync push <vault> --no-such-flag"));
  EXPECT_TRUE(NamesARealCommand(app_, "hx sync push <vault> --allow-mass-delete"));
  EXPECT_TRUE(NamesARealCommand(app_, "hx --help"));
}

// Completion offers what a value may be: each option naming a merge policy
// or a log level lists them all (without refusing the others at parse time:
// an unknown policy still reaches the engine and ends in
// KC_SYNC_MERGE_POLICY_UNSUPPORTED; link.t and merge.t show it).
TEST_F(CommandTreeTest, PolicyAndLevelOptionsOfferTheirChoicesToCompletion) {
  std::vector<std::string> policies;
  for (const MergePolicy policy : kAllMergePolicies) {
    policies.emplace_back(MergePolicyName(policy));
  }
  const CommandSpec root = DescribeCommands(app_);
  int policy_options = 0;
  for (const CommandSpec* command : Flatten(root)) {
    for (const OptionSpec& option : command->options) {
      const std::string& name = option.long_names.empty() ? "" : option.long_names.front();
      if (name == "auto-merge" || name == "policy") {
        ++policy_options;
        EXPECT_EQ(option.kind, ValueKind::kChoice) << command->PathString() << " --" << name;
        for (const std::string& choice : option.choices) {
          EXPECT_NE(std::find(policies.begin(), policies.end(), choice), policies.end()) << choice;
        }
        if (name == "auto-merge") {
          EXPECT_EQ(option.choices, policies) << command->PathString();
        }
      }
      if (name == "log-level") {
        EXPECT_EQ(option.choices,
                  (std::vector<std::string>{"trace", "debug", "info", "warn", "error", "off"}));
      }
    }
  }
  // sync push, pull, init, config, watch, explain (--auto-merge); link,
  // merge-preview, envelope apply (--policy).
  EXPECT_GE(policy_options, 9);
}

}  // namespace
}  // namespace hx::cli
