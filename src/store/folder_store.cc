#include "store/folder_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "hash/blake3.h"
#include "os/env.h"

namespace hx {
namespace {

struct ErrnoInfo {
  int value;
  const char* name;
  const char* text;
};

// Our own table rather than strerror(): strerror is not thread-safe, and a
// stable name ("ENOSPC") in details is what a machine wants to match on.
constexpr ErrnoInfo kErrnos[] = {
    {ENOENT, "ENOENT", "no such file or directory"},
    {ENOTDIR, "ENOTDIR", "a path component is not a directory"},
    {EISDIR, "EISDIR", "is a directory"},
    {EACCES, "EACCES", "permission denied"},
    {EPERM, "EPERM", "operation not permitted"},
    {EROFS, "EROFS", "read-only file system"},
    {ENOSPC, "ENOSPC", "no space left on device"},
    {EDQUOT, "EDQUOT", "disk quota exceeded"},
    {EIO, "EIO", "input/output error"},
    {EEXIST, "EEXIST", "file exists"},
    {EINVAL, "EINVAL", "invalid argument"},
    {EMLINK, "EMLINK", "too many links"},
    {ENAMETOOLONG, "ENAMETOOLONG", "file name too long"},
    {ELOOP, "ELOOP", "too many levels of symbolic links"},
    {EXDEV, "EXDEV", "cross-device link"},
    {EBUSY, "EBUSY", "device or resource busy"},
    {ENOTEMPTY, "ENOTEMPTY", "directory not empty"},
    {EMFILE, "EMFILE", "too many open files"},
    {ENFILE, "ENFILE", "too many open files in system"},
    {ENOMEM, "ENOMEM", "out of memory"},
    {ESTALE, "ESTALE", "stale file handle"},
    {ETIMEDOUT, "ETIMEDOUT", "timed out"},
    {EFBIG, "EFBIG", "file too large"},
    {ENOTSUP, "ENOTSUP", "operation not supported"},
    {ENOSYS, "ENOSYS", "function not implemented"},
};

const ErrnoInfo* FindErrno(int value) {
  for (const ErrnoInfo& info : kErrnos) {
    if (info.value == value) return &info;
  }
  return nullptr;
}

// Opens `path` through `env` (EINTR is retried there); 0 or the errno.
int OpenFile(Env& env, const std::string& path, int flags, Fd* out, mode_t mode = 0) {
  int fd = -1;
  const int err = env.Open(AT_FDCWD, path.c_str(), flags, mode, &fd);
  if (err == 0) *out = Fd(env, fd);
  return err;
}

std::string Parent(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Error NotFound(std::string_view key, const std::string& path) {
  return StoreObjectNotFound(key).With("path", path);
}

Error Corrupt(std::string_view key, const std::string& path, std::string message) {
  return StoreObjectCorrupt(key, std::move(message)).With("path", path);
}

Error Aborted(std::string_view key, std::string message) {
  return StoreObjectAborted(key, std::move(message));
}

std::string VersionOf(std::span<const std::uint8_t> bytes) { return ToHex(Blake3Hash(bytes)); }

// 16 random hex digits for a temporary name. getrandom() rather than
// std::random_device, which may throw; if the kernel has no entropy call, a
// process-wide counter mixed with the pid and the address of a stack
// variable (randomized by ASLR) is unique enough, since the name is also
// created with O_EXCL. (No clock: code under src/ does not read one.)
std::string RandomHex16() {
  std::array<std::uint8_t, 8> bytes{};
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    static std::atomic<std::uint64_t> counter{0};
    const std::uint64_t mix =
        (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL) ^ static_cast<std::uint64_t>(::getpid()) ^
        static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&bytes));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<std::uint8_t>(mix >> (8 * i));
    }
  }
  return ToHex(bytes);
}

constexpr std::string_view kTempPrefix = ".tmp~";

// Reads the whole of `fd`, whose size fstat() reported as `size` (already
// checked against the caller's limit). hx never changes a file in place, so a
// file that turns out longer or shorter than its size was changed by another
// program while we read it; that is reported, not papered over.
Result<Bytes> ReadWhole(Env& env, int fd, std::uint64_t size, std::string_view key,
                        const std::string& path) {
  Bytes out(static_cast<std::size_t>(size));
  std::size_t filled = 0;
  while (filled < out.size()) {
    std::size_t n = 0;
    if (const int err = env.Read(fd, out.data() + filled, out.size() - filled, &n); err != 0) {
      return FolderStoreErrorFromErrno(err, "read", path);
    }
    if (n == 0) break;
    filled += n;
  }
  std::uint8_t probe;
  std::size_t extra = 0;
  if (const int err = env.Read(fd, &probe, 1, &extra); err != 0) {
    return FolderStoreErrorFromErrno(err, "read", path);
  }
  if (filled != out.size() || extra != 0) {
    return Corrupt(key, path, "changed size while being read (another program is writing it)");
  }
  return out;
}

// BLAKE3 hex of a whole file, streamed, so that checking a version costs no
// memory however large the object is.
Result<StoreVersion> VersionOfFile(Env& env, int fd, const std::string& path) {
  Blake3Hasher hasher;
  std::array<std::uint8_t, 64 * 1024> buffer;
  while (true) {
    std::size_t n = 0;
    if (const int err = env.Read(fd, buffer.data(), buffer.size(), &n); err != 0) {
      return FolderStoreErrorFromErrno(err, "read", path);
    }
    if (n == 0) break;
    hasher.Update(std::span<const std::uint8_t>(buffer.data(), n));
  }
  return ToHex(hasher.Finalize());
}

struct OpenedObject {
  Fd fd;
  struct stat st;
};

// Opens the object at `path` for reading. A missing file, a path through a
// file ("head.json/x") and a directory are all "no such object".
Result<OpenedObject> OpenObject(Env& env, std::string_view key, const std::string& path) {
  Fd fd;
  if (const int err = OpenFile(env, path, O_RDONLY, &fd); err != 0) {
    if (err == ENOENT || err == ENOTDIR) return NotFound(key, path);
    return FolderStoreErrorFromErrno(err, "open", path);
  }
  OpenedObject object{std::move(fd), {}};
  if (const int err = env.Fstat(object.fd.get(), &object.st); err != 0) {
    return FolderStoreErrorFromErrno(err, "stat", path);
  }
  if (!S_ISREG(object.st.st_mode)) return NotFound(key, path);
  return object;
}

Status SyncDirectoryAt(Env& env, const std::string& dir) {
  Fd fd;
  if (const int err = OpenFile(env, dir, O_RDONLY | O_DIRECTORY, &fd); err != 0) {
    return FolderStoreErrorFromErrno(err, "open directory", dir);
  }
  const int err = env.Fsync(fd.get());
  if (err != 0 && err != EINVAL && err != ENOTSUP) {
    // EINVAL/ENOTSUP: this file system (some FUSE and SMB mounts) cannot
    // sync a directory; its renames are then as durable as it makes them.
    return FolderStoreErrorFromErrno(err, "fsync directory", dir);
  }
  return OkStatus();
}

// mkdir -p from `base` (an existing directory) down to `dir`, fsyncing the
// parent of each directory created so that its entry survives a crash.
Status MakeDirectoriesUnder(Env& env, const std::string& base, const std::string& dir,
                            bool sync) {
  std::size_t pos = base.size();
  while (pos < dir.size()) {
    const std::size_t next = dir.find('/', pos + 1);
    const std::string partial = dir.substr(0, next == std::string::npos ? dir.size() : next);
    if (const int err = env.MkdirAt(AT_FDCWD, partial.c_str(), 0777); err == 0) {
      if (sync) HX_RETURN_IF_ERROR(SyncDirectoryAt(env, Parent(partial)));
    } else if (err != EEXIST) {
      return FolderStoreErrorFromErrno(err, "create directory", partial);
    }
    if (next == std::string::npos) break;
    pos = next;
  }
  return OkStatus();
}

}  // namespace

Error FolderStoreErrorFromErrno(int errno_value, std::string_view operation,
                                std::string_view path) {
  const ErrnoInfo* info = FindErrno(errno_value);
  const std::string name = info ? info->name : "errno " + std::to_string(errno_value);
  const std::string text = info ? info->text : "error " + std::to_string(errno_value);
  const std::string where(path);
  Error error;
  switch (errno_value) {
    case EACCES:
    case EPERM:
    case EROFS:
      error = Error(
          SyncCode::kAuthFailed, Category::kAuth,
          "permission denied on " + where + " (" + std::string(operation) + ": " + text + ")");
      break;
    case ENOENT:
      error = Error(SyncCode::kStateFailed, Category::kNotFound,
                    std::string(operation) + " " + where + ": " + text);
      break;
    case ENOSPC:
    case EDQUOT:
      error = Error(SyncCode::kStateFailed, Category::kNoSpace,
                    std::string(operation) + " " + where + ": " + text +
                        " (free some space on the store's disk)");
      break;
    default:
      error = Error(SyncCode::kStateFailed, Category::kIo,
                    std::string(operation) + " " + where + ": " + text);
      break;
  }
  return std::move(error)
      .With("errno", name)
      .With("operation", std::string(operation))
      .With("path", where);
}

bool IsFolderStoreTempName(std::string_view name) {
  return name.size() == kTempPrefix.size() + 16 && name.starts_with(kTempPrefix) &&
         IsLowerHex(name.substr(kTempPrefix.size()), 16);
}

Status CreateFolderStoreRoot(const std::string& path, Env& env) {
  if (path.empty() || path.front() != '/') {
    return InternalError("store folder path is not absolute: " + path);
  }
  // The file system root always exists; start below it. Created directories
  // are synced always: init runs once, and a store whose folder vanishes
  // after a crash would look like an uninitialized one.
  HX_RETURN_IF_ERROR(MakeDirectoriesUnder(env, "", path, /*sync=*/true));
  struct stat st;
  if (const int err = env.StatAt(AT_FDCWD, path.c_str(), &st, 0); err != 0) {
    return FolderStoreErrorFromErrno(err, "stat", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidInput(SyncCode::kTargetInvalid, "the store path " + path + " is not a folder")
        .With("path", path);
  }
  return OkStatus();
}

FolderStore::FolderStore(PrivateTag, Target target, FolderStoreOptions options, Env& env)
    : target_(std::move(target)), options_(options), env_(&env) {}

Result<std::unique_ptr<FolderStore>> FolderStore::Open(const Target& target,
                                                       FolderStoreOptions options, Env& env) {
  if (target.kind != TargetKind::kFolder || target.path.empty() || target.path.front() != '/') {
    return InternalError("FolderStore::Open needs a folder target");
  }
  struct stat st;
  if (const int err = env.StatAt(AT_FDCWD, target.path.c_str(), &st, 0); err != 0) {
    if (err == ENOENT || err == ENOTDIR) {
      return Error(SyncCode::kTargetInvalid, Category::kNotFound,
                   "the store folder " + target.path +
                       " does not exist; create it (or mount the disk it is on), or run "
                       "'hx sync init' to create a new store there")
          .With("path", target.path);
    }
    return FolderStoreErrorFromErrno(err, "open store folder", target.path);
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidInput(SyncCode::kTargetInvalid,
                        "the store path " + target.path + " is not a folder")
        .With("path", target.path);
  }
  return std::make_unique<FolderStore>(PrivateTag{}, target, options, env);
}

const StoreCapabilities& FolderStore::capabilities() const {
  static const StoreCapabilities kCapabilities{
      .atomic_create = true, .atomic_compare_and_swap = false, .ranged_reads = true};
  return kCapabilities;
}

std::string FolderStore::Describe() const { return target_.ToUri(); }

Result<std::string> FolderStore::PathFor(std::string_view key) const {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  return target_.KeyFor(key);
}

Status FolderStore::SyncDirectory(const std::string& dir) {
  if (!options_.sync) return OkStatus();
  return SyncDirectoryAt(*env_, dir);
}

Status FolderStore::CreateDirectories(const std::string& dir) {
  // Never the root itself: if the store's disk is not mounted, its mount
  // point must stay empty rather than fill with a fresh half-store.
  HX_RETURN_IF_ERROR(CheckRoot());
  return MakeDirectoriesUnder(*env_, target_.path, dir, options_.sync);
}

Status FolderStore::CheckRoot() {
  struct stat st;
  const int err = env_->StatAt(AT_FDCWD, target_.path.c_str(), &st, 0);
  if (err == 0 && S_ISDIR(st.st_mode)) return OkStatus();
  if (err != 0 && err != ENOENT && err != ENOTDIR) {
    // Not "gone": the disk answered with an error of its own.
    return FolderStoreErrorFromErrno(err, "stat store folder", target_.path);
  }
  return Error(SyncCode::kTargetInvalid, Category::kNotFound,
               "the store folder " + target_.path + " has disappeared (is its disk mounted?)")
      .With("path", target_.path);
}

Result<std::string> FolderStore::CreateTempFile(const std::string& dir, Fd* fd) {
  bool created_directories = false;
  for (int attempt = 0;; ++attempt) {
    std::string temp = dir + "/";
    temp += kTempPrefix;
    temp += RandomHex16();
    const int err = OpenFile(*env_, temp, O_WRONLY | O_CREAT | O_EXCL, fd, 0666);
    if (err == 0) return temp;
    if (err == ENOENT && !created_directories) {
      // The first object in this directory: create it (and its parents),
      // then try again. Checking first would cost a stat on every write.
      HX_RETURN_IF_ERROR(CreateDirectories(dir));
      created_directories = true;
      continue;
    }
    if (err == EEXIST && attempt < 8) continue;  // 64 random bits collided
    return FolderStoreErrorFromErrno(err, "create file in", dir);
  }
}

namespace {

// Ends a temporary file that was written: fsynced (if `sync`) and closed,
// since close() can report a deferred write error (NFS, quotas). On failure
// the file is removed: a failed write must not leave garbage that only a
// crash is allowed to leave.
Status FinishTempFile(Env& env, Fd& fd, const std::string& temp, bool sync) {
  auto fail = [&](int err, std::string_view operation) {
    fd.reset();
    (void)env.UnlinkAt(AT_FDCWD, temp.c_str(), 0);
    return FolderStoreErrorFromErrno(err, operation, temp);
  };
  if (sync) {
    if (const int err = env.Fsync(fd.get()); err != 0) return fail(err, "fsync");
  }
  if (const int err = fd.reset(); err != 0) return fail(err, "close");
  return OkStatus();
}

int WriteBytes(Env& env, const Fd& fd, std::span<const std::uint8_t> bytes) {
  return WriteAll(env, fd.get(),
                  std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace

Result<std::string> FolderStore::WriteTempFile(const std::string& dir,
                                               std::span<const std::uint8_t> bytes) {
  Fd fd;
  HX_ASSIGN_OR_RETURN(std::string temp, CreateTempFile(dir, &fd));
  if (const int err = WriteBytes(*env_, fd, bytes); err != 0) {
    fd.reset();
    (void)env_->UnlinkAt(AT_FDCWD, temp.c_str(), 0);
    return FolderStoreErrorFromErrno(err, "write", temp);
  }
  HX_RETURN_IF_ERROR(FinishTempFile(*env_, fd, temp, options_.sync));
  return temp;
}

Status FolderStore::RenameIntoPlace(const std::string& temp, const std::string& path) {
  const std::string dir = Parent(path);
  int err = env_->RenameAt(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), 0);
  if (err == ENOENT) {
    // A streamed object's temporary file is in the root: the key's
    // directory may not exist yet.
    if (Status made = CreateDirectories(dir); !made.ok()) {
      (void)env_->UnlinkAt(AT_FDCWD, temp.c_str(), 0);
      return made;
    }
    err = env_->RenameAt(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), 0);
  }
  if (err != 0) {
    (void)env_->UnlinkAt(AT_FDCWD, temp.c_str(), 0);
    return FolderStoreErrorFromErrno(err, "rename into", path);
  }
  return SyncDirectory(dir);
}

// FolderStore::StartWrite's writer: a temporary file in the root, renamed
// to its key at Commit.
class FolderStoreWriter final : public StoreWriter {
 public:
  FolderStoreWriter(FolderStore& store, std::string temp, Fd fd)
      : store_(&store), temp_(std::move(temp)), fd_(std::move(fd)) {}
  ~FolderStoreWriter() override {
    if (!spent_) {
      fd_.reset();
      (void)store_->env_->UnlinkAt(AT_FDCWD, temp_.c_str(), 0);
    }
  }
  FolderStoreWriter(const FolderStoreWriter&) = delete;
  FolderStoreWriter& operator=(const FolderStoreWriter&) = delete;

  Status Append(std::span<const std::uint8_t> bytes) override {
    if (spent_) return Spent();
    if (const int err = WriteBytes(*store_->env_, fd_, bytes); err != 0) {
      Status failed = FolderStoreErrorFromErrno(err, "write", temp_);
      Abandon();
      return failed;
    }
    return OkStatus();
  }

  Status Commit(std::string_view key) override {
    if (spent_) return Spent();
    Result<std::string> path = store_->PathFor(key);
    if (!path.ok()) {
      Abandon();
      return path.error();
    }
    spent_ = true;
    HX_RETURN_IF_ERROR(FinishTempFile(*store_->env_, fd_, temp_, store_->options_.sync));
    return store_->RenameIntoPlace(temp_, *path);
  }

 private:
  void Abandon() {
    spent_ = true;
    fd_.reset();
    (void)store_->env_->UnlinkAt(AT_FDCWD, temp_.c_str(), 0);
  }
  static Status Spent() {
    return Error(SyncCode::kInternal, Category::kInternal,
                 "folder store writer used after its commit or a failed write");
  }

  FolderStore* store_;
  std::string temp_;
  Fd fd_;
  bool spent_ = false;
};

Result<std::unique_ptr<StoreWriter>> FolderStore::StartWrite() {
  Fd fd;
  Result<std::string> temp = CreateTempFile(target_.path, &fd);
  if (!temp.ok()) {
    // The root itself is never created: say it is gone, if it is.
    HX_RETURN_IF_ERROR(CheckRoot());
    return temp.error();
  }
  return std::unique_ptr<StoreWriter>(
      std::make_unique<FolderStoreWriter>(*this, std::move(*temp), std::move(fd)));
}

Result<Bytes> FolderStore::Get(std::string_view key, std::uint64_t max_size) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  HX_ASSIGN_OR_RETURN(OpenedObject object, OpenObject(*env_, key, path));
  const auto size = static_cast<std::uint64_t>(object.st.st_size);
  if (size > max_size) {
    // Refused before a byte is read: a hostile store could hold a huge file.
    return Corrupt(key, path,
                   "is " + std::to_string(size) + " bytes, more than the limit of " +
                       std::to_string(max_size));
  }
  return ReadWhole(*env_, object.fd.get(), size, key, path);
}

Result<Bytes> FolderStore::GetRange(std::string_view key, ByteRange range) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  HX_ASSIGN_OR_RETURN(OpenedObject object, OpenObject(*env_, key, path));
  const auto size = static_cast<std::uint64_t>(object.st.st_size);
  // Checked before allocating, so a wrong length cannot cost memory.
  if (range.offset > size || range.length > size - range.offset) {
    return Corrupt(key, path,
                   "is " + std::to_string(size) + " bytes, too short for the range " +
                       std::to_string(range.offset) + "+" + std::to_string(range.length));
  }
  Bytes out(static_cast<std::size_t>(range.length));
  std::size_t filled = 0;
  while (filled < out.size()) {
    std::size_t n = 0;
    if (const int err = env_->PRead(object.fd.get(), out.data() + filled, out.size() - filled,
                                    range.offset + filled, &n);
        err != 0) {
      return FolderStoreErrorFromErrno(err, "read", path);
    }
    if (n == 0) {
      return Corrupt(key, path, "was truncated while being read");
    }
    filled += n;
  }
  return out;
}

Result<std::pair<Bytes, StoreVersion>> FolderStore::GetVersioned(std::string_view key,
                                                                 std::uint64_t max_size) {
  HX_ASSIGN_OR_RETURN(Bytes bytes, Get(key, max_size));
  StoreVersion version = VersionOf(bytes);
  return std::make_pair(std::move(bytes), std::move(version));
}

// Put's ordering, and why each step is where it is:
//  1. write the bytes to a temporary file in the key's own directory (rename
//     is only atomic within one file system, and the directory is the
//     smallest unit we know to be on the key's file system);
//  2. fsync the file: without it, a crash after step 3 may leave the new
//     name pointing at an empty or partial file (ext4's delayed allocation
//     does exactly this), which is the one thing readers must never see;
//  3. rename over the key: atomic, so readers see the old or the new file;
//  4. fsync the directory: the rename is a change to the directory, durable
//     only once the directory is synced. The caller may next publish a
//     reference to this object (a head pointing to a snapshot); the object
//     must be durable before that reference is written, so we sync before
//     returning rather than lazily.
// New parent directories were synced into their own parents when created.
Status FolderStore::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  HX_ASSIGN_OR_RETURN(const std::string temp, WriteTempFile(Parent(path), bytes));
  return RenameIntoPlace(temp, path);
}

// PutIfAbsent cannot open the key with O_EXCL and write into it: a reader (or
// a crash) would see a partial object under the final name. Instead the
// complete, synced temporary file gets a second name with link(), which fails
// with EEXIST if the key exists; then the temporary name is removed and the
// directory synced (one sync for both changes).
//
// A lost reply on NFS can make a successful link() report an error (the
// retransmitted request then finds the key present). The link count of the
// temporary file tells the truth: 2 means the key is ours. On file systems
// without hard links, renameat2(RENAME_NOREPLACE) does the same job.
Result<StoreVersion> FolderStore::PutIfAbsent(std::string_view key,
                                              std::span<const std::uint8_t> bytes) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  const std::string dir = Parent(path);
  HX_ASSIGN_OR_RETURN(const std::string temp, WriteTempFile(dir, bytes));
  if (const int err = env_->LinkAt(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str()); err != 0) {
    struct stat st;
    const bool linked =
        env_->StatAt(AT_FDCWD, temp.c_str(), &st, 0) == 0 && st.st_nlink >= 2;
    if (!linked) {
      const bool no_hard_links = err == EPERM || err == ENOTSUP || err == ENOSYS;
      if (no_hard_links) {
        const int rename_err = env_->RenameAt(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(),
                                              RENAME_NOREPLACE);
        if (rename_err == 0) {
          HX_RETURN_IF_ERROR(SyncDirectory(dir));
          return VersionOf(bytes);
        }
        (void)env_->UnlinkAt(AT_FDCWD, temp.c_str(), 0);
        if (rename_err == EEXIST) return Aborted(key, "already exists");
        if (rename_err == EINVAL || rename_err == ENOSYS || rename_err == ENOTSUP) {
          return Error(SyncCode::kTargetUnsupported, Category::kUnsupported,
                       "the file system of " + dir +
                           " has neither hard links nor exclusive rename, so hx cannot "
                           "create store objects atomically there; use another disk or "
                           "format")
              .With("path", dir);
        }
        return FolderStoreErrorFromErrno(rename_err, "create exclusively", path);
      }
      (void)env_->UnlinkAt(AT_FDCWD, temp.c_str(), 0);
      if (err == EEXIST) return Aborted(key, "already exists");
      return FolderStoreErrorFromErrno(err, "link into", path);
    }
  }
  // The key holds the object now; a temporary name left by a failed unlink
  // is invisible and costs only its space (as after a crash).
  (void)env_->UnlinkAt(AT_FDCWD, temp.c_str(), 0);
  HX_RETURN_IF_ERROR(SyncDirectory(dir));
  return VersionOf(bytes);
}

Result<StoreVersion> FolderStore::PutIfMatch(std::string_view key,
                                             std::span<const std::uint8_t> bytes,
                                             const StoreVersion& expected) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  {
    auto object = OpenObject(*env_, key, path);
    if (!object.ok()) {
      if (object.error().category == Category::kNotFound) {
        return Aborted(key, "does not exist (expected version " + expected + ")");
      }
      return std::move(object).error();
    }
    HX_ASSIGN_OR_RETURN(const StoreVersion current, VersionOfFile(*env_, object->fd.get(), path));
    if (current != expected) {
      return Aborted(key, "changed: its version is " + current + ", expected " + expected);
    }
  }
  // Between the check above and the rename in Put another writer could slip
  // in; the write lock that callers hold is what excludes that.
  HX_RETURN_IF_ERROR(Put(key, bytes));
  return VersionOf(bytes);
}

Result<bool> FolderStore::Exists(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  struct stat st;
  if (const int err = env_->StatAt(AT_FDCWD, path.c_str(), &st, 0); err != 0) {
    if (err == ENOENT || err == ENOTDIR) return false;
    return FolderStoreErrorFromErrno(err, "stat", path);
  }
  return S_ISREG(st.st_mode);
}

namespace {

// Appends to `out` every object under `dir` (whose keys start with
// `dir_key`, "" or ending in '/') that starts with `prefix`. Recursion depth
// is bounded by kMaxStoreKeyBytes: a deeper directory has no valid key.
Status Walk(Env& env, const std::string& dir, const std::string& dir_key, std::string_view prefix,
            std::vector<StoreObjectInfo>& out) {
  Fd stream;
  if (const int err = OpenFile(env, dir, O_RDONLY | O_DIRECTORY, &stream); err != 0) {
    if (err == ENOENT || err == ENOTDIR) return OkStatus();  // nothing under it
    return FolderStoreErrorFromErrno(err, "list", dir);
  }
  std::vector<DirEntry> entries;
  if (const int err = env.ReadDir(stream.get(), &entries); err != 0) {
    return FolderStoreErrorFromErrno(err, "list", dir);
  }
  for (const DirEntry& entry : entries) {
    const std::string_view name = entry.name;
    const std::string key = dir_key + std::string(name);
    if (!IsValidStoreKey(key)) continue;  // temporary files, README.txt, ...
    struct stat st;
    if (const int err = env.StatAt(stream.get(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
        err != 0) {
      if (err == ENOENT) continue;  // deleted since readdir
      return FolderStoreErrorFromErrno(err, "stat", dir + "/" + key.substr(dir_key.size()));
    }
    if (S_ISDIR(st.st_mode)) {
      const std::string sub_key = key + "/";
      const bool may_match = sub_key.starts_with(prefix) || prefix.starts_with(sub_key);
      if (may_match && sub_key.size() < kMaxStoreKeyBytes) {
        HX_RETURN_IF_ERROR(Walk(env, dir + "/" + std::string(name), sub_key, prefix, out));
      }
    } else if (S_ISREG(st.st_mode) && key.starts_with(prefix)) {
      out.push_back(StoreObjectInfo{key, static_cast<std::uint64_t>(st.st_size)});
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<StoreObjectInfo>> FolderStore::List(std::string_view prefix) {
  HX_RETURN_IF_ERROR(ValidateStorePrefix(prefix));
  // Without this check an unmounted disk would list as an empty store.
  HX_RETURN_IF_ERROR(CheckRoot());
  // Start in the deepest directory the prefix names in full.
  const std::size_t slash = prefix.rfind('/');
  const std::string dir_key =
      slash == std::string_view::npos ? "" : std::string(prefix.substr(0, slash + 1));
  const std::string dir =
      dir_key.empty() ? target_.path : target_.path + "/" + dir_key.substr(0, dir_key.size() - 1);
  std::vector<StoreObjectInfo> out;
  HX_RETURN_IF_ERROR(Walk(*env_, dir, dir_key, prefix, out));
  std::sort(out.begin(), out.end(),
            [](const StoreObjectInfo& a, const StoreObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status FolderStore::Delete(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  if (const int err = env_->UnlinkAt(AT_FDCWD, path.c_str(), 0); err != 0) {
    // Absent, or not an object (a directory): nothing to delete.
    if (err == ENOENT || err == ENOTDIR || err == EISDIR) return OkStatus();
    return FolderStoreErrorFromErrno(err, "delete", path);
  }
  // Empty parent directories stay: removing them would race with a
  // concurrent Put creating a file in them, and they cost nothing.
  return SyncDirectory(Parent(path));
}

}  // namespace hx
