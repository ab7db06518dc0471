// hx sync log|restore|versions|diff|forget|prune|verify|repair: argument parsing and rendering over the
// history module (history/history.h, history/verify.h). The store is the one
// remembered at init.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "history/forget.h"
#include "history/history.h"
#include "history/prune.h"
#include "history/verify.h"

namespace hx::cli {
namespace {

struct HistoryArgs : VaultArgs {
  std::string path;
  std::string at;
  std::string to;
  bool local = false;  // restore --local: from the history cache
  std::string from_spec;
  std::string to_spec;
  std::size_t limit = 20;
  std::size_t offset = 0;
  std::string read_data;  // empty: no data read
  std::optional<std::uint64_t> seed;
  ForgetOptions forget;
  PruneOptions prune;
};

Result<VerifyOptions> MakeVerifyOptions(const HistoryArgs& args) {
  VerifyOptions verify;
  verify.seed = args.seed;
  if (args.read_data.empty()) return verify;
  std::string text = args.read_data;
  if (text.ends_with('%')) text.pop_back();
  char* end = nullptr;
  const double percent = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(percent > 0) || percent > 100) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "--read-data takes a percentage above 0 and at most 100 (e.g. --read-data=10), "
                 "not '" + args.read_data + "'");
  }
  verify.read_data_percent = percent;
  return verify;
}

// Renders like Finish; a report that found damage it did not fix exits
// kExitDamaged (docs/ERRORS.md).
template <typename R>
int FinishChecked(Context& context, const Result<R>& result) {
  const int code = Finish(context, result);
  return result.ok() && result->error ? kExitDamaged : code;
}

void AddDataOptions(CLI::App* cmd, HistoryArgs& args) {
  cmd->add_flag("--read-data{100}", args.read_data,
                "Also read the chunks: decrypt, decompress and hash each to its id "
                "(--read-data=PERCENT: a random subset of that share)");
  cmd->add_option("--seed", args.seed,
                  "The subset's seed (a report names the one it used, to repeat a run)");
}

}  // namespace

void RegisterHistory(CLI::App& sync, Context& context) {
  auto args = std::make_shared<HistoryArgs>();

  CLI::App* log = sync.add_subcommand(
      "log", "List the store's snapshots, newest first; with a path, only those that changed it");
  AddVaultArgs(log, *args, Target::kNone, Prompt::kAllowed);
  log->add_option("path", args->path, "A vault-relative path: its versions only");
  log->add_option("--limit", args->limit, "Snapshots per page (default 20, at most 10000)");
  log->add_option("--offset", args->offset,
                  "Skip this many (the previous page's next_offset: the cursor)");
  log->callback([&context, args] {
    context.exit_code =
        Finish(context, SyncLog(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed),
                                {args->path, args->limit, args->offset}));
  });

  CLI::App* restore = sync.add_subcommand(
      "restore",
      "Bring back a file or directory as it was in a snapshot, beside the current one as "
      "'PATH (restored <date>)' or into --to; never replaces anything");
  AddVaultArgs(restore, *args, Target::kNone, Prompt::kAllowed);
  restore->add_option("path", args->path, "The vault-relative file or directory")->required();
  restore->add_option("--at", args->at,
                      "The snapshot: an id (or 6+ of its first hex digits), a seq (#12) or a UTC "
                      "time (2026-12-06T08:04:38: the newest snapshot at or before it); default "
                      "the head. A path deleted there comes back as it was just before");
  restore->add_option("--to", args->to, "Write into this directory instead");
  restore->add_flag("--local", args->local,
                    "From this device's history cache .hx/versions/ (the versions pulls "
                    "replaced; see hx sync versions) instead of the store: offline, no "
                    "passphrase; --at is then a UTC time");
  restore->callback([&context, args] {
    context.exit_code = Finish(
        context, SyncRestore(AbsolutePath(args->vault),
                             MakeSyncOptions(*args, args->local ? Prompt::kNever : Prompt::kAllowed),
                             {args->path, args->at, args->to, args->local}));
  });

  CLI::App* versions = sync.add_subcommand(
      "versions",
      "List this device's history cache .hx/versions/: the versions pulls replaced or deleted "
      "(offline); hx sync restore --local brings one back");
  versions->add_option("vault_path", args->vault, "The vault folder")->required();
  versions->add_option("path", args->path, "A vault-relative path: its versions only");
  versions->callback([&context, args] {
    context.exit_code = Finish(context, SyncVersions(AbsolutePath(args->vault), args->path));
  });

  CLI::App* diff =
      sync.add_subcommand("diff", "List what changed between two snapshots (ids, seqs or times)");
  AddVaultArgs(diff, *args, Target::kNone, Prompt::kAllowed);
  diff->add_option("snapshot_a", args->from_spec, "The older snapshot")->required();
  diff->add_option("snapshot_b", args->to_spec, "The newer snapshot")->required();
  diff->callback([&context, args] {
    context.exit_code =
        Finish(context, SyncDiff(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed),
                                 args->from_spec, args->to_spec));
  });

  CLI::App* forget = sync.add_subcommand(
      "forget",
      "Mark snapshots as forgotten (a signed record in the store; nothing is deleted): those "
      "no rule keeps. The head and what each device last saw are always kept");
  AddVaultArgs(forget, *args, Target::kNone, Prompt::kAllowed);
  forget->add_option("--keep-last", args->forget.keep_last, "Keep the N newest snapshots");
  forget->add_option("--keep-within", args->forget.keep_within,
                     "Keep the snapshots made within this of the newest (36h, 7d, 2w, 6m, 1y)");
  forget->add_option("--keep-hourly", args->forget.keep_hourly,
                     "Keep the newest snapshot of each of the N newest hours that have one");
  forget->add_option("--keep-daily", args->forget.keep_daily, "... of each of N days (UTC)");
  forget->add_option("--keep-weekly", args->forget.keep_weekly, "... of each of N ISO weeks");
  forget->add_option("--keep-monthly", args->forget.keep_monthly, "... of each of N months");
  forget->add_option("--keep-yearly", args->forget.keep_yearly, "... of each of N years");
  forget->add_flag("--dry-run", args->forget.dry_run, "Show what would be forgotten; write nothing");
  forget->callback([&context, args] {
    context.exit_code = Finish(
        context, SyncForget(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed),
                            args->forget));
  });

  CLI::App* prune = sync.add_subcommand(
      "prune",
      "Delete the packs and forgotten snapshots no retained snapshot needs and repack packs "
      "that are mostly garbage: condemned first (prune.json), deleted by a later run once the "
      "grace period has passed; safe while other devices push");
  AddVaultArgs(prune, *args, Target::kNone, Prompt::kAllowed);
  prune->add_option("--grace", args->prune.grace,
                    "How long a pack stays condemned before a run deletes it (default 24h; 0: "
                    "condemn and delete in one run)");
  prune->add_flag("--dry-run", args->prune.dry_run, "Show what would be condemned and deleted");
  prune->add_option("--repack-below", args->prune.repack_below_percent,
                    "Repack a needed pack whose live bytes are below this percentage of its "
                    "objects' bytes (default 50; 0: never)")
      ->check(CLI::Range(0, 100));
  prune->callback([&context, args] {
    context.exit_code = Finish(
        context, SyncPrune(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed),
                           args->prune));
  });

  CLI::App* verify = sync.add_subcommand(
      "verify",
      "Check that every object the store's snapshots reference is there (and with --read-data "
      "that it opens and hashes to its id); names the paths damage affects");
  AddVaultArgs(verify, *args, Target::kNone, Prompt::kAllowed);
  AddDataOptions(verify, *args);
  verify->callback([&context, args] {
    Result<VerifyOptions> options = MakeVerifyOptions(*args);
    if (!options.ok()) {
      context.exit_code = Finish(context, Result<VerifyReport>(options.error()));
      return;
    }
    context.exit_code = FinishChecked(
        context,
        SyncVerify(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed), *options));
  });

  CLI::App* repair = sync.add_subcommand(
      "repair",
      "Write back the store's vault.json or head.json from this device, or accept a head "
      "restored from a backup; then put back damaged or missing objects this device's files "
      "still hold (needs the vault's key)");
  AddVaultArgs(repair, *args, Target::kOptional, Prompt::kAllowed);
  AddDataOptions(repair, *args);
  repair->callback([&context, args] {
    Result<VerifyOptions> options = MakeVerifyOptions(*args);
    if (!options.ok()) {
      context.exit_code = Finish(context, Result<FullRepairReport>(options.error()));
      return;
    }
    context.exit_code = FinishChecked(
        context, SyncRepairAll(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed),
                               *options));
  });
}

}  // namespace hx::cli
