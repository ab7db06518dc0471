// Governance commands over the engine (sync/governance.h):
//   hx lock add <vault> <path> [--ttl-ms N]    reserve a path (and what is beneath it)
//   hx lock remove <vault> <path> [--force]    release it (someone else's: --force)
//   hx lock list <vault>                       every lock, expired ones marked
//   hx member list <vault>                     the vault's devices and their roles
//   hx member set-role <vault> <node> <role>   make a device a reader or a writer
// The vault's store is the one given at init. The clock and the passphrase
// come from here, as for `hx sync`.
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "sync/governance.h"

namespace hx::cli {
namespace {

// A working day: long enough not to lapse mid-task, short enough that a
// forgotten lock frees itself by the next morning.
constexpr std::int64_t kDefaultLockTtlMs = 8 * 3600 * 1000;

struct GovernanceArgs : VaultArgs {
  std::string path;
  std::string node;
  std::string role;
  std::int64_t ttl_ms = kDefaultLockTtlMs;
  bool force = false;
};

SyncOptions MakeOptions(const GovernanceArgs& args) {
  return MakeSyncOptions(args, Prompt::kNever);
}

std::filesystem::path VaultPath(const GovernanceArgs& args) { return AbsolutePath(args.vault); }

void AddCommon(CLI::App* cmd, GovernanceArgs& args) {
  AddVaultArgs(cmd, args, Target::kNone, Prompt::kNever,
               "The time to act at, in ms since the epoch (default: the clock)");
}

void RegisterLock(CLI::App& app, Context& context, std::shared_ptr<GovernanceArgs> args) {
  CLI::App* lock = app.add_subcommand(
      "lock", "Reserve paths so that other devices do not auto-merge changes to them");
  lock->require_subcommand(1);

  CLI::App* add = lock->add_subcommand("add", "Lock a path (a directory: everything beneath it)");
  AddCommon(add, *args);
  add->add_option("path", args->path, "The path, relative to the vault folder")->required();
  add->add_option("--ttl-ms", args->ttl_ms, "How long the lock lasts (default 8 hours)");
  add->callback([&context, args] {
    context.exit_code = Finish(
        context, SyncLockAdd(VaultPath(*args), MakeOptions(*args), args->path, args->ttl_ms));
  });

  CLI::App* remove = lock->add_subcommand("remove", "Release a path's lock");
  AddCommon(remove, *args);
  remove->add_option("path", args->path, "The path, relative to the vault folder")->required();
  remove->add_flag("--force", args->force,
                   "Remove the lock even if another device holds it, or it is damaged");
  remove->callback([&context, args] {
    context.exit_code = Finish(
        context, SyncLockRemove(VaultPath(*args), MakeOptions(*args), args->path, args->force));
  });

  CLI::App* list = lock->add_subcommand("list", "Show every path lock");
  AddCommon(list, *args);
  list->callback([&context, args] {
    context.exit_code = Finish(context, SyncLockList(VaultPath(*args), MakeOptions(*args)));
  });
}

void RegisterMember(CLI::App& app, Context& context, std::shared_ptr<GovernanceArgs> args) {
  CLI::App* member = app.add_subcommand(
      "member", "Device roles: writers publish changes, readers only follow them");
  member->require_subcommand(1);

  CLI::App* list = member->add_subcommand("list", "Show the vault's devices and their roles");
  AddCommon(list, *args);
  list->callback([&context, args] {
    context.exit_code = Finish(context, SyncMemberList(VaultPath(*args), MakeOptions(*args)));
  });

  CLI::App* set_role = member->add_subcommand(
      "set-role", "Make a device a reader or a writer (only a writer may)");
  AddCommon(set_role, *args);
  set_role
      ->add_option("node_id", args->node,
                   "The device's node id, or a unique prefix of it (`hx member list`)")
      ->required();
  set_role->add_option("role", args->role, "reader or writer")->required();
  set_role->callback([&context, args] {
    Result<DeviceRole> role = ParseDeviceRole(args->role);
    if (!role.ok()) {
      context.exit_code = Emit(context.output, Result<Report>(role.error()));
      return;
    }
    context.exit_code = Finish(
        context, SyncMemberSetRole(VaultPath(*args), MakeOptions(*args), args->node, *role));
  });
}

}  // namespace

void RegisterGovernance(CLI::App& app, Context& context) {
  auto args = std::make_shared<GovernanceArgs>();
  RegisterLock(app, context, args);
  RegisterMember(app, context, args);
}

}  // namespace hx::cli
