// hx completion bash|zsh|fish and hx man: the completion scripts and the man
// page, generated from the live command tree (cli/command_spec.h). Hidden
// from --help (they are for packagers and for `source <(hx completion
// bash)`), and left out of their own output.
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/json_string.h"
#include "cli/command_spec.h"
#include "cli/commands.h"

namespace hx::cli {
namespace {

Report TextReport(std::string_view kind, std::string text) {
  Report report;
  report.json = R"({"kind":)";
  AppendJsonQuoted(report.json, kind);
  report.json += R"(,"text":)";
  AppendJsonQuoted(report.json, text);
  report.json += "}";
  report.human = std::move(text);
  return report;
}

}  // namespace

void RegisterCompletion(CLI::App& app, Context& context) {
  CLI::App* completion = app.add_subcommand(
      "completion", "Print the completion script of a shell (bash, zsh or fish) on stdout");
  completion->group("");
  auto shell = std::make_shared<std::string>();
  completion->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->callback([&app, &context, shell] {
    const CommandSpec spec = DescribeCommands(app);
    std::string script;
    if (*shell == "bash") {
      script = BashCompletion(spec, HX_VERSION);
    } else if (*shell == "zsh") {
      script = ZshCompletion(spec, HX_VERSION);
    } else {
      script = FishCompletion(spec, HX_VERSION);
    }
    context.exit_code = Emit(context.output, TextReport(*shell, std::move(script)));
  });

  CLI::App* man = app.add_subcommand("man", "Print the man page (roff, hx.1) on stdout");
  man->group("");
  man->callback([&app, &context] {
    context.exit_code =
        Emit(context.output, TextReport("man", ManPage(DescribeCommands(app), HX_VERSION)));
  });
}

}  // namespace hx::cli
