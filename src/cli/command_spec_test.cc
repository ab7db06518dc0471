// DescribeCommands and the generators on small command trees: what reaches
// the spec (hidden commands do not; global flags reach every command that
// falls through; CLI11's validators become value kinds), and that text from
// the descriptions cannot break a script or the page (quotes, brackets,
// roff requests, non-ASCII). The real tree is checked end to end by
// src/cli/completion_test.py.
#include "cli/command_spec.h"

#include <gtest/gtest.h>

#include <string>

namespace hx::cli {
namespace {

const OptionSpec* FindOption(const CommandSpec& command, const std::string& long_name) {
  for (const OptionSpec& option : command.options) {
    for (const std::string& name : option.long_names) {
      if (name == long_name) return &option;
    }
  }
  return nullptr;
}

struct Flags {
  bool json = false;
  std::string progress, log_file, input, region, vault;
  int now_ms = 0;
};

// hx [--json] [--progress auto|json|none] [--log-file F]
//   sync (falls through): push <vault> [--now-ms INT] [--input FILE] [--region TEXT] [--json]
//   hidden (group "")
//   alone (does not fall through)
void Build(CLI::App& app, Flags& f) {
  app.name("hx");
  app.fallthrough();
  app.add_flag("--json", f.json, "JSON");
  app.add_option("--progress", f.progress, "Progress")->check(CLI::IsMember({"auto", "json", "none"}));
  app.add_option("--log-file", f.log_file, "Log file");
  CLI::App* sync = app.add_subcommand("sync", "Sync");
  CLI::App* push = sync->add_subcommand("push", "Push");
  push->add_option("vault_path", f.vault, "The vault")->required();
  push->add_option("--now-ms", f.now_ms, "Time");
  push->add_option("--input", f.input, "A file")->check(CLI::ExistingFile);
  push->add_option("--region", f.region, "Region");
  push->add_flag("--json", f.json, "Push's own JSON");
  app.add_subcommand("hidden", "Not shown")->group("");
  app.add_subcommand("alone", "No fallthrough")->fallthrough(false);
}

TEST(DescribeCommands, LeavesOutHiddenCommandsAndKeepsDefinitionOrder) {
  CLI::App app;
  Flags f;
  Build(app, f);
  const CommandSpec spec = DescribeCommands(app);
  ASSERT_EQ(spec.subcommands.size(), 2u);
  EXPECT_EQ(spec.subcommands[0].name, "sync");
  EXPECT_EQ(spec.subcommands[1].name, "alone");
  const CommandSpec& push = spec.subcommands[0].subcommands.at(0);
  EXPECT_EQ(push.PathString(), "sync push");
  EXPECT_EQ(Flatten(spec).size(), 4u);  // hx, sync, sync push, alone
}

TEST(DescribeCommands, GlobalFlagsReachCommandsThatFallThroughOnly) {
  CLI::App app;
  Flags f;
  Build(app, f);
  const CommandSpec spec = DescribeCommands(app);
  const CommandSpec& push = spec.subcommands[0].subcommands.at(0);
  const OptionSpec* progress = FindOption(push, "progress");
  ASSERT_NE(progress, nullptr);
  EXPECT_TRUE(progress->inherited);
  // push's own --json hides the global one: listed once, as its own.
  int json = 0;
  for (const OptionSpec& option : push.options) json += option.long_names.front() == "json";
  EXPECT_EQ(json, 1);
  EXPECT_FALSE(FindOption(push, "json")->inherited);
  EXPECT_EQ(FindOption(spec.subcommands[1], "progress"), nullptr);  // alone
}

TEST(DescribeCommands, ValidatorsAndNamesBecomeValueKinds) {
  CLI::App app;
  Flags f;
  Build(app, f);
  const CommandSpec spec = DescribeCommands(app);
  const OptionSpec* progress = FindOption(spec, "progress");
  EXPECT_EQ(progress->kind, ValueKind::kChoice);
  EXPECT_EQ(progress->choices, (std::vector<std::string>{"auto", "json", "none"}));
  EXPECT_EQ(progress->value_name, "TEXT");
  EXPECT_EQ(FindOption(spec, "log-file")->kind, ValueKind::kFile);  // by its name
  EXPECT_FALSE(FindOption(spec, "json")->takes_value);
  const CommandSpec& push = spec.subcommands[0].subcommands.at(0);
  EXPECT_EQ(FindOption(push, "input")->kind, ValueKind::kFile);  // ExistingFile
  EXPECT_EQ(FindOption(push, "now-ms")->kind, ValueKind::kText);
  EXPECT_EQ(FindOption(push, "region")->kind, ValueKind::kText);
  ASSERT_EQ(push.positionals.size(), 1u);
  EXPECT_EQ(push.positionals[0].name, "vault_path");
  EXPECT_TRUE(push.positionals[0].required);
  EXPECT_EQ(push.positionals[0].kind, ValueKind::kFile);
}

CommandSpec OneCommand(const std::string& description) {
  CommandSpec root;
  root.name = "hx";
  root.description = "hx does things";
  CommandSpec sub;
  sub.name = "go";
  sub.path = {"go"};
  sub.description = description;
  OptionSpec option;
  option.long_names = {"mode"};
  option.description = description;
  option.takes_value = true;
  option.value_name = "TEXT";
  option.kind = ValueKind::kChoice;
  option.choices = {"a", "b"};
  sub.options.push_back(option);
  root.subcommands.push_back(sub);
  return root;
}

TEST(Completion, DescriptionsCannotBreakOutOfTheirQuotes) {
  const CommandSpec spec = OneCommand("it's [x]: y\\z");
  const std::string zsh = ZshCompletion(spec, "1");
  EXPECT_NE(zsh.find(R"('--mode=[it'\''s \[x\]\: y\\z]:mode:(a b)')"), std::string::npos) << zsh;
  EXPECT_NE(zsh.find(R"('go:it'\''s [x]: y\z')"), std::string::npos) << zsh;
  const std::string fish = FishCompletion(spec, "1");
  EXPECT_NE(fish.find(R"(-l 'mode' -x -a 'a b' -d 'it\'s [x]: y\\z')"), std::string::npos) << fish;
  const std::string bash = BashCompletion(spec, "1");
  EXPECT_NE(bash.find(R"('go|--mode') echo 'a b' ;;)"), std::string::npos) << bash;
}

TEST(Completion, LongDescriptionsAreCutForMenus) {
  const std::string fish = FishCompletion(OneCommand(std::string(50, 'a') + " " + std::string(50, 'b')), "1");
  EXPECT_NE(fish.find("-d '" + std::string(50, 'a') + "...'"), std::string::npos) << fish;
}

TEST(ManPage, TextCannotIssueRoffRequests) {
  const std::string page = ManPage(OneCommand(".so /etc/passwd \\fB-x na\xC3\xAFve \xE2\x80\x94 \xFF"), "1.2.3");
  // A leading '.' is escaped, a backslash is \e, '-' a minus, non-ASCII
  // \[uXXXX], a byte that is not UTF-8 U+FFFD.
  EXPECT_NE(page.find("\n\\&.so /etc/passwd \\efB\\-x na\\[u00EF]ve \\[u2014] \\[uFFFD]\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find(".TH HX 1 \"\" \"hx 1.2.3\" \"User Commands\"\n"), std::string::npos);
  EXPECT_NE(page.find(".SS \"hx go\"\n\\fBhx go\\fR [\\fIOPTIONS\\fR]\n"), std::string::npos) << page;
  EXPECT_NE(page.find("\\fB\\-\\-mode\\fR \\fIa\\fR|\\fIb\\fR"), std::string::npos) << page;
  for (char c : page) EXPECT_LT(static_cast<unsigned char>(c), 0x80u);
}

}  // namespace
}  // namespace hx::cli
