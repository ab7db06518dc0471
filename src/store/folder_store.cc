#include "store/folder_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "hash/blake3.h"

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

// Closes a file descriptor at scope exit; Release() hands it over.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Closes a directory stream at scope exit.
class Dir {
 public:
  explicit Dir(DIR* dir) : dir_(dir) {}
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir() {
    if (dir_ != nullptr) ::closedir(dir_);
  }
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

int OpenRetryingEintr(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

std::string Parent(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Error NotFound(std::string_view key, const std::string& path) {
  return Error(SyncCode::kStateFailed, Category::kNotFound,
               "store object " + std::string(key) + " does not exist")
      .With("key", std::string(key))
      .With("path", path);
}

Error Corrupt(std::string_view key, const std::string& path, std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "store object " + std::string(key) + " " + std::move(message))
      .With("key", std::string(key))
      .With("path", path);
}

Error Aborted(std::string_view key, std::string message) {
  return Error(SyncCode::kStateFailed, Category::kAborted,
               "store object " + std::string(key) + " " + std::move(message))
      .With("key", std::string(key));
}

std::string VersionOf(std::span<const std::uint8_t> bytes) { return ToHex(Blake3Hash(bytes)); }

// 16 random hex digits for a temporary name. getrandom() rather than
// std::random_device, which may throw; if the kernel has no entropy call, a
// process-wide counter mixed with the pid and the clock is unique enough,
// since the name is also created with O_EXCL.
std::string RandomHex16() {
  std::array<std::uint8_t, 8> bytes{};
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    static std::atomic<std::uint64_t> counter{0};
    const std::uint64_t mix =
        (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL) ^ static_cast<std::uint64_t>(::getpid()) ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
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
Result<Bytes> ReadWhole(int fd, std::uint64_t size, std::string_view key, const std::string& path) {
  Bytes out(static_cast<std::size_t>(size));
  std::size_t filled = 0;
  while (filled < out.size()) {
    const ssize_t n = ::read(fd, out.data() + filled, out.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FolderStoreErrorFromErrno(errno, "read", path);
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  std::uint8_t probe;
  ssize_t extra;
  do {
    extra = ::read(fd, &probe, 1);
  } while (extra < 0 && errno == EINTR);
  if (filled != out.size() || extra != 0) {
    return Corrupt(key, path, "changed size while being read (another program is writing it)");
  }
  return out;
}

// BLAKE3 hex of a whole file, streamed, so that checking a version costs no
// memory however large the object is.
Result<StoreVersion> VersionOfFile(int fd, const std::string& path) {
  Blake3Hasher hasher;
  std::array<std::uint8_t, 64 * 1024> buffer;
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FolderStoreErrorFromErrno(errno, "read", path);
    }
    if (n == 0) break;
    hasher.Update(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
  }
  return ToHex(hasher.Finalize());
}

struct OpenedObject {
  Fd fd;
  struct stat st;
};

// Opens the object at `path` for reading. A missing file, a path through a
// file ("head.json/x") and a directory are all "no such object".
Result<OpenedObject> OpenObject(std::string_view key, const std::string& path) {
  Fd fd(OpenRetryingEintr(path.c_str(), O_RDONLY));
  if (!fd.ok()) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(key, path);
    return FolderStoreErrorFromErrno(errno, "open", path);
  }
  OpenedObject object{std::move(fd), {}};
  if (::fstat(object.fd.get(), &object.st) != 0) {
    return FolderStoreErrorFromErrno(errno, "stat", path);
  }
  if (!S_ISREG(object.st.st_mode)) return NotFound(key, path);
  return object;
}

Status SyncDirectoryAt(const std::string& dir) {
  Fd fd(OpenRetryingEintr(dir.c_str(), O_RDONLY | O_DIRECTORY));
  if (!fd.ok()) return FolderStoreErrorFromErrno(errno, "open directory", dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    // EINVAL/ENOTSUP: this file system (some FUSE and SMB mounts) cannot
    // sync a directory; its renames are then as durable as it makes them.
    return FolderStoreErrorFromErrno(errno, "fsync directory", dir);
  }
  return OkStatus();
}

// mkdir -p from `base` (an existing directory) down to `dir`, fsyncing the
// parent of each directory created so that its entry survives a crash.
Status MakeDirectoriesUnder(const std::string& base, const std::string& dir, bool sync) {
  std::size_t pos = base.size();
  while (pos < dir.size()) {
    const std::size_t next = dir.find('/', pos + 1);
    const std::string partial = dir.substr(0, next == std::string::npos ? dir.size() : next);
    if (::mkdir(partial.c_str(), 0777) == 0) {
      if (sync) HX_RETURN_IF_ERROR(SyncDirectoryAt(Parent(partial)));
    } else if (errno != EEXIST) {
      return FolderStoreErrorFromErrno(errno, "create directory", partial);
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

Status CreateFolderStoreRoot(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return InternalError("store folder path is not absolute: " + path);
  }
  // The file system root always exists; start below it. Created directories
  // are synced always: init runs once, and a store whose folder vanishes
  // after a crash would look like an uninitialized one.
  HX_RETURN_IF_ERROR(MakeDirectoriesUnder("", path, /*sync=*/true));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return FolderStoreErrorFromErrno(errno, "stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return InvalidInput(SyncCode::kTargetInvalid, "the store path " + path + " is not a folder")
        .With("path", path);
  }
  return OkStatus();
}

FolderStore::FolderStore(PrivateTag, Target target, FolderStoreOptions options)
    : target_(std::move(target)), options_(options) {}

Result<std::unique_ptr<FolderStore>> FolderStore::Open(const Target& target,
                                                       FolderStoreOptions options) {
  if (target.kind != TargetKind::kFolder || target.path.empty() || target.path.front() != '/') {
    return InternalError("FolderStore::Open needs a folder target");
  }
  struct stat st;
  if (::stat(target.path.c_str(), &st) != 0) {
    const int err = errno;
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
  return std::make_unique<FolderStore>(PrivateTag{}, target, options);
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
  return SyncDirectoryAt(dir);
}

Status FolderStore::CreateDirectories(const std::string& dir) {
  // Never the root itself: if the store's disk is not mounted, its mount
  // point must stay empty rather than fill with a fresh half-store.
  struct stat st;
  if (::stat(target_.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(SyncCode::kTargetInvalid, Category::kNotFound,
                 "the store folder " + target_.path + " has disappeared (is its disk mounted?)")
        .With("path", target_.path);
  }
  return MakeDirectoriesUnder(target_.path, dir, options_.sync);
}

Result<std::string> FolderStore::WriteTempFile(const std::string& dir,
                                               std::span<const std::uint8_t> bytes) {
  bool created_directories = false;
  for (int attempt = 0;; ++attempt) {
    std::string temp = dir + "/";
    temp += kTempPrefix;
    temp += RandomHex16();
    Fd fd(OpenRetryingEintr(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666));
    if (!fd.ok()) {
      const int err = errno;
      if ((err == ENOENT) && !created_directories) {
        // The first object in this directory: create it (and its parents),
        // then try again. Checking first would cost a stat on every write.
        HX_RETURN_IF_ERROR(CreateDirectories(dir));
        created_directories = true;
        continue;
      }
      if (err == EEXIST && attempt < 8) continue;  // 64 random bits collided
      return FolderStoreErrorFromErrno(err, "create file in", dir);
    }
    // From here on, every failure removes the temporary file: a failed write
    // must not leave garbage that only a crash is allowed to leave.
    auto fail = [&](int err, std::string_view operation) {
      ::unlink(temp.c_str());
      return FolderStoreErrorFromErrno(err, operation, temp);
    };
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno, "write");
      }
      written += static_cast<std::size_t>(n);
    }
    if (options_.sync && ::fsync(fd.get()) != 0) return fail(errno, "fsync");
    // close() can report a deferred write error (NFS, quotas): check it.
    if (::close(fd.Release()) != 0 && errno != EINTR) return fail(errno, "close");
    return temp;
  }
}

Result<Bytes> FolderStore::Get(std::string_view key, std::uint64_t max_size) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  HX_ASSIGN_OR_RETURN(OpenedObject object, OpenObject(key, path));
  const auto size = static_cast<std::uint64_t>(object.st.st_size);
  if (size > max_size) {
    // Refused before a byte is read: a hostile store could hold a huge file.
    return Corrupt(key, path,
                   "is " + std::to_string(size) + " bytes, more than the limit of " +
                       std::to_string(max_size));
  }
  return ReadWhole(object.fd.get(), size, key, path);
}

Result<Bytes> FolderStore::GetRange(std::string_view key, ByteRange range) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  HX_ASSIGN_OR_RETURN(OpenedObject object, OpenObject(key, path));
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
    const ssize_t n = ::pread(object.fd.get(), out.data() + filled, out.size() - filled,
                              static_cast<off_t>(range.offset + filled));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FolderStoreErrorFromErrno(errno, "read", path);
    }
    if (n == 0) {
      return Corrupt(key, path, "was truncated while being read");
    }
    filled += static_cast<std::size_t>(n);
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
  const std::string dir = Parent(path);
  HX_ASSIGN_OR_RETURN(const std::string temp, WriteTempFile(dir, bytes));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return FolderStoreErrorFromErrno(err, "rename into", path);
  }
  return SyncDirectory(dir);
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
  if (::link(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    struct stat st;
    const bool linked = ::stat(temp.c_str(), &st) == 0 && st.st_nlink >= 2;
    if (!linked) {
      const bool no_hard_links = err == EPERM || err == ENOTSUP || err == ENOSYS;
      if (no_hard_links) {
        if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
          HX_RETURN_IF_ERROR(SyncDirectory(dir));
          return VersionOf(bytes);
        }
        const int rename_err = errno;
        ::unlink(temp.c_str());
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
      ::unlink(temp.c_str());
      if (err == EEXIST) return Aborted(key, "already exists");
      return FolderStoreErrorFromErrno(err, "link into", path);
    }
  }
  ::unlink(temp.c_str());
  HX_RETURN_IF_ERROR(SyncDirectory(dir));
  return VersionOf(bytes);
}

Result<StoreVersion> FolderStore::PutIfMatch(std::string_view key,
                                             std::span<const std::uint8_t> bytes,
                                             const StoreVersion& expected) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  {
    auto object = OpenObject(key, path);
    if (!object.ok()) {
      if (object.error().category == Category::kNotFound) {
        return Aborted(key, "does not exist (expected version " + expected + ")");
      }
      return std::move(object).error();
    }
    HX_ASSIGN_OR_RETURN(const StoreVersion current, VersionOfFile(object->fd.get(), path));
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
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return FolderStoreErrorFromErrno(errno, "stat", path);
  }
  return S_ISREG(st.st_mode);
}

namespace {

// Appends to `out` every object under `dir` (whose keys start with
// `dir_key`, "" or ending in '/') that starts with `prefix`. Recursion depth
// is bounded by kMaxStoreKeyBytes: a deeper directory has no valid key.
Status Walk(const std::string& dir, const std::string& dir_key, std::string_view prefix,
            std::vector<StoreObjectInfo>& out) {
  Dir stream(::opendir(dir.c_str()));
  if (stream.get() == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return OkStatus();  // nothing under it
    return FolderStoreErrorFromErrno(errno, "list", dir);
  }
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(stream.get());
    if (entry == nullptr) {
      if (errno != 0) return FolderStoreErrorFromErrno(errno, "list", dir);
      break;
    }
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string key = dir_key + std::string(name);
    if (!IsValidStoreKey(key)) continue;  // temporary files, README.txt, ...
    struct stat st;
    if (::fstatat(::dirfd(stream.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted since readdir
      return FolderStoreErrorFromErrno(errno, "stat", dir + "/" + key.substr(dir_key.size()));
    }
    if (S_ISDIR(st.st_mode)) {
      const std::string sub_key = key + "/";
      const bool may_match = sub_key.starts_with(prefix) || prefix.starts_with(sub_key);
      if (may_match && sub_key.size() < kMaxStoreKeyBytes) {
        HX_RETURN_IF_ERROR(Walk(dir + "/" + std::string(name), sub_key, prefix, out));
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
  struct stat st;
  if (::stat(target_.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    // Without this check an unmounted disk would list as an empty store.
    return Error(SyncCode::kTargetInvalid, Category::kNotFound,
                 "the store folder " + target_.path + " has disappeared (is its disk mounted?)")
        .With("path", target_.path);
  }
  // Start in the deepest directory the prefix names in full.
  const std::size_t slash = prefix.rfind('/');
  const std::string dir_key =
      slash == std::string_view::npos ? "" : std::string(prefix.substr(0, slash + 1));
  const std::string dir =
      dir_key.empty() ? target_.path : target_.path + "/" + dir_key.substr(0, dir_key.size() - 1);
  std::vector<StoreObjectInfo> out;
  HX_RETURN_IF_ERROR(Walk(dir, dir_key, prefix, out));
  std::sort(out.begin(), out.end(),
            [](const StoreObjectInfo& a, const StoreObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status FolderStore::Delete(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const std::string path, PathFor(key));
  if (::unlink(path.c_str()) != 0) {
    // Absent, or not an object (a directory): nothing to delete.
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return OkStatus();
    return FolderStoreErrorFromErrno(errno, "delete", path);
  }
  // Empty parent directories stay: removing them would race with a
  // concurrent Put creating a file in them, and they cost nothing.
  return SyncDirectory(Parent(path));
}

}  // namespace hx
