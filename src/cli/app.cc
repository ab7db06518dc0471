#include "cli/app.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command_spec.h"
#include "cli/commands.h"
#include "cli/usage.h"
#include "obs/log.h"

namespace hx::cli {
namespace {

constexpr const char* kDescription =
    "hx keeps one folder identical across devices through a store you own\n"
    "(a folder or an S3 bucket), end-to-end encrypted.";

// A command line the parser refused: an unknown command (with the closest
// one), a group named without its command (its help), or a usage error.
int UsageError(CLI::App& app, Context& context, const CLI::ParseError& e) {
  const CLI::App& level = SelectedCommand(app);
  const bool has_commands = !SubcommandsOf(level).empty();
  const std::vector<std::string> extra = app.remaining(true);
  if (has_commands && !extra.empty() && !extra.front().empty() && extra.front()[0] != '-') {
    std::string message = "unknown command '" + extra.front() + "'";
    if (std::optional<std::string> close = SuggestCommand(app, level, extra.front())) {
      message += "; did you mean '" + *close + "'?";
    }
    const std::string help = "Run '" + FullCommandName(level) + " --help' to see the commands.";
    return Emit(context.output,
                InvalidInput(SyncCode::kInputInvalid, message).WithNextStep(help));
  }
  if (has_commands && extra.empty() && !context.output.json &&
      dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    // `hx sync` alone: what can follow, as `hx sync --help` prints it.
    PrintHuman(stdout, level.help());
    return 0;
  }
  // Usage errors are AppErrors too, so scripts see a stable code.
  std::string message = e.what();
  if (!extra.empty()) message = "unknown command or argument '" + extra.front() + "'";
  return Emit(context.output, InvalidInput(SyncCode::kInputInvalid, message));
}

}  // namespace

void AddGlobalOptions(CLI::App& app, Context& context) {
  app.add_flag("--json", context.output.json,
               "Print one JSON document on stdout (results and errors) for machines");
  app.add_option("--progress", context.obs.progress,
                 "Progress of push, pull and link on stderr: auto (a line redrawn on a "
                 "terminal, nothing otherwise), json (JSON lines, for apps) or none")
      ->check(CLI::IsMember({"auto", "json", "none"}));
  app.add_flag("-q,--quiet", context.obs.quiet, "Print nothing but errors");
  app.add_option("--log-file", context.obs.log_file,
                 "Append the log (JSON lines) to this file (default level: info)");
  app.add_option("--log-level", context.obs.log_level,
                 "trace, debug, info, warn, error or off (default: HX_LOG, else info with "
                 "--log-file, else off); file names are logged only at debug")
      ->type_name(ChoicesTypeName("LEVEL", {"trace", "debug", "info", "warn", "error", "off"}));
}

void BuildApp(CLI::App& app, Context& context) {
  app.description(kDescription);
  app.name("hx");
  app.require_subcommand(1);
  app.set_version_flag("--version", "hx " HX_VERSION " (store format 1)",
                       "Print the hx version and store format version (as hx version)");
  // The global flags may also follow the subcommand (hx sync push X --quiet).
  app.fallthrough();
  AddGlobalOptions(app, context);
  app.parse_complete_callback([&app, &context] {
    context.output.quiet = context.obs.quiet;
    if (Status flags = ApplyObsFlags(context.obs); !flags.ok()) {
      throw CLI::ValidationError(flags.error().message);
    }
    context.progress.Start(context.obs, context.output.json);
    std::string command;
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      command += (command.empty() ? "" : " ") + sub->get_name();
    }
    obs::Log(obs::LogLevel::kInfo, "command.start", {{"command", command}, {"version", HX_VERSION}});
  });

  RegisterVersion(app, context);
  RegisterSync(app, context);
  RegisterTools(app, context);
  RegisterGovernance(app, context);
  RegisterRpc(app, context);
  RegisterLink(*app.get_subcommand("sync"), context);
  RegisterHistory(*app.get_subcommand("sync"), context);
  RegisterWatch(*app.get_subcommand("sync"), context);
  RegisterConflicts(*app.get_subcommand("sync"), context);
  RegisterEnvelope(app, context);
  RegisterExplain(app, context);
  RegisterDiag(app, context);
  RegisterKey(app, context);
  RegisterServe(app, context);
  RegisterCompletion(app, context);
}

int Run(int argc, char** argv) {
  CLI::App app;
  Context context;
  // One correlation id for the whole command: every log line, store request
  // (x-hx-correlation-id) and logged error of this run carries it.
  obs::CorrelationScope correlation;
  BuildApp(app, context);
  if (argc <= 1) {
    // Bare `hx`: what it can do (as git, kubectl and rclone do).
    PrintHuman(stdout, app.help());
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion&) {
    // --version stops the parse where it stands: a --json before it has not
    // been stored yet.
    for (int i = 1; i < argc; ++i) context.output.json |= std::string_view(argv[i]) == "--json";
    return Emit(context.output, VersionReport());
  } catch (const CLI::ParseError& e) {
    return UsageError(app, context, e);
  }
  obs::Log(obs::LogLevel::kInfo, "command.end", {{"exit_code", context.exit_code}});
  obs::StopLogging();
  return context.exit_code;
}

}  // namespace hx::cli
