#include "cli/app.h"

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

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

  RegisterVersion(app, context);
  RegisterSync(app, context);
  RegisterTools(app, context);
  RegisterGovernance(app, context);
  RegisterRpc(app, context);
  RegisterLink(*app.get_subcommand("sync"), context);
  RegisterHistory(*app.get_subcommand("sync"), context);
  RegisterEnvelope(app, context);
  RegisterExplain(app, context);
  RegisterDiag(app, context);

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
  return context.exit_code;
}

}  // namespace hx::cli
