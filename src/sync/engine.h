// The hx sync engine: the library API the CLI (and later the RPC server and
// the watch daemon) call. Each operation takes the vault folder, an optional
// target URI (it must match the one given at init, which is remembered), and
// `now_ms` — the only clock the engine knows.
//
//   SyncInit    makes a folder a vault of a store (creating the store's vault
//               or joining an existing one with its passphrase)
//   SyncStatus  what would move: local changes, the remote head, last runs
//   SyncPush    publishes local changes (KC_SYNC_CONFLICT if the store moved on)
//   SyncPull    applies remote changes; when the same paths changed on both
//               sides the merge policy decides (default "none":
//               KC_SYNC_CONFLICT, nothing applied)
//   SyncConfigure  the vault's settings (the default merge policy)
//
// Every failure is an hx::Error with a stable KC_SYNC_* code; a failed
// operation leaves the vault and the store as they were or strictly better
// (e.g. uploaded objects that a retry reuses). Reports render as canonical
// JSON (for --json and RPC) and as text.
//
// Thread-safety: operations on distinct vaults may run concurrently; on one
// vault the second process/thread gets KC_SYNC_LOCKED (local flock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/error.h"
#include "merge/policy.h"
#include "obs/progress.h"
#include "obs/usage.h"
#include "os/env.h"
#include "store/store.h"
#include "store/target_uri.h"

namespace hx {

// Why the engine asks for a passphrase (sync/passphrase.h has the rules).
struct PassphraseRequest {
  enum class Purpose {
    // To open the vault's key wrap (joining, or a device with no cached key).
    kOpen,
    // To wrap the master key of a new vault (init), or the new passphrase of
    // hx key change-passphrase: a person at a prompt is asked twice.
    kCreate,
    // This device has its cached key and needs no passphrase; one given
    // anyway (a file, the environment) is checked against the store's wrap
    // so that a stale or mistyped one is reported. Never prompt for it.
    kCheck,
  };
  Purpose purpose = Purpose::kOpen;
  // kOpen: 1 for the first ask, n after n - 1 passphrases that did not open
  // the vault (at most kPassphraseTries). A source that cannot give another
  // one (a file, the environment: the same value would fail again) answers
  // nullopt to any attempt after the first.
  int attempt = 1;
};

// How many passphrases a person at a prompt may try to open a vault.
inline constexpr int kPassphraseTries = 3;

// Gives the passphrase for `request`. nullopt: none can be obtained (or no
// other one to try); an error stops the operation (e.g. the two entries of a
// new passphrase differ: KC_SYNC_INPUT_INVALID).
using PassphraseFn = std::function<Result<std::optional<std::string>>(const PassphraseRequest&)>;

// What a pull left at one path it applied (SyncOptions::on_applied).
struct AppliedPath {
  std::string_view path;  // vault-relative
  bool removed = false;   // the pull deleted it
  // A regular file: its lstat right after it was renamed into place (what
  // the stat cache records); false for a deletion, a directory, a symlink.
  bool has_stat = false;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
};

struct SyncOptions {
  // The target; empty means the one remembered at init. A different one is
  // KC_SYNC_TARGET_INVALID.
  std::string target_uri;
  TargetOptions target_options;
  // The current time (ms since the epoch): snapshot ids, lock expiry, reports.
  std::int64_t now_ms = 0;
  // The directory relative target paths are resolved against.
  std::string cwd;
  PassphraseFn passphrase;
  // Told about a problem that does not stop the operation (a passphrase
  // given to a device that uses its cached key does not open the store's
  // wrap). Null: nobody listens, and what only it would learn is not checked.
  std::function<void(const Error&)> warning;
  // Confirms a push or pull that the mass-delete guard would stop.
  bool allow_mass_delete = false;
  // How concurrent changes are resolved (merge/policy.h); nullopt: the
  // vault's configured default (.hx/config.json), itself "none" unless set.
  std::optional<MergePolicy> auto_merge;
  // manual_per_item: the decisions file (JSON, docs/FORMAT.md "Decisions
  // file"), relative to `cwd` unless absolute. Empty: none given.
  std::string decisions_file;
  // Wraps the opened store (tests inject faults or count requests here;
  // null: none).
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store;
  // Called at named points of push and pull ("push.after_head",
  // "pull.apply_item", ...; see docs/ARCHITECTURE.md): crash tests kill the
  // process there. Null: none.
  std::function<void(std::string_view point)> checkpoint;
  // Every local file-system call of the operation goes through this Env
  // (os/env.h; tests pass a FaultInjectingEnv). Null: Env::Default().
  Env* env = nullptr;
  // The clock for deadlines, backoff and elapsed time (base/clock.h; the
  // wall time of records is `now_ms`). Null: env's clock.
  Clock* clock = nullptr;
  // The agent under policy none (sync/hold.h): a pull holds the
  // conflicting paths (nothing applied there, PullReport::held names them)
  // and applies the rest; a push on such a base publishes the store's
  // version at the held paths and this device's changes elsewhere. The
  // commands leave it false: a conflict stops the whole pull.
  bool hold_conflicts = false;
  // Threads of the folder scan (0: the number of cores, at most 8). The
  // local fault sweep sets 1, so that the Nth call of the Env is the same
  // call on every run.
  int scan_threads = 0;
  // Where push, pull and link report their phases and how much is done
  // (obs/progress.h); the engine never prints. Default: no listener.
  obs::Progress progress;
  // The prices of the S3 cost estimate in reports (obs/usage.h; the CLI
  // reads HX_S3_PRICES). Default: AWS's list prices.
  obs::PriceTable prices;
  // Opens the session without any local write (hx explain, hx diag): the key
  // unlocked with the passphrase is not cached, the store's vault.json is not
  // remembered in the index.
  bool read_only = false;
  // Push only (the agent's batches): the vault-relative paths that changed
  // since the last push, as a hint that scopes the folder scan to them
  // (ScanOptions::scope: each path's directory is listed, a directory path
  // is walked whole; a move names both paths). Every other path keeps its
  // base entry, so the push is exactly as correct as a full one for these
  // paths and their siblings and finds nothing elsewhere. Unset, or naming
  // .hxignore: the whole folder is scanned.
  std::optional<std::vector<std::string>> scope;
  // Pull (and a push's merge): called once for every path the pull applied
  // (not joins, not failed or skipped items), after the items were applied
  // and before the index is written, on the calling thread. The agent
  // records what it installed (agent/batcher.h: the own-write filter).
  std::function<void(const AppliedPath&)> on_applied;

  void Checkpoint(std::string_view point) const {
    if (checkpoint) checkpoint(point);
  }
};

struct InitOptions {
  // Create an unencrypted vault (no passphrase); ignored when joining.
  bool no_encryption = false;
  // Argon2id cost for a new vault (tests lower it); 0 = the defaults.
  std::uint64_t kdf_opslimit = 0;
  std::uint64_t kdf_memlimit = 0;
  // The source of the vault id, master key, salt and node id (tests pin it
  // to get the same bytes twice). Null: the system CSPRNG.
  std::function<void(std::span<std::uint8_t>)> random;
};

struct ChangeSummary {
  std::uint64_t added = 0;
  std::uint64_t modified = 0;
  std::uint64_t deleted = 0;
  std::vector<std::string> paths;  // changed paths, sorted (capped in reports)
};

struct InitReport {
  std::string vault_path;
  std::string target;
  std::string vault_id;
  std::string node_id;
  bool created = false;  // false: joined an existing vault
  bool already_initialized = false;  // the folder was already a vault of this target
  bool encrypted = true;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// How far this device is behind the store's head: the snapshots published
// since its base and the file changes they carry.
struct BehindSummary {
  std::uint64_t snapshots = 0;
  // The added, modified and deleted files of the snapshots read (a file
  // changed in two of them counts twice).
  std::uint64_t files = 0;
  // False when only the newest kMaxBehindSnapshotsRead snapshots (or those
  // before one it could not read) were read: `files` counts theirs only.
  bool complete = true;
};
// The most snapshots status reads to count the files waiting.
inline constexpr std::uint64_t kMaxBehindSnapshotsRead = 20;

struct StatusReport {
  std::string vault_path;
  std::string target;
  std::string node_id;
  std::string vault_id;
  std::optional<std::uint64_t> remote_head_seq;
  std::optional<std::string> remote_snapshot_id;
  std::optional<std::uint64_t> base_head_seq;
  std::optional<std::string> base_snapshot_id;
  // Set when the store's head is not this device's base (a pull would bring
  // something in); the JSON carries "behind" only then.
  std::optional<BehindSummary> behind;
  ChangeSummary local_changes;
  // The time of this status (SyncOptions::now_ms): the text shows the last
  // push and pull as local times and how long ago they were.
  std::int64_t now_ms = 0;
  std::optional<std::int64_t> last_push_ms;
  std::optional<std::int64_t> last_pull_ms;
  nlohmann::json counters;     // objects imported/skipped by category
  nlohmann::json last_error;   // Error::ToJson() of the last failure, or null
  std::vector<std::string> scan_issues;  // unreadable/skipped items
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

struct PullItem {
  std::string path;
  std::string action;  // "write", "delete", "mkdir", "symlink", "join"
  std::string status;  // "applied", "skipped_local_change", "failed"
  std::optional<Error> error;
};

// How a merge policy resolved one conflicting path.
struct PullResolution {
  std::string path;
  // "kept_local", "kept_remote", "kept_both", or for the conservative family
  // "merged".
  std::string decision;
  // keep_both: where the losing version now lives (vault-relative), the same
  // name on every device.
  std::optional<std::string> renamed_to;
  // local_preferred / cloud_preferred: where the losing version was archived
  // (vault-relative, under .hx/archive/).
  std::optional<std::string> archived;
  std::string status;  // "applied", "failed"
  std::optional<Error> error;
};

struct PullReport {
  std::string target;
  std::string outcome;  // "applied", "up_to_date", "partial"
  std::optional<std::uint64_t> head_seq;
  std::optional<std::string> snapshot_id;
  ChangeSummary changes;  // applied remote changes
  std::uint64_t snapshots_read = 0;
  std::uint64_t trees_loaded = 0;
  std::uint64_t objects_fetched = 0;
  std::uint64_t bytes_fetched = 0;
  // The planned items with their status, in the plan's order: every item of
  // a pull of up to 1,000 items; beyond that the items not applied first,
  // then applied ones, 1,000 in all.
  std::vector<PullItem> items;
  // How many items are not listed in `items` (0 unless the pull had more
  // than 1,000); the JSON carries "items_omitted" only when it is not 0.
  std::uint64_t items_omitted = 0;
  // Set when some items failed (outcome "partial"): KC_SYNC_APPLY_FAILED
  // naming them. The others were applied; a later pull retries the rest.
  std::optional<Error> error;
  std::string policy = "none";  // the merge policy in effect
  // One per conflicting path the policy resolved, sorted by path.
  std::vector<PullResolution> resolutions;
  // What went wrong without undoing the pull: a store that refused this
  // device's manifest (read-only credentials) after everything was applied.
  // The JSON carries "warnings" only when there are some.
  std::vector<Error> warnings;
  // SyncOptions::hold_conflicts: the conflicting paths left as they are on
  // both sides (sorted). The JSON carries "held" only when there are some.
  std::vector<std::string> held;
  // What the operation cost at the store (requests by method, bytes, the
  // S3 estimate); set by SyncPull, and in a push's merged pull left unset
  // (the push's own covers it). The JSON carries "store_usage" when set.
  std::optional<obs::StoreUsage> store_usage;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

struct PushReport {
  std::string target;
  std::string outcome;  // "published", "up_to_date", "behind"
  std::optional<std::uint64_t> head_seq;
  std::optional<std::string> snapshot_id;
  ChangeSummary changes;
  std::uint64_t files_hashed = 0;
  std::uint64_t bytes_hashed = 0;
  std::uint64_t objects_uploaded = 0;
  std::uint64_t blobs_uploaded = 0;
  std::uint64_t bytes_uploaded = 0;
  std::vector<std::string> scan_issues;
  // The merge policy in effect ("none" unless --auto-merge or the vault's
  // default says otherwise).
  std::string policy = "none";
  // When the store had moved on and a policy other than none was in effect:
  // the pull that merged first (its resolutions say what was kept).
  std::optional<PullReport> merged;
  // What the push cost at the store (a merged pull's requests included);
  // the JSON carries "store_usage" when set (always, from SyncPush).
  std::optional<obs::StoreUsage> store_usage;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

Result<InitReport> SyncInit(const std::filesystem::path& vault, const SyncOptions& options,
                            const InitOptions& init);
Result<StatusReport> SyncStatus(const std::filesystem::path& vault, const SyncOptions& options);
Result<PushReport> SyncPush(const std::filesystem::path& vault, const SyncOptions& options);
// A pull that applied some items but not all returns a report whose `error`
// is KC_SYNC_APPLY_FAILED (the per-item status says which).
Result<PullReport> SyncPull(const std::filesystem::path& vault, const SyncOptions& options);

// The vault's settings. Unset fields are left as they are.
struct ConfigChanges {
  std::optional<MergePolicy> default_merge_policy = std::nullopt;
  // The local history cache's cap in bytes (0: off; versions/versions.h).
  // A smaller cap takes effect at the next pull's thinning.
  std::optional<std::uint64_t> versions_max_bytes = std::nullopt;
};
struct ConfigReport {
  std::string vault_path;
  std::string default_merge_policy;
  std::uint64_t versions_max_bytes = 0;
  bool changed = false;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};
// hx sync config: reads and changes .hx/config.json (local; never synced).
// Not a vault: KC_SYNC_STATE_FAILED "run hx sync init".
Result<ConfigReport> SyncConfigure(const std::filesystem::path& vault, const ConfigChanges& changes);

struct UnlockReport {
  std::string target;
  bool was_locked = false;
  std::optional<std::string> owner;  // the node that held it, if readable
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};
// hx sync unlock: removes the store's write lock whoever holds it — for a
// damaged lock file (which never expires) or a device that will never come
// back. Only safe when no device is syncing; the user says so by running it.
Result<UnlockReport> SyncUnlock(const std::filesystem::path& vault, const SyncOptions& options);

}  // namespace hx
