// hx version: what this binary is.
#include <string>

#include "cli/commands.h"

namespace hx::cli {

Report VersionReport() {
  Report report;
  report.human = "hx " HX_VERSION " (store format 1)\n";
  report.json = R"({"format_version":1,"version":")" HX_VERSION R"("})";
  return report;
}

void RegisterVersion(CLI::App& app, Context& context) {
  CLI::App* cmd = app.add_subcommand("version", "Print the hx version and store format version");
  cmd->callback([&context] { context.exit_code = Emit(context.output, VersionReport()); });
}

}  // namespace hx::cli
