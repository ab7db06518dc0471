#include "sync/local_state.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/next_steps.h"
#include "base/os_error.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "sync/engine.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadSmallFile(Env& env, const fs::path& path, std::size_t max_bytes) {
  int raw = -1;
  if (const int err = env.Open(AT_FDCWD, path.c_str(), O_RDONLY, 0, &raw); err != 0) {
    return OsError(SyncCode::kStateFailed, "cannot open", path, err);
  }
  const Fd fd(env, raw);
  std::string out;
  if (const int err = ReadAll(env, fd.get(), max_bytes, &out); err != 0) {
    if (err == EFBIG) {
      return Error(SyncCode::kStateFailed, Category::kCorrupt,
                   path.string() + " is larger than any file hx writes there")
          .With("path", path.string());
    }
    return OsError(SyncCode::kStateFailed, "cannot read", path, err);
  }
  return out;
}

Status FsyncDir(Env& env, const fs::path& dir) {
  int raw = -1;
  if (const int err = env.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY, 0, &raw); err != 0) {
    return OsError(SyncCode::kStateFailed, "cannot open directory", dir, err);
  }
  const Fd fd(env, raw);
  if (const int err = env.Fsync(fd.get()); err != 0) {
    return OsError(SyncCode::kStateFailed, "cannot sync directory", dir, err);
  }
  return OkStatus();
}

// mkdir -p `dir` (its parents must exist up to `base`, which exists).
Status MakeDirs(Env& env, const fs::path& base, const fs::path& dir) {
  fs::path at = base;
  for (const fs::path& part : dir.lexically_relative(base)) {
    if (part.empty() || part == ".") continue;
    at /= part;
    int err = env.MkdirAt(AT_FDCWD, at.c_str(), 0755);
    if (err == EEXIST) {
      // There already: fine if it is a directory (a failure to look is
      // reported as itself).
      struct stat st;
      err = env.StatAt(AT_FDCWD, at.c_str(), &st, 0);
      if (err == 0 && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    }
    if (err != 0) return OsError(SyncCode::kStateFailed, "cannot create", at, err);
  }
  return OkStatus();
}

// 0 if `path` is a directory, ENOENT if it is missing or not a directory,
// else the errno of looking.
int CheckDirectory(Env& env, const fs::path& path) {
  struct stat st;
  const int err = env.StatAt(AT_FDCWD, path.c_str(), &st, 0);
  if (err == ENOTDIR || (err == 0 && !S_ISDIR(st.st_mode))) return ENOENT;
  return err;
}

// Takes the per-vault process lock (non-blocking).
Result<int> LockVault(Env& env, const fs::path& dir) {
  const fs::path path = dir / "lock";
  int raw = -1;
  if (const int err = env.Open(AT_FDCWD, path.c_str(), O_RDWR | O_CREAT, 0644, &raw); err != 0) {
    return OsError(SyncCode::kStateFailed, "cannot open", path, err);
  }
  Fd fd(env, raw);
  if (const int err = env.Flock(fd.get(), LOCK_EX | LOCK_NB); err != 0) {
    fd.reset();
    if (err == EWOULDBLOCK) {
      return Error(SyncCode::kLocked, Category::kLocked,
                   "another hx process is working on this vault (" + dir.parent_path().string() +
                       "); wait for it to finish")
          .With("path", dir.parent_path().string())
          .WithNextStep(std::string(next_steps::kLocalProcessLock));
    }
    return OsError(SyncCode::kStateFailed, "cannot lock", path, err);
  }
  return fd.release();
}

}  // namespace

Result<std::string> EncodeLocalConfig(const LocalConfig& config) {
  nlohmann::json j = {
      {"format_version", kLocalFormatVersion},
      {"mass_delete_max_share_pct", config.mass_delete_max_share_pct},
      {"node_id", config.node_id},
      {"target", config.target_uri},
      {"target_endpoint", config.target_options.endpoint},
      {"target_path_style", config.target_options.path_style},
      {"target_region", config.target_options.region},
      {"vault_id", config.vault_id},
  };
  if (config.default_merge_policy != MergePolicy::kNone) {
    j["default_merge_policy"] = std::string(MergePolicyName(config.default_merge_policy));
  }
  if (config.versions_max_bytes != kDefaultVersionsMaxBytes) {
    j["versions_max_bytes"] = config.versions_max_bytes;
  }
  return WriteCanonicalJson(j);
}

Result<LocalConfig> ParseLocalConfig(std::string_view bytes) {
  auto fail = [](const Error& e) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 ".hx/config.json is damaged (" + e.message +
                     "); re-run hx sync init on this folder to repair it");
  };
  auto parsed = ParseJson(bytes);
  if (!parsed.ok()) return fail(parsed.error());
  auto fields = JsonFields::Of(*parsed, "config.json");
  if (!fields.ok()) return fail(fields.error());
  JsonFields& f = *fields;
  auto version = f.Int("format_version");
  if (!version.ok()) return fail(version.error());
  if (*version < 1)
    return fail(InvalidInput(SyncCode::kInputInvalid, "format_version must be >= 1"));
  if (*version != kLocalFormatVersion) {
    return Error(SyncCode::kStateFailed, Category::kUnsupported,
                 ".hx/config.json was made by a newer hx (format " + std::to_string(*version) +
                     "); upgrade hx");
  }
  LocalConfig config;
  auto read = [&]() -> Status {
    HX_ASSIGN_OR_RETURN(config.node_id, f.String("node_id"));
    HX_ASSIGN_OR_RETURN(config.vault_id, f.String("vault_id"));
    HX_ASSIGN_OR_RETURN(config.target_uri, f.String("target"));
    HX_ASSIGN_OR_RETURN(config.target_options.endpoint, f.String("target_endpoint"));
    HX_ASSIGN_OR_RETURN(config.target_options.path_style, f.Bool("target_path_style"));
    HX_ASSIGN_OR_RETURN(config.target_options.region, f.String("target_region"));
    HX_ASSIGN_OR_RETURN(const std::int64_t pct, f.Int("mass_delete_max_share_pct"));
    if (pct < 0 || pct > 100) {
      return InvalidInput(SyncCode::kInputInvalid, "mass_delete_max_share_pct must be 0..100");
    }
    config.mass_delete_max_share_pct = static_cast<int>(pct);
    if (f.Has("default_merge_policy")) {
      HX_ASSIGN_OR_RETURN(const std::string name, f.String("default_merge_policy"));
      HX_ASSIGN_OR_RETURN(config.default_merge_policy, ParseMergePolicy(name));
    }
    if (f.Has("versions_max_bytes")) {
      HX_ASSIGN_OR_RETURN(const std::int64_t cap, f.Int("versions_max_bytes"));
      if (cap < 0) return InvalidInput(SyncCode::kInputInvalid, "versions_max_bytes must be >= 0");
      config.versions_max_bytes = static_cast<std::uint64_t>(cap);
    }
    return f.RejectUnknownFields();
  };
  if (Status s = read(); !s.ok()) return fail(s.error());
  if (!IsLowerHex(config.node_id, 32) || !IsLowerHex(config.vault_id, 32)) {
    return fail(
        InvalidInput(SyncCode::kInputInvalid, "node_id and vault_id must be 32 hex digits"));
  }
  return config;
}

namespace {

// Temp file, (fsync if `durable`), rename over `path`, (fsync of the
// directory if `durable`).
Status ReplaceFile(Env& env, const fs::path& path, std::initializer_list<std::string_view> pieces,
                   int mode, bool durable) {
  const fs::path tmp = path.string() + ".tmp";
  int raw = -1;
  if (const int err = env.Open(AT_FDCWD, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode, &raw);
      err != 0) {
    return OsError(SyncCode::kStateFailed, "cannot create", tmp, err);
  }
  Fd fd(env, raw);
  auto fail = [&](std::string_view what, const fs::path& where, int err) {
    fd.reset();
    (void)env.UnlinkAt(AT_FDCWD, tmp.c_str(), 0);
    return OsError(SyncCode::kStateFailed, what, where, err);
  };
  for (const std::string_view bytes : pieces) {
    if (const int err = WriteAll(env, fd.get(), bytes); err != 0) {
      return fail("cannot write", tmp, err);
    }
  }
  // Data reaches the disk before the rename makes it visible, and the
  // directory entry is synced after, so a crash leaves the old or the new
  // file, never a torn one.
  if (durable) {
    if (const int err = env.Fsync(fd.get()); err != 0) return fail("cannot sync", tmp, err);
  }
  // close() can report a deferred write error (NFS, quotas).
  if (const int err = fd.reset(); err != 0) return fail("cannot write", tmp, err);
  if (const int err = env.RenameAt(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), 0); err != 0) {
    return fail("cannot rename into", path, err);
  }
  return durable ? FsyncDir(env, path.parent_path()) : OkStatus();
}

}  // namespace

Status LocalState::WriteFileAtomic(const fs::path& path, std::string_view bytes, int mode) {
  return WriteFileAtomic(Env::Default(), path, bytes, mode);
}

Status LocalState::WriteFileAtomic(Env& env, const fs::path& path, std::string_view bytes,
                                   int mode) {
  return ReplaceFile(env, path, {bytes}, mode, /*durable=*/true);
}

Result<std::string> LocalState::FreeFileName(Env& env, const fs::path& dir, std::string_view stem,
                                             std::string_view ext) {
  constexpr int kMaxVariants = 10000;
  for (int n = 1; n <= kMaxVariants; ++n) {
    std::string name(stem);
    if (n > 1) name += "-" + std::to_string(n);
    name += ext;
    const fs::path path = dir / name;
    struct stat st;
    const int err = env.StatAt(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (err == ENOENT) return name;
    if (err != 0) return OsError(SyncCode::kStateFailed, "cannot inspect", path, err);
  }
  return Error(SyncCode::kStateFailed, Category::kIo,
               dir.string() + " already holds " + std::to_string(kMaxVariants) + " files " +
                   std::string(stem) + "-N" + std::string(ext) + "; remove old ones")
      .With("path", dir.string());
}

Status LocalState::WriteCacheFile(const fs::path& path,
                                  std::initializer_list<std::string_view> pieces) {
  return WriteCacheFile(Env::Default(), path, pieces);
}

Status LocalState::WriteCacheFile(Env& env, const fs::path& path,
                                  std::initializer_list<std::string_view> pieces) {
  // No fsync: a crash may leave the old file, the new one, or (on some file
  // systems) an empty or torn one, which the reader's checksum refuses.
  return ReplaceFile(env, path, pieces, 0644, /*durable=*/false);
}

Result<bool> LocalState::Exists(const fs::path& vault, Env& env) {
  struct stat st;
  const fs::path config = vault / kLocalDirName / "config.json";
  const int err = env.StatAt(AT_FDCWD, config.c_str(), &st, 0);
  if (err == ENOENT || err == ENOTDIR) return false;
  if (err != 0) {
    return OsError(SyncCode::kStateFailed, "cannot look at this device's state", config, err,
                   "hx keeps it in .hx/ inside the vault folder: fix the permissions of .hx/ (or "
                   "the disk) and run the command again");
  }
  return S_ISREG(st.st_mode);
}

Result<LocalState> LocalState::Create(const fs::path& vault, const LocalConfig& config, Env& env) {
  if (const int err = CheckDirectory(env, vault); err != 0 && err != ENOENT) {
    return OsError(SyncCode::kStateFailed, "cannot read the vault folder", vault, err);
  } else if (err == ENOENT) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "the vault folder " + vault.string() + " does not exist; create it first")
        .With("path", vault.string());
  }
  const fs::path dir = vault / kLocalDirName;
  for (const fs::path& d : {dir, dir / "staging", dir / "reports", dir / "conflicts"}) {
    HX_RETURN_IF_ERROR(MakeDirs(env, vault, d));
  }
  HX_ASSIGN_OR_RETURN(const int lock_fd, LockVault(env, dir));
  LocalState state(vault, config, lock_fd, env);
  HX_ASSIGN_OR_RETURN(const bool exists, Exists(vault, env));
  if (exists) {
    return Error(SyncCode::kStateFailed, Category::kAborted,
                 vault.string() + " is already an hx vault");
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes, EncodeLocalConfig(config));
  HX_RETURN_IF_ERROR(WriteFileAtomic(env, dir / "config.json", bytes));
  return state;
}

Result<LocalState> LocalState::Open(const fs::path& vault, Env& env) {
  // Only "no such file" means "not a vault": any other failure to look is
  // reported as what it is (an unreadable disk is not an uninitialized
  // folder, and "run init" would be the wrong advice).
  const fs::path config_path = vault / kLocalDirName / "config.json";
  struct stat st;
  const int config_err = env.StatAt(AT_FDCWD, config_path.c_str(), &st, 0);
  if (config_err != 0 && config_err != ENOENT && config_err != ENOTDIR) {
    return OsError(SyncCode::kStateFailed, "cannot read", config_path, config_err);
  }
  if (config_err != 0 || !S_ISREG(st.st_mode)) {
    const int vault_err = CheckDirectory(env, vault);
    if (vault_err != 0 && vault_err != ENOENT) {
      return OsError(SyncCode::kStateFailed, "cannot read the vault folder", vault, vault_err);
    }
    if (vault_err != 0) {
      return Error(SyncCode::kStateFailed, Category::kNotFound,
                   "the vault folder " + vault.string() +
                       " is missing (an unmounted disk?); nothing was changed")
          .With("path", vault.string());
    }
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 vault.string() + " is not an hx vault yet: run hx sync init " + vault.string() +
                     " <target>")
        .With("path", vault.string())
        .WithNextStep(std::string(next_steps::kNotAVault));
  }
  const fs::path dir = vault / kLocalDirName;
  HX_ASSIGN_OR_RETURN(const int lock_fd, LockVault(env, dir));
  LocalState state(vault, LocalConfig{}, lock_fd, env);
  HX_ASSIGN_OR_RETURN(const std::string bytes,
                      ReadSmallFile(env, dir / "config.json", 64 << 10));
  HX_ASSIGN_OR_RETURN(state.config_, ParseLocalConfig(bytes));
  for (const fs::path& d : {dir / "staging", dir / "reports", dir / "conflicts"}) {
    HX_RETURN_IF_ERROR(MakeDirs(env, dir, d));
  }
  return state;
}

LocalState::LocalState(LocalState&& other) noexcept
    : vault_(std::move(other.vault_)),
      config_(std::move(other.config_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      env_(other.env_) {}

LocalState& LocalState::operator=(LocalState&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) (void)env_->Close(lock_fd_);
    vault_ = std::move(other.vault_);
    config_ = std::move(other.config_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    env_ = other.env_;
  }
  return *this;
}

LocalState::~LocalState() {
  if (lock_fd_ >= 0) (void)env_->Close(lock_fd_);  // drops the flock
}

Status LocalState::UpdateConfig(const LocalConfig& config) {
  if (config.node_id != config_.node_id || config.vault_id != config_.vault_id ||
      config.target_uri != config_.target_uri) {
    return Error(SyncCode::kInternal, Category::kInternal,
                 "a config update may not change the node, vault or target");
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes, EncodeLocalConfig(config));
  HX_RETURN_IF_ERROR(WriteFileAtomic(*env_, dir() / "config.json", bytes));
  config_ = config;
  return OkStatus();
}

Result<std::optional<SecretKey>> LocalState::LoadKey() const {
  const fs::path path = dir() / "key";
  int raw = -1;
  if (const int err = env_->Open(AT_FDCWD, path.c_str(), O_RDONLY, 0, &raw); err != 0) {
    if (err == ENOENT) return std::optional<SecretKey>();
    return OsError(SyncCode::kStateFailed, "cannot open", path, err);
  }
  const Fd fd(*env_, raw);
  // Read straight into the key, so no other copy of it is left in memory.
  SecretKey key;
  std::size_t done = 0;
  std::uint8_t extra = 0;
  auto out = key.mutable_bytes();
  while (done < out.size()) {
    std::size_t n = 0;
    if (const int err = env_->Read(fd.get(), out.data() + done, out.size() - done, &n); err != 0) {
      return OsError(SyncCode::kStateFailed, "cannot read", path, err);
    }
    if (n == 0) break;
    done += n;
  }
  std::size_t more = 0;
  if (done == out.size()) {
    if (const int err = env_->Read(fd.get(), &extra, 1, &more); err != 0) {
      return OsError(SyncCode::kStateFailed, "cannot read", path, err);
    }
  }
  const bool longer = more > 0;
  if (done != kSecretKeySize || longer) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 path.string() + " is damaged; delete it and hx will ask for the passphrase")
        .With("path", path.string());
  }
  return std::optional<SecretKey>(std::move(key));
}

Status LocalState::SaveKey(const SecretKey& key) const {
  const auto bytes = key.bytes();
  return WriteFileAtomic(
      *env_, dir() / "key",
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
      0600);
}

Result<ConfigReport> SyncConfigure(const fs::path& vault, const ConfigChanges& changes) {
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault));
  ConfigReport report;
  report.vault_path = vault.string();
  LocalConfig config = local.config();
  if (changes.default_merge_policy &&
      *changes.default_merge_policy != config.default_merge_policy) {
    config.default_merge_policy = *changes.default_merge_policy;
    HX_RETURN_IF_ERROR(local.UpdateConfig(config));
    report.changed = true;
  }
  if (changes.versions_max_bytes && *changes.versions_max_bytes != config.versions_max_bytes) {
    config.versions_max_bytes = *changes.versions_max_bytes;
    HX_RETURN_IF_ERROR(local.UpdateConfig(config));
    report.changed = true;
  }
  report.default_merge_policy = std::string(MergePolicyName(local.config().default_merge_policy));
  report.versions_max_bytes = local.config().versions_max_bytes;
  return report;
}

}  // namespace hx
