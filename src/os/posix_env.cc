// The POSIX Env: each method is the system call, with EINTR retried and the
// errno returned as a value.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/env.h"
#include "os/real_clock.h"
#include "os/writeback.h"

namespace hx {
namespace {

// Calls `f` until it does not fail with EINTR; returns 0 or the errno.
template <typename F>
int Retry(F f) {
  for (;;) {
    if (f() >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or ENOSYS where the
// kernel (before 5.6) or a seccomp filter does not have it.
int OpenAt2Beneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) {
#ifdef SYS_openat2
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    const long r = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (r >= 0) {
      *fd = static_cast<int>(r);
      return 0;
    }
    if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a rename raced the lookup
    return errno;
  }
#else
  (void)dirfd, (void)path, (void)flags, (void)mode, (void)fd;
  return ENOSYS;
#endif
}

}  // namespace

// The fallback: each directory component opened with O_NOFOLLOW |
// O_DIRECTORY relative to the one before, the last with O_NOFOLLOW. A ".."
// or an absolute path is refused (EXDEV, as openat2 says).
int OpenBeneathByWalk(int dirfd, const char* path, int flags, mode_t mode, int* fd) {
  std::string_view rest(path);
  if (rest.empty() || rest.front() == '/') return EXDEV;
  int current = dirfd;
  bool owned = false;
  auto release = [&] {
    if (owned) ::close(current);
  };
  for (;;) {
    const std::size_t slash = rest.find('/');
    const std::string name(rest.substr(0, slash));
    if (name == "..") {
      release();
      return EXDEV;
    }
    if (slash == std::string_view::npos) {
      int opened = -1;
      const int err = Retry([&] {
        opened = ::openat(current, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
        return opened;
      });
      release();
      if (err != 0) return err;
      *fd = opened;
      return 0;
    }
    rest.remove_prefix(slash + 1);
    if (name.empty() || name == ".") continue;
    int next = -1;
    const int err = Retry([&] {
      next = ::openat(current, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      return next;
    });
    release();
    if (err != 0) return err;
    current = next;
    owned = true;
  }
}

namespace {

class PosixEnv final : public Env, public WritebackEnv {
 public:
  int Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    int r = -1;
    const int err = Retry([&] { return r = ::openat(dirfd, path, flags | O_CLOEXEC, mode); });
    if (err == 0) *fd = r;
    return err;
  }

  int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    static std::atomic<bool> no_openat2{false};
    if (!no_openat2.load(std::memory_order_relaxed)) {
      const int err = OpenAt2Beneath(dirfd, path, flags, mode, fd);
      if (err != ENOSYS && err != EPERM) return err;
      if (err == ENOSYS) no_openat2.store(true, std::memory_order_relaxed);
    }
    return OpenBeneathByWalk(dirfd, path, flags, mode, fd);
  }

  int Close(int fd) override {
    // close(2) must not be retried on EINTR (the descriptor is gone).
    return ::close(fd) == 0 || errno == EINTR ? 0 : errno;
  }

  int Read(int fd, void* buf, std::size_t n, std::size_t* got) override {
    ssize_t r = 0;
    const int err = Retry([&] { return r = ::read(fd, buf, n); });
    if (err == 0) *got = static_cast<std::size_t>(r);
    return err;
  }
  int PRead(int fd, void* buf, std::size_t n, std::uint64_t offset, std::size_t* got) override {
    ssize_t r = 0;
    const int err =
        Retry([&] { return r = ::pread(fd, buf, n, static_cast<off_t>(offset)); });
    if (err == 0) *got = static_cast<std::size_t>(r);
    return err;
  }
  int Write(int fd, const void* buf, std::size_t n, std::size_t* wrote) override {
    ssize_t r = 0;
    const int err = Retry([&] { return r = ::write(fd, buf, n); });
    if (err == 0) *wrote = static_cast<std::size_t>(r);
    return err;
  }
  int Fsync(int fd) override { return Retry([&] { return ::fsync(fd); }); }
  int Fdatasync(int fd) override { return Retry([&] { return ::fdatasync(fd); }); }
  int StartWriteback(int fd) override {
#if defined(__linux__)
    return Retry([&] { return ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); });
#else
    (void)fd;
    return 0;
#endif
  }
  int SyncFs(int fd) override { return Retry([&] { return ::syncfs(fd); }); }
  int Ftruncate(int fd, std::uint64_t size) override {
    return Retry([&] { return ::ftruncate(fd, static_cast<off_t>(size)); });
  }
  int Fstat(int fd, struct stat* st) override { return Retry([&] { return ::fstat(fd, st); }); }
  int Futimens(int fd, const struct timespec times[2]) override {
    return Retry([&] { return ::futimens(fd, times); });
  }
  int Fchmod(int fd, mode_t mode) override { return Retry([&] { return ::fchmod(fd, mode); }); }
  int Flock(int fd, int operation) override {
    return Retry([&] { return ::flock(fd, operation); });
  }
  int StatAt(int dirfd, const char* path, struct stat* st, int flags) override {
    return Retry([&] { return ::fstatat(dirfd, path, st, flags); });
  }
  int MkdirAt(int dirfd, const char* path, mode_t mode) override {
    return Retry([&] { return ::mkdirat(dirfd, path, mode); });
  }
  int UnlinkAt(int dirfd, const char* path, int flags) override {
    return Retry([&] { return ::unlinkat(dirfd, path, flags); });
  }
  int RenameAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path,
               unsigned flags) override {
    if (flags == 0) return Retry([&] { return ::renameat(old_dirfd, old_path, new_dirfd, new_path); });
    return Retry([&] { return ::renameat2(old_dirfd, old_path, new_dirfd, new_path, flags); });
  }
  int LinkAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path) override {
    return Retry([&] { return ::linkat(old_dirfd, old_path, new_dirfd, new_path, 0); });
  }
  int SymlinkAt(const char* target, int dirfd, const char* path) override {
    return Retry([&] { return ::symlinkat(target, dirfd, path); });
  }
  int ReadlinkAt(int dirfd, const char* path, std::string* target) override {
    std::string buf(256, '\0');
    for (;;) {
      ssize_t n = 0;
      const int err = Retry([&] { return n = ::readlinkat(dirfd, path, buf.data(), buf.size()); });
      if (err != 0) return err;
      if (static_cast<std::size_t>(n) < buf.size()) {
        buf.resize(static_cast<std::size_t>(n));
        *target = std::move(buf);
        return 0;
      }
      if (buf.size() >= (1u << 16)) return ENAMETOOLONG;
      buf.resize(buf.size() * 4);
    }
  }
  int UtimensAt(int dirfd, const char* path, const struct timespec times[2], int flags) override {
    return Retry([&] { return ::utimensat(dirfd, path, times, flags); });
  }
  int ChmodAt(int dirfd, const char* path, mode_t mode) override {
    return Retry([&] { return ::fchmodat(dirfd, path, mode, 0); });
  }
  int ReadDir(int dirfd, std::vector<DirEntry>* entries) override {
    // fdopendir takes the descriptor over: list through a duplicate.
    const int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return errno;
    DIR* dir = ::fdopendir(dup);
    if (dir == nullptr) {
      const int err = errno;
      ::close(dup);
      return err;
    }
    ::rewinddir(dir);
    std::vector<DirEntry> out;
    for (;;) {
      errno = 0;
      const struct dirent* e = ::readdir(dir);
      if (e == nullptr) break;
      const std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      out.push_back(DirEntry{std::string(name), e->d_type});
    }
    const int err = errno;
    ::closedir(dir);
    if (err != 0) return err;
    *entries = std::move(out);
    return 0;
  }
  Clock& clock() override { return RealClock::Get(); }
};

}  // namespace

Env& Env::Default() {
  static PosixEnv* env = new PosixEnv();  // never destroyed: used until exit
  return *env;
}

RealClock& RealClock::Get() {
  static RealClock* clock = new RealClock();
  return *clock;
}

std::int64_t RealClock::WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::int64_t RealClock::WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
Clock::MonoTime RealClock::Monotonic() { return std::chrono::steady_clock::now(); }
void RealClock::SleepFor(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

int WriteAll(Env& env, int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    std::size_t wrote = 0;
    if (const int err = env.Write(fd, bytes.data(), bytes.size(), &wrote); err != 0) return err;
    if (wrote == 0) return EIO;
    bytes.remove_prefix(wrote);
  }
  return 0;
}

int ReadAll(Env& env, int fd, std::size_t max_bytes, std::string* out) {
  std::string data;
  char buf[16384];
  for (;;) {
    std::size_t got = 0;
    if (const int err = env.Read(fd, buf, sizeof buf, &got); err != 0) return err;
    if (got == 0) break;
    if (data.size() + got > max_bytes) return EFBIG;
    data.append(buf, got);
  }
  *out = std::move(data);
  return 0;
}

int StartWriteback(Env& env, int fd) {
  auto* capable = dynamic_cast<WritebackEnv*>(&env);
  return capable != nullptr ? capable->StartWriteback(fd) : 0;
}

}  // namespace hx
