// The situation-specific next steps of errors (Error::next_step): where the
// code's generic sentence (NextStepFor) would send the user the wrong way,
// the site that fails sets one of these. One place for all of them, so that
// the CLI's test can check that every command a next step names exists
// (src/cli/next_step_test.cc) and the sync tests that each site sets its own
// (src/sync/next_step_site_test.cc). docs/ERRORS.md lists them.
//
// A command is written as the user types it, quoted: 'hx sync unlock
// <vault>'; placeholders in angle brackets.
#pragma once

#include <array>
#include <string_view>

namespace hx::next_steps {

// A pull that applied some items but not all (KC_SYNC_APPLY_FAILED).
inline constexpr std::string_view kPartialPull =
    "Run 'hx sync pull <vault>' again later for the items left; if a store object is damaged, "
    "'hx sync verify <vault> --read-data' names it and 'hx sync repair <vault> --read-data' puts "
    "back what a device still has.";
// A link that linked some items but not all (KC_SYNC_APPLY_FAILED).
inline constexpr std::string_view kPartialLink =
    "Fix what the first failure names (or list the path in .hxignore), then run "
    "'hx sync link <vault> <target>' again to finish; the items linked stay linked.";
// The mass-delete guard stopped a push or a pull.
inline constexpr std::string_view kMassDeletePush =
    "If the vault folder is on a disk that is not mounted, mount it; if you really deleted those "
    "files, confirm with 'hx sync push <vault> --allow-mass-delete'.";
inline constexpr std::string_view kMassDeletePull =
    "If the deletions on the other device were meant, confirm with "
    "'hx sync pull <vault> --allow-mass-delete'.";
// The store's write lock cannot be read (it never expires by itself).
inline constexpr std::string_view kDamagedStoreLock =
    "If no device is syncing, remove the lock with 'hx sync unlock <vault>', then run the "
    "command again.";
// Another hx process on this device holds the vault's local lock.
inline constexpr std::string_view kLocalProcessLock =
    "Another hx process on this device (a push, a pull or 'hx sync watch') is using this vault; "
    "wait for it to finish, or stop it, then run the command again.";
// A passphrase is needed and none was given.
inline constexpr std::string_view kPassphraseMissing =
    "Give the vault's passphrase: set HX_PASSPHRASE, pass --passphrase-file FILE, or run on a "
    "terminal to be asked for it.";
// A push found that the store moved on (policy none).
inline constexpr std::string_view kPushBehind =
    "Run 'hx sync pull <vault>' to bring in the other devices' changes, then push again.";
// The target given is not the one the vault was initialized with.
inline constexpr std::string_view kTargetMismatch =
    "Leave out the target (the vault remembers its own), or give the one shown as 'expected'.";
// The store lost vault.json but holds this vault's data.
inline constexpr std::string_view kVaultJsonLost =
    "Run 'hx sync repair <vault>' on a device of this vault to write vault.json back; never "
    "'hx sync init' a new vault over the old data.";
// A path lock of another device blocks a lock or its removal.
inline constexpr std::string_view kPathLockHeld =
    "See who holds it with 'hx lock list <vault>'; wait for it to expire or for its owner to "
    "remove it ('hx lock remove <vault> <path> --force' removes it anyway).";

// A command that needs a vault was given a folder that is not one.
inline constexpr std::string_view kNotAVault =
    "Make the folder a vault first: 'hx sync init <vault> <target>' (a new or empty folder), or "
    "'hx sync link <vault> <target>' (a folder whose files should join an existing vault).";

// `hx sync watch` on a vault an agent already watches.
inline constexpr std::string_view kAgentRunning =
    "One 'hx sync watch' runs per vault and one is running ('hx sync status <vault>' shows its "
    "pid): let it sync, or stop it first.";

// Every next step above, for the checks that they name real commands.
inline constexpr std::array<std::string_view, 13> kAll = {
    kPartialPull,       kPartialLink,   kMassDeletePush, kMassDeletePull,
    kDamagedStoreLock,  kLocalProcessLock, kPassphraseMissing, kPushBehind,
    kTargetMismatch,    kVaultJsonLost, kPathLockHeld,   kNotAVault,
    kAgentRunning};

}  // namespace hx::next_steps
