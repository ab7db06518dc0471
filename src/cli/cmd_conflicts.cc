// hx sync conflicts <vault> [--prune]: the vault's conflict artifacts (the
// store's and this device's), with their paths and state; --prune removes
// the resolved ones (sync/conflicts.h).
#include <memory>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "sync/conflicts.h"

namespace hx::cli {
namespace {

struct ConflictsArgs : VaultArgs {
  bool prune = false;
};

}  // namespace

void RegisterConflicts(CLI::App& sync, Context& context) {
  auto args = std::make_shared<ConflictsArgs>();
  CLI::App* cmd = sync.add_subcommand(
      "conflicts",
      "List the vault's conflict artifacts (store and local) with their paths and state");
  AddVaultArgs(cmd, *args, Target::kOptional, Prompt::kAllowed);
  cmd->add_flag("--prune", args->prune,
                "Remove the resolved artifacts (the store's copy and this device's)");
  cmd->callback([&context, args] {
    context.exit_code =
        Finish(context, SyncConflicts(AbsolutePath(args->vault),
                                      MakeSyncOptions(*args, Prompt::kAllowed), args->prune));
  });
}

}  // namespace hx::cli
