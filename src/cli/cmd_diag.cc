// hx diag bundle <vault_path> [-o FILE] [--include-names] [--log FILE...]:
// a support bundle (.tar.zst) without keys, passphrases, contents or (unless
// asked) file names (diag/bundle.h).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "diag/bundle.h"

namespace hx::cli {
namespace {

struct DiagArgs : VaultArgs {
  std::string output;
  bool include_names = false;
  std::vector<std::string> logs;
};

Result<diag::BundleReport> RunDiagBundle(const DiagArgs& args) {
  const SyncOptions options = MakeSyncOptions(args, Prompt::kNever);
  diag::BundleOptions bundle;
  bundle.include_names = args.include_names;
  bundle.hx_version = HX_VERSION;
  for (const std::string& log : args.logs) bundle.log_files.push_back(AbsolutePath(log));
  // Whatever secret this process knows is kept out of the bundle, wherever
  // it might have been copied (a log, an error message).
  for (const char* name : {"HX_PASSPHRASE", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "AWS_ACCESS_KEY_ID"}) {
    if (const char* value = std::getenv(name); value != nullptr) bundle.secrets.push_back(value);
  }
  if (!args.passphrase_file.empty()) {
    if (Result<std::string> line = ReadPassphraseFile(args.passphrase_file); line.ok()) {
      bundle.secrets.push_back(*line);
    }
  }
  const std::filesystem::path output =
      args.output.empty()
          ? std::filesystem::path(CurrentDir()) /
                ("hx-diag-" + std::to_string(options.now_ms) + ".tar.zst")
          : AbsolutePath(args.output);
  return diag::WriteBundle(AbsolutePath(args.vault), options, bundle, output);
}

}  // namespace

void RegisterDiag(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand("diag", "Diagnostics for support");
  group->require_subcommand(1);
  auto args = std::make_shared<DiagArgs>();
  CLI::App* cmd = group->add_subcommand(
      "bundle",
      "Write a support bundle (.tar.zst): versions, config without secrets, status, the "
      "store's capabilities, the index's health, the last reports and log tails, and a "
      "manifest. Never keys, passphrases or file contents; file names hashed");
  AddVaultArgs(cmd, *args, Target::kNone, Prompt::kNever,
               "The time of the bundle, in ms since the epoch (default: the clock)");
  cmd->add_option("-o,--output", args->output,
                  "The bundle file (default: hx-diag-<ms>.tar.zst in the current folder)");
  cmd->add_flag("--include-names", args->include_names,
                "Keep file names as they are (they are personal data; hashed by default)");
  cmd->add_option("--log", args->logs,
                  "A log file (--log-file of earlier commands) to take the last 1 MiB of; "
                  "repeatable. .hx/logs/ is taken if it exists");
  cmd->callback([&context, args] { context.exit_code = Finish(context, RunDiagBundle(*args)); });
}

}  // namespace hx::cli
