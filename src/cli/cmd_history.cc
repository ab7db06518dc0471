// hx sync log|restore|diff|verify: argument parsing and rendering over the
// history module (history/history.h, history/verify.h). The store is the one
// remembered at init.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "history/history.h"

namespace hx::cli {
namespace {

struct HistoryArgs : VaultArgs {
  std::string path;
  std::string at;
  std::string to;
  std::string from_spec;
  std::string to_spec;
  std::size_t limit = 20;
  std::size_t offset = 0;
};

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
  restore->callback([&context, args] {
    context.exit_code = Finish(
        context, SyncRestore(AbsolutePath(args->vault), MakeSyncOptions(*args, Prompt::kAllowed),
                             {args->path, args->at, args->to}));
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
}

}  // namespace hx::cli
