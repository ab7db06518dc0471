// hx sync link: first sync of a folder used on its own (sync/link.h). The
// clock and the passphrase come from here; the engine reads neither.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>


#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "sync/link.h"

namespace hx::cli {
namespace {

struct LinkArgs {
  std::string vault;
  std::string target;
  std::string endpoint;
  bool path_style = false;
  std::string region;
  std::optional<std::int64_t> now_ms;
  std::string passphrase_file;
  std::string policy = "local_preferred";
  std::string decisions;
  bool dry_run = false;
};

Result<LinkReport> RunLink(const LinkArgs& args) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
  SyncOptions options;
  options.target_uri = args.target;
  options.target_options = {args.endpoint, args.path_style, args.region};
  options.now_ms = args.now_ms.value_or(WallClockMs());
  options.cwd = CurrentDir();
  options.passphrase = MakePassphraseSource(args.passphrase_file, Prompt::kAllowed);
  LinkOptions link;
  link.policy = policy;
  link.dry_run = args.dry_run;
  if (!args.decisions.empty()) {
    link.decisions_file = AbsolutePath(args.decisions).string();
  }
  return SyncLink(AbsolutePath(args.vault), options, link);
}

}  // namespace

void RegisterLink(CLI::App& sync, Context& context) {
  auto args = std::make_shared<LinkArgs>();
  CLI::App* cmd = sync.add_subcommand(
      "link",
      "Join a folder used on its own to an existing vault of a store (first sync): never "
      "deletes local data; differing items follow --policy");
  cmd->add_option("vault_path", args->vault, "The folder")->required();
  cmd->add_option("target_uri", args->target, "The store that holds the vault")->required();
  cmd->add_option("--policy", args->policy,
                  "For items that differ: local_preferred (default; the store's version is "
                  "archived), cloud_preferred (the local version is archived) or "
                  "manual_per_item (with --decisions)");
  cmd->add_option("--decisions", args->decisions,
                  "manual_per_item: a decisions file naming \"local\" or \"remote\" per item");
  cmd->add_flag("--dry-run", args->dry_run, "Show what link would do; change nothing");
  cmd->add_option("--now-ms", args->now_ms,
                  "The time to record, in ms since the epoch (default: the clock)");
  cmd->add_option("--endpoint", args->endpoint, "S3 endpoint URL for s3+endpoint:// targets");
  cmd->add_flag("--path-style", args->path_style, "S3 path-style addressing");
  cmd->add_option("--region", args->region, "S3 region (default us-east-1)");
  cmd->add_option("--passphrase-file", args->passphrase_file,
                  "Read the passphrase from this file's first line (else HX_PASSPHRASE, else "
                  "a prompt on a terminal)");
  // A link awaiting decisions or with failed items prints its items; its
  // exit code is the error's (Finish).
  cmd->callback([&context, args] { context.exit_code = Finish(context, RunLink(*args)); });
}

}  // namespace hx::cli
