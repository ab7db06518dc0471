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
#include "base/os_error.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "sync/engine.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadSmallFile(const fs::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OsError(SyncCode::kStateFailed, "cannot open", path, errno);
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return OsError(SyncCode::kStateFailed, "cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Error(SyncCode::kStateFailed, Category::kCorrupt,
                   path.string() + " is larger than any file hx writes there");
    }
  }
  ::close(fd);
  return out;
}

Status FsyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return OsError(SyncCode::kStateFailed, "cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return OsError(SyncCode::kStateFailed, "cannot sync directory", dir, err);
  return OkStatus();
}

// Takes the per-vault process lock (non-blocking).
Result<int> LockVault(const fs::path& dir) {
  const fs::path path = dir / "lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return OsError(SyncCode::kStateFailed, "cannot open", path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error(SyncCode::kLocked, Category::kLocked,
                   "another hx process is working on this vault (" + dir.parent_path().string() +
                       "); wait for it to finish")
          .With("path", dir.parent_path().string());
    }
    return OsError(SyncCode::kStateFailed, "cannot lock", path, err);
  }
  return fd;
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
Status ReplaceFile(const fs::path& path, std::initializer_list<std::string_view> pieces, int mode,
                   bool durable) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return OsError(SyncCode::kStateFailed, "cannot create", tmp, errno);
  for (const std::string_view bytes : pieces) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return OsError(SyncCode::kStateFailed, "cannot write", tmp, err);
      }
      done += static_cast<std::size_t>(n);
    }
  }
  // Data reaches the disk before the rename makes it visible, and the
  // directory entry is synced after, so a crash leaves the old or the new
  // file, never a torn one.
  if (durable && ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return OsError(SyncCode::kStateFailed, "cannot sync", tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return OsError(SyncCode::kStateFailed, "cannot rename into", path, err);
  }
  return durable ? FsyncDir(path.parent_path()) : OkStatus();
}

}  // namespace

Status LocalState::WriteFileAtomic(const fs::path& path, std::string_view bytes, int mode) {
  return ReplaceFile(path, {bytes}, mode, /*durable=*/true);
}

Status LocalState::WriteCacheFile(const fs::path& path,
                                  std::initializer_list<std::string_view> pieces) {
  // No fsync: a crash may leave the old file, the new one, or (on some file
  // systems) an empty or torn one, which the reader's checksum refuses.
  return ReplaceFile(path, pieces, 0644, /*durable=*/false);
}

bool LocalState::Exists(const fs::path& vault) {
  std::error_code ec;
  return fs::is_regular_file(vault / kLocalDirName / "config.json", ec);
}

Result<LocalState> LocalState::Create(const fs::path& vault, const LocalConfig& config) {
  std::error_code ec;
  if (!fs::is_directory(vault, ec)) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "the vault folder " + vault.string() + " does not exist; create it first")
        .With("path", vault.string());
  }
  const fs::path dir = vault / kLocalDirName;
  for (const fs::path& d : {dir, dir / "staging", dir / "reports", dir / "conflicts"}) {
    fs::create_directories(d, ec);
    if (ec) return OsError(SyncCode::kStateFailed, "cannot create", d, ec.value());
  }
  HX_ASSIGN_OR_RETURN(const int lock_fd, LockVault(dir));
  LocalState state(vault, config, lock_fd);
  if (Exists(vault)) {
    return Error(SyncCode::kStateFailed, Category::kAborted,
                 vault.string() + " is already an hx vault");
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes, EncodeLocalConfig(config));
  HX_RETURN_IF_ERROR(WriteFileAtomic(dir / "config.json", bytes));
  return state;
}

Result<LocalState> LocalState::Open(const fs::path& vault) {
  if (!Exists(vault)) {
    std::error_code ec;
    if (!fs::is_directory(vault, ec)) {
      return Error(SyncCode::kStateFailed, Category::kNotFound,
                   "the vault folder " + vault.string() +
                       " is missing (an unmounted disk?); nothing was changed")
          .With("path", vault.string());
    }
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 vault.string() + " is not an hx vault yet: run hx sync init " + vault.string() +
                     " <target>")
        .With("path", vault.string());
  }
  const fs::path dir = vault / kLocalDirName;
  HX_ASSIGN_OR_RETURN(const int lock_fd, LockVault(dir));
  LocalState state(vault, LocalConfig{}, lock_fd);
  HX_ASSIGN_OR_RETURN(const std::string bytes, ReadSmallFile(dir / "config.json", 64 << 10));
  HX_ASSIGN_OR_RETURN(state.config_, ParseLocalConfig(bytes));
  std::error_code ec;
  for (const fs::path& d : {dir / "staging", dir / "reports", dir / "conflicts"}) {
    fs::create_directories(d, ec);
    if (ec) return OsError(SyncCode::kStateFailed, "cannot create", d, ec.value());
  }
  return state;
}

LocalState::LocalState(LocalState&& other) noexcept
    : vault_(std::move(other.vault_)),
      config_(std::move(other.config_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)) {}

LocalState& LocalState::operator=(LocalState&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    vault_ = std::move(other.vault_);
    config_ = std::move(other.config_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
  }
  return *this;
}

LocalState::~LocalState() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // drops the flock
}

Status LocalState::UpdateConfig(const LocalConfig& config) {
  if (config.node_id != config_.node_id || config.vault_id != config_.vault_id ||
      config.target_uri != config_.target_uri) {
    return Error(SyncCode::kInternal, Category::kInternal,
                 "a config update may not change the node, vault or target");
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes, EncodeLocalConfig(config));
  HX_RETURN_IF_ERROR(WriteFileAtomic(dir() / "config.json", bytes));
  config_ = config;
  return OkStatus();
}

Result<std::optional<SecretKey>> LocalState::LoadKey() const {
  const fs::path path = dir() / "key";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<SecretKey>();
    return OsError(SyncCode::kStateFailed, "cannot open", path, errno);
  }
  // Read straight into the key, so no other copy of it is left in memory.
  SecretKey key;
  std::size_t done = 0;
  std::uint8_t extra = 0;
  ssize_t n = 0;
  auto out = key.mutable_bytes();
  while (done < out.size() && (n = ::read(fd, out.data() + done, out.size() - done)) > 0) {
    done += static_cast<std::size_t>(n);
  }
  const bool longer = done == out.size() && ::read(fd, &extra, 1) > 0;
  ::close(fd);
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
      dir() / "key", std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
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
  report.default_merge_policy = std::string(MergePolicyName(local.config().default_merge_policy));
  return report;
}

}  // namespace hx
