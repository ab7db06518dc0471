// hx sync restore (history.h): a file or a directory as it was in a
// snapshot, written beside the current one (or into --to), never over
// anything.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <utility>

#include "base/hex.h"
#include "base/os_error.h"
#include "history/history.h"
#include "history/reader.h"
#include "os/vault_dir.h"
#include "sync/archive.h"
#include "sync/local_state.h"
#include "sync/session.h"
#include "versions/versions.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

// How many " N" suffixes a restored name may try before giving up.
constexpr int kMaxNameAttempts = 1000;

std::atomic<std::uint64_t> temp_counter{0};

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string LastComponent(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Where a restore writes: a root opened as a VaultDir (the vault, or --to
// outside it), the staging directory files are assembled in, and the area
// of the written paths.
struct Destination {
  std::optional<VaultDir> dir;
  std::string staging_rel;  // "" : the root itself
  VaultArea staging_area = VaultArea::kContent;
  std::string temp_prefix;
  bool in_vault = true;
};

Result<Destination> OpenDestination(const fs::path& vault, Env& env, const RestoreOptions& restore,
                                    const SyncOptions& options, std::string* base_rel) {
  Destination d;
  if (restore.to.empty()) {
    HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(env, vault));
    d.dir.emplace(std::move(dir));
    d.staging_rel = std::string(kVaultStateDirName) + "/staging";
    d.staging_area = VaultArea::kState;
    d.temp_prefix = "restore-";
    *base_rel = restore.path;
    return d;
  }
  fs::path to(restore.to);
  if (to.is_relative()) to = fs::path(options.cwd.empty() ? "." : options.cwd) / to;
  to = to.lexically_normal();
  const fs::path rel = to.lexically_relative(vault.lexically_normal());
  const std::string rel_text = rel.generic_string();
  if (!rel.empty() && rel_text != ".." && !rel_text.starts_with("../")) {
    // --to inside the vault: a content path like any other.
    std::string dir_rel = rel_text == "." ? std::string() : rel_text;
    while (!dir_rel.empty() && dir_rel.back() == '/') dir_rel.pop_back();
    if (!dir_rel.empty()) HX_RETURN_IF_ERROR(CheckUserPath(dir_rel));
    HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(env, vault));
    d.dir.emplace(std::move(dir));
    d.staging_rel = std::string(kVaultStateDirName) + "/staging";
    d.staging_area = VaultArea::kState;
    d.temp_prefix = "restore-";
    *base_rel = Join(dir_rel, LastComponent(restore.path));
    return d;
  }
  // Outside the vault: the directory (its parent must exist) is the root.
  if (const int err = env.MkdirAt(AT_FDCWD, to.c_str(), 0777); err != 0 && err != EEXIST) {
    return OsError(SyncCode::kApplyFailed, "cannot create", to, err);
  }
  HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(env, to));
  d.dir.emplace(std::move(dir));
  d.staging_rel = "";
  d.staging_area = VaultArea::kContent;
  d.temp_prefix = ".hx-restore-";
  d.in_vault = false;
  *base_rel = LastComponent(restore.path);
  return d;
}

// The first free name: `base` itself when `try_base`, else
// "<base> (restored <stamp>)", then "... <stamp> 2)", ...
Result<std::string> FreeName(const Destination& d, const std::string& base, bool try_base,
                             std::int64_t created_ms) {
  if (try_base) {
    HX_ASSIGN_OR_RETURN(std::optional<struct stat> st, d.dir->Lstat(base, VaultArea::kContent));
    if (!st) return base;
  }
  const std::string stamp = FormatRestoreStamp(created_ms);
  for (int n = 1; n <= kMaxNameAttempts; ++n) {
    const std::string name =
        base + " (restored " + stamp + (n == 1 ? std::string() : " " + std::to_string(n)) + ")";
    HX_ASSIGN_OR_RETURN(std::optional<struct stat> st, d.dir->Lstat(name, VaultArea::kContent));
    if (!st) return name;
  }
  return Error(SyncCode::kApplyFailed, Category::kConflict,
               "every restored name for " + base + " is taken; move some away or use --to")
      .With("path", base);
}

// One item of a restore being written: a symlink or a file assembled under
// a temporary name in the destination's staging directory, made durable,
// then moved to `to_rel` (which must be free) without replacing anything.
// Until Commit succeeds, any failure (or destruction) removes the temporary.
class StagedItem {
 public:
  static Result<StagedItem> Open(Env& env, const Destination& d, std::string to_rel) {
    HX_ASSIGN_OR_RETURN(Fd staging, d.dir->OpenDir(d.staging_rel, d.staging_area, true));
    std::string name = d.temp_prefix + std::to_string(::getpid()) + "-" +
                       std::to_string(temp_counter.fetch_add(1)) + ".tmp";
    return StagedItem(env, d, std::move(staging), std::move(name), std::move(to_rel));
  }
  StagedItem(StagedItem&& other) noexcept
      : env_(other.env_),
        d_(other.d_),
        staging_(std::move(other.staging_)),
        name_(std::move(other.name_)),
        temp_rel_(std::move(other.temp_rel_)),
        to_rel_(std::move(other.to_rel_)),
        fd_(std::move(other.fd_)),
        created_(std::exchange(other.created_, false)) {
    other.fd_.reset();
  }
  StagedItem& operator=(StagedItem&&) = delete;
  ~StagedItem() { Drop(); }

  Status Symlink(const std::string& target) {
    if (const int err = env_->SymlinkAt(target.c_str(), staging_.get(), name_.c_str()); err != 0) {
      return d_->dir->PathError("cannot create symlink", temp_rel_, err);
    }
    created_ = true;
    return OkStatus();
  }
  Status Create(bool executable) {
    int raw = -1;
    if (const int err = env_->Open(staging_.get(), name_.c_str(),
                                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                   executable ? 0777 : 0666, &raw);
        err != 0) {
      return d_->dir->PathError("cannot create", temp_rel_, err);
    }
    created_ = true;
    fd_.emplace(*env_, raw);
    return OkStatus();
  }
  Status Write(std::string_view bytes) {
    if (const int err = WriteAll(*env_, fd_->get(), bytes); err != 0) {
      return Fail(d_->dir->PathError("cannot write", temp_rel_, err));
    }
    return OkStatus();
  }
  // Drops the temporary and returns `e` with the restored path in details.
  Error Fail(Error e) {
    Drop();
    return std::move(e).With("path", to_rel_);
  }
  // The file's modification time (best effort), fsync, close, then the move.
  Status Commit(const std::optional<struct timespec>& mtime) {
    if (fd_) {
      if (mtime) {
        const struct timespec times[2] = {{0, UTIME_OMIT}, *mtime};
        (void)env_->Futimens(fd_->get(), times);
      }
      if (const int err = env_->Fsync(fd_->get()); err != 0) {
        return Fail(d_->dir->PathError("cannot sync", temp_rel_, err));
      }
      if (const int err = fd_->reset(); err != 0) {
        return Fail(d_->dir->PathError("cannot write", temp_rel_, err));
      }
    }
    Status moved = MoveNoReplace(*d_->dir, temp_rel_, d_->staging_area, to_rel_, VaultArea::kContent);
    if (moved.ok()) created_ = false;
    Drop();
    return moved;
  }

 private:
  StagedItem(Env& env, const Destination& d, Fd staging, std::string name, std::string to_rel)
      : env_(&env),
        d_(&d),
        staging_(std::move(staging)),
        name_(std::move(name)),
        temp_rel_(Join(d.staging_rel, name_)),
        to_rel_(std::move(to_rel)) {}

  void Drop() {
    if (fd_) fd_->reset();
    fd_.reset();
    if (created_) (void)env_->UnlinkAt(staging_.get(), name_.c_str(), 0);
    created_ = false;
  }

  Env* env_;
  const Destination* d_;
  Fd staging_;
  std::string name_;
  std::string temp_rel_;
  std::string to_rel_;
  std::optional<Fd> fd_;
  bool created_ = false;
};

// Writes one file or symlink at `to_rel` (which must be free) from the
// store's chunks, as a StagedItem.
Status WriteItem(Session& s, const Destination& d, const Entry& entry, const std::string& to_rel,
                 ObjectFetcher& fetcher, std::uint64_t* bytes) {
  HX_ASSIGN_OR_RETURN(StagedItem item, StagedItem::Open(*s.env, d, to_rel));
  if (entry.kind == EntryKind::kSymlink) {
    HX_RETURN_IF_ERROR(item.Symlink(entry.symlink_target));
    return item.Commit(std::nullopt);
  }
  HX_RETURN_IF_ERROR(item.Create(entry.executable));
  std::uint64_t written = 0;
  for (const ChunkRef& chunk : entry.chunks) {
    Result<std::vector<std::uint8_t>> data = fetcher.Fetch(ObjectKind::kChunk, chunk.id);
    if (!data.ok()) return item.Fail(std::move(data).error());
    if (data->size() != chunk.size) {
      return item.Fail(Error(SyncCode::kApplyFailed, Category::kHashMismatch,
                             "chunk " + ToHex(chunk.id) + " has the wrong size"));
    }
    HX_RETURN_IF_ERROR(
        item.Write(std::string_view(reinterpret_cast<const char*>(data->data()), data->size())));
    written += data->size();
  }
  if (written != entry.size) {
    return item.Fail(Error(SyncCode::kApplyFailed, Category::kCorrupt,
                           "the file's chunks do not add up to its size"));
  }
  std::optional<struct timespec> mtime;
  if (entry.mtime_ns >= 0) {
    mtime = timespec{static_cast<time_t>(entry.mtime_ns / 1'000'000'000),
                     static_cast<long>(entry.mtime_ns % 1'000'000'000)};
  }
  HX_RETURN_IF_ERROR(item.Commit(mtime));
  *bytes += written;
  return OkStatus();
}

// Copies the cached version `from` (a file or symlink under .hx/versions/
// of `vault`) to `to_rel` (which must be free) as WriteItem writes: bytes
// copied (never linked) into a StagedItem.
Status CopyCached(Env& env, const VaultDir& vault, const Destination& d, const StoredVersion& from,
                  const std::string& to_rel, std::uint64_t* bytes) {
  HX_ASSIGN_OR_RETURN(VaultSlot src, vault.OpenParent(from.rel, VaultArea::kState, false));
  struct stat st;
  if (const int err = env.StatAt(src.dir.get(), src.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
      err != 0) {
    return vault.PathError("cannot inspect", from.rel, err);
  }
  HX_ASSIGN_OR_RETURN(StagedItem item, StagedItem::Open(env, d, to_rel));
  if (S_ISLNK(st.st_mode)) {
    std::string target;
    if (const int err = env.ReadlinkAt(src.dir.get(), src.name.c_str(), &target); err != 0) {
      return vault.PathError("cannot read", from.rel, err);
    }
    HX_RETURN_IF_ERROR(item.Symlink(target));
    return item.Commit(std::nullopt);
  }
  int raw_in = -1;
  if (const int err = env.Open(src.dir.get(), src.name.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw_in);
      err != 0) {
    return vault.PathError("cannot open", from.rel, err);
  }
  Fd in(env, raw_in);
  HX_RETURN_IF_ERROR(item.Create((st.st_mode & S_IXUSR) != 0));
  std::string buffer(std::size_t{1} << 16, '\0');
  std::uint64_t copied = 0;
  for (;;) {
    std::size_t got = 0;
    if (const int err = env.Read(in.get(), buffer.data(), buffer.size(), &got); err != 0) {
      return item.Fail(vault.PathError("cannot read", from.rel, err));
    }
    if (got == 0) break;
    HX_RETURN_IF_ERROR(item.Write(std::string_view(buffer.data(), got)));
    copied += got;
  }
  HX_RETURN_IF_ERROR(item.Commit(st.st_mtim));
  *bytes += copied;
  return OkStatus();
}

// hx sync restore --local: from the history cache, without the store.
Result<RestoreReport> RestoreFromCache(const fs::path& vault, const SyncOptions& options,
                                       const RestoreOptions& restore) {
  std::optional<std::int64_t> at;
  if (!restore.at.empty()) {
    at = ParseSnapshotTime(restore.at);
    if (!at) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "with --local, --at takes a UTC time (2026-12-06T08:04:38), not '" +
                       restore.at + "'");
    }
  }
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault, env));
  HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(env, local.vault()));
  HX_ASSIGN_OR_RETURN(std::vector<StoredVersion> cached, ListVersions(dir, restore.path));
  // Newest first: the version held at `at` is the oldest replaced after it.
  const StoredVersion* pick = nullptr;
  for (const StoredVersion& v : cached) {
    if (!at || v.time_ms > *at) pick = &v;
    if (!at) break;
  }
  if (pick == nullptr) {
    return Error(SyncCode::kInputInvalid, Category::kNotFound,
                 "this device's history cache holds no version of " + restore.path +
                     (at ? " replaced after " + restore.at : std::string()) +
                     "; 'hx sync versions <vault>' lists what it holds, and a restore without "
                     "--local brings it back from the store")
        .With("path", restore.path);
  }
  RestoreReport report;
  report.path = restore.path;
  report.kind = pick->symlink ? "symlink" : "file";
  report.from_version = pick->rel;
  report.from_replaced_ms = pick->time_ms;
  std::string base_rel;
  HX_ASSIGN_OR_RETURN(Destination d, OpenDestination(local.vault(), env, restore, options, &base_rel));
  report.in_vault = d.in_vault;
  HX_ASSIGN_OR_RETURN(const std::string top,
                      FreeName(d, base_rel, !restore.to.empty(), pick->time_ms));
  report.written_to = d.in_vault ? top : (d.dir->root() / top).string();
  HX_RETURN_IF_ERROR(CopyCached(env, dir, d, *pick, top, &report.bytes));
  (pick->symlink ? report.symlinks : report.files) = 1;
  return report;
}

}  // namespace

Result<RestoreReport> SyncRestore(const std::filesystem::path& vault, const SyncOptions& options,
                                  const RestoreOptions& restore) {
  HX_RETURN_IF_ERROR(CheckUserPath(restore.path));
  if (restore.local) return RestoreFromCache(vault, options, restore);
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HistoryReader reader(s);
  HX_RETURN_IF_ERROR(reader.LoadAll());
  if (reader.snapshots().empty()) {
    return Error(SyncCode::kInputInvalid, Category::kNotFound,
                 "the store has no snapshot yet: nothing to restore");
  }
  const SnapshotInfo* at = &reader.snapshots().front();
  if (!restore.at.empty()) {
    HX_ASSIGN_OR_RETURN(at, reader.Resolve(restore.at));
  }

  // The version: at --at, or (deleted there) in the newest ancestor that
  // still had it, following first parents.
  const SnapshotInfo* from = at;
  std::optional<PathVersion> version;
  for (std::size_t steps = 0; from != nullptr && steps <= kMaxHistorySnapshots; ++steps) {
    HX_ASSIGN_OR_RETURN(version, reader.VersionAt(from->root, restore.path));
    if (version && version->entry.kind != EntryKind::kTombstone) break;
    version.reset();
    from = from->parents.empty() ? nullptr : reader.Find(from->parents.front());
  }
  if (!version) {
    return Error(SyncCode::kInputInvalid, Category::kNotFound,
                 restore.path + " is in no snapshot up to seq " + std::to_string(at->seq) +
                     "; 'hx sync log <vault> " + restore.path + "' lists its versions")
        .With("path", restore.path);
  }

  RestoreReport report;
  report.warnings = reader.problems();
  report.path = restore.path;
  report.snapshot_id = at->id;
  report.seq = at->seq;
  report.from_snapshot_id = from->id;
  report.from_seq = from->seq;
  report.from_created_ms = from->created_ms;
  report.kind = std::string(ToString(version->entry.kind));

  std::string base_rel;
  HX_ASSIGN_OR_RETURN(Destination d,
                      OpenDestination(s.local.vault(), *s.env, restore, options, &base_rel));
  report.in_vault = d.in_vault;
  HX_ASSIGN_OR_RETURN(const std::string top,
                      FreeName(d, base_rel, !restore.to.empty(), from->created_ms));
  report.written_to = d.in_vault ? top : (d.dir->root() / top).string();
  ObjectFetcher& fetcher = reader.fetcher();

  if (version->entry.kind != EntryKind::kDir) {
    for (const ChunkRef& c : version->entry.chunks) HX_RETURN_IF_ERROR(fetcher.Expect(c.id));
    HX_RETURN_IF_ERROR(WriteItem(s, d, version->entry, top, fetcher, &report.bytes));
    (version->entry.kind == EntryKind::kFile ? report.files : report.symlinks) = 1;
    return report;
  }
  EntryMap entries;
  if (version->subtree) {
    HX_ASSIGN_OR_RETURN(entries, reader.Flatten(*version->subtree));
  }
  for (const auto& [rel, entry] : entries) {
    if (entry.kind != EntryKind::kFile) continue;
    for (const ChunkRef& c : entry.chunks) HX_RETURN_IF_ERROR(fetcher.Expect(c.id));
  }
  {
    HX_ASSIGN_OR_RETURN(Fd made, d.dir->OpenDir(top, VaultArea::kContent, /*create=*/true));
    report.dirs = 1;
  }
  // Parents sort before their children, so each directory exists before
  // what it holds.
  for (const auto& [rel, entry] : entries) {
    const std::string to_rel = top + "/" + rel;
    switch (entry.kind) {
      case EntryKind::kTombstone:
        break;
      case EntryKind::kDir: {
        HX_ASSIGN_OR_RETURN(Fd made, d.dir->OpenDir(to_rel, VaultArea::kContent, true));
        ++report.dirs;
        break;
      }
      case EntryKind::kFile:
      case EntryKind::kSymlink:
        HX_RETURN_IF_ERROR(WriteItem(s, d, entry, to_rel, fetcher, &report.bytes));
        ++(entry.kind == EntryKind::kFile ? report.files : report.symlinks);
        break;
    }
  }
  return report;
}

}  // namespace hx
