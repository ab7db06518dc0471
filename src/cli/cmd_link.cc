// hx sync link: first sync of a folder used on its own (sync/link.h). The
// clock and the passphrase come from here; the engine reads neither.
#include <cstdio>
#include <memory>
#include <string>


#include "cli/command_spec.h"
#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "sync/link.h"

namespace hx::cli {
namespace {

struct LinkArgs : VaultArgs {
  std::string policy = "local_preferred";
  std::string decisions;
  bool dry_run = false;
};

Result<LinkReport> RunLink(const LinkArgs& args, const obs::Progress& progress) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
  SyncOptions options = MakeSyncOptions(args, Prompt::kAllowed);
  options.progress = progress;
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
  AddVaultArgs(cmd, *args, Target::kRequired, Prompt::kAllowed);
  cmd->add_option("--policy", args->policy,
                  "For items that differ: local_preferred (default; the store's version is "
                  "archived), cloud_preferred (the local version is archived) or "
                  "manual_per_item (with --decisions)")
      ->type_name(ChoicesTypeName("POLICY", {"local_preferred", "cloud_preferred", "manual_per_item"}));
  cmd->add_option("--decisions", args->decisions,
                  "manual_per_item: a decisions file naming \"local\" or \"remote\" per item");
  cmd->add_flag("--dry-run", args->dry_run, "Show what link would do; change nothing");
  // A link awaiting decisions or with failed items prints its items; its
  // exit code is the error's (Finish).
  cmd->callback([&context, args] {
    Result<LinkReport> result = RunLink(*args, context.progress.progress());
    context.progress.End(std::nullopt);
    context.exit_code = Finish(context, result);
  });
}

}  // namespace hx::cli
