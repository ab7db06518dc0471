// hx sync init|status|push|pull|config|unlock: argument parsing and rendering over the
// engine (sync/engine.h). The clock and the passphrase come from here: the
// engine never reads either itself.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "obs/metrics.h"
#include "store/store_wrappers.h"
#include "sync/engine.h"

namespace hx::cli {
namespace {

struct SyncArgs : VaultArgs {
  bool allow_mass_delete = false;
  bool no_encryption = false;
  std::string auto_merge;  // empty: the vault's default
  std::string decisions_file;
  bool metrics = false;  // status --metrics
  std::optional<std::uint64_t> versions_max_bytes;  // config --versions-max-bytes
  std::string enroll;       // init --enroll CODE (hub targets)
  std::string device_name;  // init --device-name
};

// The --auto-merge policy, if given (unknown names:
// KC_SYNC_MERGE_POLICY_UNSUPPORTED listing the known ones).
Result<std::optional<MergePolicy>> AutoMerge(const SyncArgs& args) {
  if (args.auto_merge.empty()) return std::optional<MergePolicy>();
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.auto_merge));
  return std::optional<MergePolicy>(policy);
}

SyncOptions MakeOptions(const SyncArgs& args) {
  SyncOptions options = MakeSyncOptions(args, Prompt::kAllowed);
  options.decisions_file = args.decisions_file;
  options.allow_mass_delete = args.allow_mass_delete;
  options.checkpoint = CrashHookFromEnv();
  return options;
}

std::filesystem::path VaultPath(const SyncArgs& args) { return AbsolutePath(args.vault); }

void AddMergeOptions(CLI::App* cmd, SyncArgs& args) {
  cmd->add_option("--auto-merge", args.auto_merge,
                  "How concurrent changes are resolved: none, conservative, "
                  "conservative_plus_v2..v4, keep_both, local_preferred, cloud_preferred, "
                  "manual_per_item (default: the vault's, see hx sync config)")
      ->type_name(MergePolicyTypeName());
  cmd->add_option("--decisions", args.decisions_file,
                  "manual_per_item: a JSON file naming \"local\", \"remote\" or \"both\" "
                  "for each conflicting path");
}

// Runs `op` with the parsed --auto-merge (or reports the bad name).
template <typename R, typename Op>
Result<R> WithPolicy(const SyncArgs& args, Op op) {
  Result<std::optional<MergePolicy>> policy = AutoMerge(args);
  if (!policy.ok()) return policy.error();
  SyncOptions options = MakeOptions(args);
  options.auto_merge = *policy;
  return op(options);
}

void AddCommon(CLI::App* cmd, SyncArgs& args, bool target_required) {
  AddVaultArgs(cmd, args, target_required ? Target::kRequired : Target::kOptional,
               Prompt::kAllowed);
}

}  // namespace

void RegisterSync(CLI::App& app, Context& context) {
  CLI::App* sync = app.add_subcommand("sync", "Keep a folder in sync through a store");
  sync->require_subcommand(1);
  auto args = std::make_shared<SyncArgs>();

  CLI::App* init = sync->add_subcommand(
      "init", "Make a folder a vault of a store (creating the store's vault or joining it)");
  AddCommon(init, *args, /*target_required=*/true);
  init->add_flag("--no-encryption", args->no_encryption,
                 "Create the vault without a passphrase: anyone who can read the store can "
                 "read the files");
  init->add_option("--auto-merge", args->auto_merge,
                   "The vault's default merge policy on this device (see hx sync config)")
      ->type_name(MergePolicyTypeName());
  init->add_option("--enroll", args->enroll,
                   "hx:// and hxs:// targets: enroll this device with the hub using this "
                   "one-time code (from 'hx serve enroll'); its key pair stays in .hx/")
      ->type_name("CODE");
  init->add_option("--device-name", args->device_name,
                   "With --enroll: this device's name on the hub (default: the host name)");
  init->callback([&context, args] {
    if (!args->enroll.empty()) {
      // The target must parse (a hub target) before the code is spent.
      Result<hx::Target> target = ParseTargetUri(args->target, {args->endpoint, args->path_style,
                                                            args->region},
                                             CurrentDir());
      Result<bool> enrolled =
          target.ok() ? EnrollVaultWithHub(VaultPath(*args), *target, args->enroll,
                                           args->device_name)
                      : Result<bool>(target.error());
      if (!enrolled.ok()) {
        context.exit_code = Finish(context, Result<InitReport>(enrolled.error()));
        return;
      }
    }
    InitOptions init_options;
    init_options.no_encryption = args->no_encryption;
    Result<std::optional<MergePolicy>> policy = AutoMerge(*args);
    if (!policy.ok()) {
      context.exit_code = Finish(context, Result<InitReport>(policy.error()));
      return;
    }
    Result<InitReport> result = SyncInit(VaultPath(*args), MakeOptions(*args), init_options);
    if (result.ok() && *policy) {
      Result<ConfigReport> set = SyncConfigure(VaultPath(*args), {.default_merge_policy = *policy});
      if (!set.ok()) result = set.error();
    }
    context.exit_code = Finish(context, result);
  });

  CLI::App* config = sync->add_subcommand(
      "config", "Show or change this vault's settings (local to this device)");
  config->add_option("vault_path", args->vault, "The vault folder")->required();
  config->add_option("--auto-merge", args->auto_merge,
                     "Set the default merge policy of pull and push")
      ->type_name(MergePolicyTypeName());
  config->add_option("--versions-max-bytes", args->versions_max_bytes,
                     "Set the size cap of the local history cache .hx/versions/, where pulls "
                     "keep the versions they replace or delete (default 1073741824, 1 GiB; "
                     "0 turns it off)");
  config->callback([&context, args] {
    context.exit_code = Finish(context, [&]() -> Result<ConfigReport> {
      HX_ASSIGN_OR_RETURN(const std::optional<MergePolicy> policy, AutoMerge(*args));
      return SyncConfigure(VaultPath(*args), {.default_merge_policy = policy,
                                              .versions_max_bytes = args->versions_max_bytes});
    }());
  });

  CLI::App* status = sync->add_subcommand("status", "Show local changes and the store's state");
  AddCommon(status, *args, false);
  status->add_flag("--metrics", args->metrics,
                   "Print this run's metrics in the Prometheus text format instead of the "
                   "status (store requests by operation and outcome, bytes, retries)");
  status->callback([&context, args] {
    SyncOptions options = MakeOptions(*args);
    if (args->metrics) {
      options.wrap_store = [](std::unique_ptr<Store> store) -> std::unique_ptr<Store> {
        return std::make_unique<CountingStore>(std::move(store));
      };
    }
    Result<StatusReport> result = SyncStatus(VaultPath(*args), options);
    if (args->metrics && result.ok()) {
      const std::string text = obs::DefaultMetrics().RenderPrometheus();
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
      context.exit_code = 0;
      return;
    }
    // With the agent's part (cmd_watch.cc): whether `hx sync watch` runs.
    context.exit_code = FinishStatusWithAgent(context, VaultPath(*args), result);
  });

  CLI::App* push = sync->add_subcommand("push", "Publish this folder's changes to the store");
  AddCommon(push, *args, false);
  push->add_flag("--allow-mass-delete", args->allow_mass_delete,
                 "Confirm a push that deletes more than the configured share of the vault");
  AddMergeOptions(push, *args);
  push->callback([&context, args] {
    Result<PushReport> result = WithPolicy<PushReport>(*args, [&](SyncOptions o) {
      o.progress = context.progress.progress();
      return SyncPush(VaultPath(*args), o);
    });
    context.progress.End(result.ok() ? result->store_usage : std::nullopt);
    context.exit_code = Finish(context, result);
  });

  CLI::App* unlock = sync->add_subcommand(
      "unlock", "Remove the store's write lock (only when no device is syncing)");
  AddCommon(unlock, *args, false);
  unlock->callback([&context, args] {
    context.exit_code = Finish(context, SyncUnlock(VaultPath(*args), MakeOptions(*args)));
  });

  // hx sync repair: registered with the history commands (cmd_history.cc),
  // since it also puts back damaged objects (history/verify.h).

  CLI::App* pull = sync->add_subcommand("pull", "Apply the store's changes to this folder");
  AddCommon(pull, *args, false);
  pull->add_flag("--allow-mass-delete", args->allow_mass_delete,
                 "Confirm a pull that deletes more than the configured share of local files");
  AddMergeOptions(pull, *args);
  pull->callback([&context, args] {
    Result<PullReport> result = WithPolicy<PullReport>(*args, [&](SyncOptions o) {
      o.progress = context.progress.progress();
      return SyncPull(VaultPath(*args), o);
    });
    context.progress.End(result.ok() ? result->store_usage : std::nullopt);
    // A partial pull prints its per-item status, then its error (Finish);
    // its exit code is the error's.
    context.exit_code = Finish(context, result);
  });

  RegisterMergePreview(*sync, context);
}

}  // namespace hx::cli
