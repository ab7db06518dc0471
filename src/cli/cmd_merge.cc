// hx sync merge-preview <vault_path> [<target_uri>] --policy <p> --now-ms <ms>:
// the seed-002 merge preview of what a pull would merge now (read-only).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "sync/merge_preview.h"

namespace hx::cli {
namespace {

struct MergePreviewArgs {
  std::string vault;
  std::string target;
  std::string endpoint;
  bool path_style = false;
  std::string region;
  std::optional<std::int64_t> now_ms;
  std::string passphrase_file;
  std::string policy = "conservative";
};

Result<Report> RunMergePreview(const MergePreviewArgs& args) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
  SyncOptions options;
  options.target_uri = args.target;
  options.target_options = {args.endpoint, args.path_style, args.region};
  options.now_ms = args.now_ms.value_or(WallClockMs());
  options.cwd = CurrentDir();
  options.passphrase = MakePassphraseSource(args.passphrase_file, Prompt::kNever);
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
  cmd->add_option("vault_path", args->vault, "The vault folder")->required();
  cmd->add_option("target_uri", args->target,
                  "The store (default: the one given at init)");
  cmd->add_option("--policy", args->policy,
                  "conservative (default), conservative_plus_v2..v4, none, keep_both, "
                  "local_preferred, cloud_preferred, manual_per_item");
  cmd->add_option("--now-ms", args->now_ms,
                  "generated_at_ms of the report, in ms since the epoch (default: the clock; "
                  "give it for reproducible reports)");
  cmd->add_option("--endpoint", args->endpoint, "S3 endpoint URL for s3+endpoint:// targets");
  cmd->add_flag("--path-style", args->path_style, "S3 path-style addressing");
  cmd->add_option("--region", args->region, "S3 region (default us-east-1)");
  cmd->add_option("--passphrase-file", args->passphrase_file,
                  "Read the passphrase from this file's first line (else HX_PASSPHRASE, else "
                  "the key cached at init)");
  cmd->callback([&context, args] {
    context.exit_code = Emit(context.output, RunMergePreview(*args));
  });
}

}  // namespace hx::cli
