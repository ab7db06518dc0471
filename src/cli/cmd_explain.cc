// hx explain <vault_path> <path>: why one path is as it is (local, base and
// remote versions, the planner's decision, what blocks it, what to do next).
// Read-only (sync/explain.h).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "sync/explain.h"

namespace hx::cli {
namespace {

struct ExplainArgs : VaultArgs {
  std::string path;
  std::string policy;
};

Result<ExplainReport> RunExplain(const ExplainArgs& args) {
  SyncOptions options = MakeSyncOptions(args, Prompt::kAllowed);
  if (!args.policy.empty()) {
    HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
    options.auto_merge = policy;
  }
  return SyncExplain(AbsolutePath(args.vault), options, args.path);
}

}  // namespace

void RegisterExplain(CLI::App& app, Context& context) {
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "Explain why one path is as it is: this device's version, the last synced one, the "
      "store's, what a push or pull would do with it, what blocks it and what to do next "
      "(changes nothing)");
  AddVaultArgs(cmd, *args, Target::kNone, Prompt::kAllowed,
               "The time locks are judged at, in ms since the epoch (default: the clock)");
  cmd->add_option("path", args->path,
                  "The path: relative to the vault folder, or absolute inside it")
      ->required();
  cmd->add_option("--auto-merge", args->policy,
                  "The merge policy to explain a conflict under (default: the vault's)")
      ->type_name(MergePolicyTypeName());
  cmd->callback([&context, args] { context.exit_code = Finish(context, RunExplain(*args)); });
}

}  // namespace hx::cli
