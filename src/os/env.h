// The one seam between hx and the local operating system (after LevelDB's
// Env): every file-system call of sync, scan, envelope and the folder store
// goes through an Env, so a test can fail any call (FaultInjectingEnv: full
// disk, I/O error, permission, short write, a crash point at the Nth call)
// and the code above it can be proven to lose nothing.
//
// The calls are the POSIX ones hx needs, most of them relative to a
// directory descriptor (the *at family): writes into a vault are made
// relative to a descriptor held from the vault root down (os/vault_dir.h), so
// no symlink or swapped directory can redirect them.
//
// Conventions, for every method:
// - The return value is 0 on success or a positive errno value on failure;
//   never -1. Outputs go through pointers and are untouched on failure. The
//   caller turns an errno into an hx::Error with OsError (base/os_error.h),
//   naming the path it meant.
// - EINTR is retried inside the Env; callers never see it.
// - A descriptor an Env returns is O_CLOEXEC and must be released with
//   Close (or owned by an os::Fd, which does that).
//
// Thread-safety: every Env is thread-safe (the scanner reads files on a
// pool; the folder store serves parallel requests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

namespace hx {

class Clock;

// One entry of a directory listing (ReadDir): its name and what the
// directory said it is (DT_* of dirent; DT_UNKNOWN when the file system does
// not say, then the caller lstats).
struct DirEntry {
  std::string name;
  unsigned char type = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process's POSIX Env (os/posix_env.cc). Never destroyed.
  static Env& Default();

  // openat(2). `dirfd` may be AT_FDCWD. O_CLOEXEC is always added.
  virtual int Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) = 0;
  // Opens `path` beneath `dirfd` without ever leaving it or following a
  // symlink in any component (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
  // where the kernel has it, else a component-by-component walk with
  // O_NOFOLLOW): ELOOP/EXDEV/ENOTDIR when a component is a symlink or leaves
  // the directory. `flags` as for Open.
  virtual int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) = 0;
  virtual int Close(int fd) = 0;

  // read(2): up to `n` bytes into `buf`; *got = 0 at end of file.
  virtual int Read(int fd, void* buf, std::size_t n, std::size_t* got) = 0;
  // pread(2).
  virtual int PRead(int fd, void* buf, std::size_t n, std::uint64_t offset,
                    std::size_t* got) = 0;
  // write(2): may write fewer than `n` bytes (*wrote says how many).
  virtual int Write(int fd, const void* buf, std::size_t n, std::size_t* wrote) = 0;
  virtual int Fsync(int fd) = 0;
  // fdatasync(2): the file's data and the metadata needed to read it back
  // (its size), not its times: a pull makes each staged file durable with
  // it instead of flushing the whole file system (syncfs).
  virtual int Fdatasync(int fd) = 0;
  // syncfs(2): the whole file system `fd` lives on.
  virtual int SyncFs(int fd) = 0;
  virtual int Ftruncate(int fd, std::uint64_t size) = 0;
  virtual int Fstat(int fd, struct stat* st) = 0;
  // futimens(2).
  virtual int Futimens(int fd, const struct timespec times[2]) = 0;
  virtual int Fchmod(int fd, mode_t mode) = 0;
  // flock(2).
  virtual int Flock(int fd, int operation) = 0;

  // fstatat(2); `flags` e.g. AT_SYMLINK_NOFOLLOW.
  virtual int StatAt(int dirfd, const char* path, struct stat* st, int flags) = 0;
  virtual int MkdirAt(int dirfd, const char* path, mode_t mode) = 0;
  // unlinkat(2); AT_REMOVEDIR removes an empty directory.
  virtual int UnlinkAt(int dirfd, const char* path, int flags) = 0;
  // renameat2(2); `flags` 0 or RENAME_NOREPLACE (EINVAL where the file
  // system lacks it: the caller falls back, e.g. to LinkAt + UnlinkAt).
  virtual int RenameAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path,
                       unsigned flags) = 0;
  // linkat(2) (no flags): fails with EEXIST if the new name exists.
  virtual int LinkAt(int old_dirfd, const char* old_path, int new_dirfd,
                     const char* new_path) = 0;
  virtual int SymlinkAt(const char* target, int dirfd, const char* path) = 0;
  virtual int ReadlinkAt(int dirfd, const char* path, std::string* target) = 0;
  // utimensat(2).
  virtual int UtimensAt(int dirfd, const char* path, const struct timespec times[2],
                        int flags) = 0;
  // fchmodat(2) (symlinks are never chmod'ed).
  virtual int ChmodAt(int dirfd, const char* path, mode_t mode) = 0;

  // Lists the directory open at `dirfd` (the descriptor stays open and
  // usable; "." and ".." are left out). Order: as the file system gives it.
  virtual int ReadDir(int dirfd, std::vector<DirEntry>* entries) = 0;

  // The clock of this environment: the real one for Default(), a fake in
  // tests.
  virtual Clock& clock() = 0;
};

// Forwards every call to another Env, so a test Env overrides only what it
// changes. The target must outlive the wrapper.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env& target) : target_(target) {}
  Env& target() const { return target_; }

  int Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    return target_.Open(dirfd, path, flags, mode, fd);
  }
  int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    return target_.OpenBeneath(dirfd, path, flags, mode, fd);
  }
  int Close(int fd) override { return target_.Close(fd); }
  int Read(int fd, void* buf, std::size_t n, std::size_t* got) override {
    return target_.Read(fd, buf, n, got);
  }
  int PRead(int fd, void* buf, std::size_t n, std::uint64_t offset, std::size_t* got) override {
    return target_.PRead(fd, buf, n, offset, got);
  }
  int Write(int fd, const void* buf, std::size_t n, std::size_t* wrote) override {
    return target_.Write(fd, buf, n, wrote);
  }
  int Fsync(int fd) override { return target_.Fsync(fd); }
  int Fdatasync(int fd) override { return target_.Fdatasync(fd); }
  int SyncFs(int fd) override { return target_.SyncFs(fd); }
  int Ftruncate(int fd, std::uint64_t size) override { return target_.Ftruncate(fd, size); }
  int Fstat(int fd, struct stat* st) override { return target_.Fstat(fd, st); }
  int Futimens(int fd, const struct timespec times[2]) override {
    return target_.Futimens(fd, times);
  }
  int Fchmod(int fd, mode_t mode) override { return target_.Fchmod(fd, mode); }
  int Flock(int fd, int operation) override { return target_.Flock(fd, operation); }
  int StatAt(int dirfd, const char* path, struct stat* st, int flags) override {
    return target_.StatAt(dirfd, path, st, flags);
  }
  int MkdirAt(int dirfd, const char* path, mode_t mode) override {
    return target_.MkdirAt(dirfd, path, mode);
  }
  int UnlinkAt(int dirfd, const char* path, int flags) override {
    return target_.UnlinkAt(dirfd, path, flags);
  }
  int RenameAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path,
               unsigned flags) override {
    return target_.RenameAt(old_dirfd, old_path, new_dirfd, new_path, flags);
  }
  int LinkAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path) override {
    return target_.LinkAt(old_dirfd, old_path, new_dirfd, new_path);
  }
  int SymlinkAt(const char* target, int dirfd, const char* path) override {
    return target_.SymlinkAt(target, dirfd, path);
  }
  int ReadlinkAt(int dirfd, const char* path, std::string* target) override {
    return target_.ReadlinkAt(dirfd, path, target);
  }
  int UtimensAt(int dirfd, const char* path, const struct timespec times[2], int flags) override {
    return target_.UtimensAt(dirfd, path, times, flags);
  }
  int ChmodAt(int dirfd, const char* path, mode_t mode) override {
    return target_.ChmodAt(dirfd, path, mode);
  }
  int ReadDir(int dirfd, std::vector<DirEntry>* entries) override {
    return target_.ReadDir(dirfd, entries);
  }
  Clock& clock() override { return target_.clock(); }

 private:
  Env& target_;
};

// An owned descriptor: closed (through its Env) when destroyed.
class Fd {
 public:
  Fd() = default;
  Fd(Env& env, int fd) : env_(&env), fd_(fd) {}
  Fd(Fd&& other) noexcept : env_(other.env_), fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      env_ = other.env_;
      fd_ = other.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now; returns Close's errno (0 if none was open), for callers that
  // must know a write-back failed.
  int reset() {
    if (fd_ < 0) return 0;
    const int err = env_->Close(fd_);
    fd_ = -1;
    return err;
  }

 private:
  Env* env_ = nullptr;
  int fd_ = -1;
};

// The fallback of the POSIX Env's OpenBeneath where openat2 is missing (a
// walk with O_NOFOLLOW | O_DIRECTORY at every component); exposed so tests
// prove it on kernels that have openat2.
int OpenBeneathByWalk(int dirfd, const char* path, int flags, mode_t mode, int* fd);

// Helpers over any Env.

// Writes all of `bytes` (looping over short writes; a write that makes no
// progress is EIO).
int WriteAll(Env& env, int fd, std::string_view bytes);
// Reads the whole file open at `fd`; more than `max_bytes` is EFBIG.
int ReadAll(Env& env, int fd, std::size_t max_bytes, std::string* out);

}  // namespace hx
