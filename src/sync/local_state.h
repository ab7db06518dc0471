// A device's local state of a vault: the <vault>/.hx/ folder, never synced.
//
//   .hx/config.json   canonical JSON: node id, vault id, the target given at
//                     init (canonical URI + S3 options), settings
//   .hx/key           the unlocked master key (32 raw bytes, mode 0600), so
//                     the passphrase is asked once per device
//   .hx/index.sqlite  the local index (index/index.h), rebuildable; it also
//                     keeps the exact bytes of the store's vault.json, which
//                     hx sync repair writes back if the store loses it
//   .hx/baseline      the scan baseline (scan/baseline.h), a cache that lets
//                     an unchanged folder be recognised in one walk
//   .hx/lock          flock'ed while an hx process works on the vault
//   .hx/staging/      downloads being assembled (same file system as the
//                     vault, so a finished file is renamed into place)
//   .hx/reports/      reports of pulls and links
//   .hx/conflicts/    conflict artifacts with plaintext paths
//   .hx/archive/      versions a merge policy replaced (sync/archive.h)
//   .hx/versions/     versions pulls replaced or deleted: the local history
//                     cache (versions/versions.h), capped and thinned
//
// Opening takes the process lock: a second hx process on the same vault gets
// KC_SYNC_LOCKED instead of racing the first. The lock is released when the
// LocalState is destroyed (or the process dies: the kernel drops flocks).
//
// Every file-system call goes through the Env given to Create/Open (the
// process's by default), which must outlive the LocalState.
//
// Thread-safety: not thread-safe; one LocalState per process and vault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>

#include "base/error.h"
#include "crypto/secret.h"
#include "merge/policy.h"
#include "os/env.h"
#include "store/target_uri.h"
#include "versions/versions.h"

namespace hx {

inline constexpr int kLocalFormatVersion = 1;
inline constexpr std::string_view kLocalDirName = ".hx";

struct LocalConfig {
  std::string node_id;   // 32 lowercase hex, random at init
  std::string vault_id;  // 32 lowercase hex
  // The target given at init (canonical URI and its S3 options).
  std::string target_uri;
  TargetOptions target_options;
  // The mass-delete guard: a push or pull that would delete more than this
  // share (percent) of the vault's files stops unless confirmed.
  int mass_delete_max_share_pct = 50;
  // The merge policy of a pull or push without --auto-merge. Stored as
  // "default_merge_policy" only when it is not "none" (older configs lack it).
  MergePolicy default_merge_policy = MergePolicy::kNone;
  // The local history cache's size cap (versions/versions.h; 0: off).
  // Stored as "versions_max_bytes" only when it is not the default.
  std::uint64_t versions_max_bytes = kDefaultVersionsMaxBytes;
};

class LocalState {
 public:
  // Creates <vault>/.hx/ with `config` (the vault folder must exist). Fails
  // if .hx/config.json exists already.
  static Result<LocalState> Create(const std::filesystem::path& vault, const LocalConfig& config,
                                   Env& env = Env::Default());
  // Opens an existing .hx/. Not initialized: KC_SYNC_STATE_FAILED,
  // Category::kNotFound, "run hx sync init". Another hx process holds the
  // vault: KC_SYNC_LOCKED.
  static Result<LocalState> Open(const std::filesystem::path& vault, Env& env = Env::Default());
  // Whether <vault>/.hx/config.json exists. Only "no such file" (ENOENT,
  // ENOTDIR) is false: a failure to look (EACCES or EIO on .hx/) is
  // KC_SYNC_STATE_FAILED with the errno's category (auth, io) naming the
  // path and saying what to do — never "not initialized", whose advice
  // (hx sync init) would be wrong.
  static Result<bool> Exists(const std::filesystem::path& vault, Env& env = Env::Default());

  LocalState(LocalState&& other) noexcept;
  LocalState& operator=(LocalState&& other) noexcept;
  LocalState(const LocalState&) = delete;
  LocalState& operator=(const LocalState&) = delete;
  ~LocalState();

  const LocalConfig& config() const { return config_; }
  // The Env every file-system call of this state goes through.
  Env& env() const { return *env_; }
  const std::filesystem::path& vault() const { return vault_; }
  std::filesystem::path dir() const { return vault_ / kLocalDirName; }
  std::filesystem::path index_path() const { return dir() / "index.sqlite"; }
  std::filesystem::path staging_dir() const { return dir() / "staging"; }
  std::filesystem::path reports_dir() const { return dir() / "reports"; }
  std::filesystem::path conflicts_dir() const { return dir() / "conflicts"; }
  std::filesystem::path baseline_path() const { return dir() / "baseline"; }

  // Replaces .hx/config.json (atomically) with `config`, which must keep the
  // node, vault and target of this state.
  Status UpdateConfig(const LocalConfig& config);

  // The cached master key, or nullopt if none is saved.
  Result<std::optional<SecretKey>> LoadKey() const;
  // Saves the master key (0600, written atomically).
  Status SaveKey(const SecretKey& key) const;

  // Writes `bytes` to `path` atomically and durably (temp, fsync, rename,
  // fsync of the directory). Without an Env: Env::Default().
  static Status WriteFileAtomic(Env& env, const std::filesystem::path& path,
                                std::string_view bytes, int mode = 0644);
  static Status WriteFileAtomic(const std::filesystem::path& path, std::string_view bytes,
                                int mode = 0644);
  // The first name of "<stem><ext>", "<stem>-2<ext>", "<stem>-3<ext>", ...
  // that nothing in `dir` has yet: a file named after the time (a report)
  // never replaces the one a command rerun in the same millisecond wrote.
  // The caller holds the vault's lock. Errors: looking fails (the errno's
  // category, naming the file).
  static Result<std::string> FreeFileName(Env& env, const std::filesystem::path& dir,
                                          std::string_view stem, std::string_view ext);

  // Replaces `path` with `bytes` (temp + rename, so readers see the old or
  // the new file) without syncing: for caches that check their own
  // integrity and are rebuilt when damaged (.hx/baseline).
  // The file's bytes may be given in pieces (written one after the other).
  static Status WriteCacheFile(Env& env, const std::filesystem::path& path,
                               std::initializer_list<std::string_view> pieces);
  static Status WriteCacheFile(const std::filesystem::path& path,
                               std::initializer_list<std::string_view> pieces);

 private:
  LocalState(std::filesystem::path vault, LocalConfig config, int lock_fd, Env& env)
      : vault_(std::move(vault)), config_(std::move(config)), lock_fd_(lock_fd), env_(&env) {}

  std::filesystem::path vault_;
  LocalConfig config_;
  int lock_fd_ = -1;
  Env* env_ = &Env::Default();
};

// The canonical JSON of a local config, and its strict parser.
Result<std::string> EncodeLocalConfig(const LocalConfig& config);
Result<LocalConfig> ParseLocalConfig(std::string_view bytes);

}  // namespace hx
