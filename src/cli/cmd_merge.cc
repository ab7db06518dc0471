// hx sync merge-preview <vault_path> [<target_uri>] --policy <p> --now-ms <ms>:
// the seed-002 merge preview of what a pull would merge now (read-only).
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "sync/merge_preview.h"

namespace hx::cli {
namespace {

struct MergePreviewArgs : VaultArgs {
  std::string policy = "conservative";
};

Result<Report> RunMergePreview(const MergePreviewArgs& args) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
  const SyncOptions options = MakeSyncOptions(args, Prompt::kNever);
  const std::filesystem::path vault = AbsolutePath(args.vault);
  HX_ASSIGN_OR_RETURN(const MergePreviewReport report, SyncMergePreview(vault, options, policy));
  HX_ASSIGN_OR_RETURN(std::string json, WriteCanonicalJson(report.ToJson()));
  return Report{report.ToHuman(), std::move(json)};
}

}  // namespace

void RegisterMergePreview(CLI::App& sync, Context& context) {
  auto args = std::make_shared<MergePreviewArgs>();
  CLI::App* cmd = sync.add_subcommand(
      "merge-preview",
      "Show whether the changes here and in the store can be merged under a policy, "
      "changing nothing");
  AddVaultArgs(cmd, *args, Target::kOptional, Prompt::kNever,
               "generated_at_ms of the report, in ms since the epoch (default: the clock; "
               "give it for reproducible reports)");
  cmd->add_option("--policy", args->policy,
                  "conservative (default), conservative_plus_v2..v4, none, keep_both, "
                  "local_preferred, cloud_preferred, manual_per_item")
      ->type_name(MergePolicyTypeName());
  cmd->callback([&context, args] {
    context.exit_code = Emit(context.output, RunMergePreview(*args));
  });
}

}  // namespace hx::cli
