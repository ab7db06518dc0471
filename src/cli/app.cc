#include "cli/app.h"

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "obs/log.h"

namespace hx::cli {

int Run(int argc, char** argv) {
  CLI::App app{
      "hx keeps one folder identical across devices through a store you own\n"
      "(a folder or an S3 bucket), end-to-end encrypted."};
  app.name("hx");
  app.require_subcommand(1);
  Context context;
  app.add_flag("--json", context.output.json,
               "Print one JSON document on stdout (results and errors) for machines");
  // The global flags may also follow the subcommand (hx sync push X --quiet).
  app.fallthrough();
  app.add_option("--progress", context.obs.progress,
                 "Progress of push, pull and link on stderr: auto (a line redrawn on a "
                 "terminal, nothing otherwise), json (JSON lines, for apps) or none")
      ->check(CLI::IsMember({"auto", "json", "none"}));
  app.add_flag("-q,--quiet", context.obs.quiet, "Print nothing but errors");
  app.add_option("--log-file", context.obs.log_file,
                 "Append the log (JSON lines) to this file (default level: info)");
  app.add_option("--log-level", context.obs.log_level,
                 "trace, debug, info, warn, error or off (default: HX_LOG, else info with "
                 "--log-file, else off); file names are logged only at debug");
  // One correlation id for the whole command: every log line, store request
  // (x-hx-correlation-id) and logged error of this run carries it.
  obs::CorrelationScope correlation;
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
  RegisterEnvelope(app, context);
  RegisterExplain(app, context);
  RegisterDiag(app, context);
  RegisterCompletion(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors are AppErrors too, so scripts see a stable code.
    std::string message = e.what();
    if (const std::vector<std::string> extra = app.remaining(); !extra.empty()) {
      message = "unknown command or argument '" + extra.front() + "'";
    }
    return Emit(context.output, InvalidInput(SyncCode::kInputInvalid, message));
  }
  obs::Log(obs::LogLevel::kInfo, "command.end", {{"exit_code", context.exit_code}});
  obs::StopLogging();
  return context.exit_code;
}

}  // namespace hx::cli
