// hx key change-passphrase <vault_path> [--new-passphrase-file FILE]: the
// vault's master key re-wrapped under a new passphrase (sync/passphrase.h).
// The current passphrase comes from the usual sources (--passphrase-file,
// HX_PASSPHRASE, the prompt, with retries there); the new one from
// --new-passphrase-file or the prompt, typed twice.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "sync/passphrase.h"

namespace hx::cli {
namespace {

struct KeyArgs : VaultArgs {
  std::string new_passphrase_file;
};

}  // namespace

void RegisterKey(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand("key", "The vault's passphrase");
  group->require_subcommand(1);
  auto args = std::make_shared<KeyArgs>();
  CLI::App* cmd = group->add_subcommand(
      "change-passphrase",
      "Re-wrap the vault's master key under a new passphrase (the data and the key stay the "
      "same: devices with a cached key keep working; new devices need the new passphrase)");
  AddVaultArgs(cmd, *args, Target::kNone, Prompt::kAllowed,
               "The time of the store's write lock, in ms since the epoch (default: the clock)");
  cmd->add_option("--new-passphrase-file", args->new_passphrase_file,
                  "Read the new passphrase from this file's first line (default: ask twice on "
                  "the terminal; HX_PASSPHRASE is the current one, never the new)")
      ->check(CLI::Validator(
          [](const std::string& file) -> std::string {
            Result<std::string> line = ReadPassphraseFile(file, kNewPassphraseInstead);
            return line.ok() ? std::string() : line.error().message;
          },
          "FILE", "readable passphrase file"));
  cmd->callback([&context, args] {
    const SyncOptions options = MakeSyncOptions(*args, Prompt::kAllowed);
    ChangePassphraseOptions change;
    change.new_passphrase = MakeNewPassphraseSource(args->new_passphrase_file);
    context.exit_code =
        Finish(context, SyncChangePassphrase(AbsolutePath(args->vault), options, change));
  });
}

}  // namespace hx::cli
