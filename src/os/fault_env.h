// An Env for tests that fails one chosen call: the Nth call after Arm()
// (counting every call except Close) returns a full disk, an I/O error, a
// permission error, writes only part of its buffer, or "crashes" — from
// that call on every call fails with EIO, as if the process had died and
// nothing more reached the disk.
//
// A fault sweep runs an operation once unarmed to learn how many calls it
// makes (calls()), then once per N with the fault armed at N, and checks
// that each run ends in a clear error and loses nothing.
//
// Thread-safety: thread-safe (calls are counted under a lock; with worker
// threads the Nth call is whichever comes Nth).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/mutex.h"
#include "os/env.h"
#include "os/writeback.h"

namespace hx {

enum class EnvFault {
  kNoSpace,     // ENOSPC
  kIo,          // EIO
  kAccess,      // EACCES
  kShortWrite,  // a Write writes half its buffer and succeeds (other calls: EIO)
  kCrash,       // this call and every later one fail with EIO
};
std::string_view ToString(EnvFault fault);

class FaultInjectingEnv final : public EnvWrapper, public WritebackEnv {
 public:
  explicit FaultInjectingEnv(Env& target) : EnvWrapper(target) {}

  // Fails the `nth` call (1-based) from now with `fault`. Resets the count.
  void Arm(std::uint64_t nth, EnvFault fault);
  // No fault from now on (a crash is over too). Resets the count.
  void Disarm();
  // Calls counted since the last Arm/Disarm (or construction).
  std::uint64_t calls() const;
  // Whether the armed fault has fired.
  bool fired() const;
  // Called (once, outside the lock) when the fault fires, with the name of
  // the call it hit ("Write", "RenameAt", ...).
  void set_on_fault(std::function<void(std::string_view call)> f) { on_fault_ = std::move(f); }

  int Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) override;
  int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) override;
  int Read(int fd, void* buf, std::size_t n, std::size_t* got) override;
  int PRead(int fd, void* buf, std::size_t n, std::uint64_t offset, std::size_t* got) override;
  int Write(int fd, const void* buf, std::size_t n, std::size_t* wrote) override;
  int Fsync(int fd) override;
  int Fdatasync(int fd) override;
  // os/writeback.h: a fault point, then the target's (if it has it).
  int StartWriteback(int fd) override;
  int SyncFs(int fd) override;
  int Ftruncate(int fd, std::uint64_t size) override;
  int Fstat(int fd, struct stat* st) override;
  int Futimens(int fd, const struct timespec times[2]) override;
  int Fchmod(int fd, mode_t mode) override;
  int Flock(int fd, int operation) override;
  int StatAt(int dirfd, const char* path, struct stat* st, int flags) override;
  int MkdirAt(int dirfd, const char* path, mode_t mode) override;
  int UnlinkAt(int dirfd, const char* path, int flags) override;
  int RenameAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path,
               unsigned flags) override;
  int LinkAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path) override;
  int SymlinkAt(const char* target, int dirfd, const char* path) override;
  int ReadlinkAt(int dirfd, const char* path, std::string* target) override;
  int UtimensAt(int dirfd, const char* path, const struct timespec times[2], int flags) override;
  int ChmodAt(int dirfd, const char* path, mode_t mode) override;
  int ReadDir(int dirfd, std::vector<DirEntry>* entries) override;

 private:
  enum class Verdict { kPass, kFail, kShort };
  // Counts a call and says what to do with it; *err is the errno to fail with.
  Verdict Check(std::string_view call, int* err);

  mutable Mutex mu_;
  std::uint64_t calls_ HX_GUARDED_BY(mu_) = 0;
  std::uint64_t armed_at_ HX_GUARDED_BY(mu_) = 0;  // 0: not armed
  EnvFault fault_ HX_GUARDED_BY(mu_) = EnvFault::kIo;
  bool fired_ HX_GUARDED_BY(mu_) = false;
  bool crashed_ HX_GUARDED_BY(mu_) = false;
  std::function<void(std::string_view)> on_fault_;
};

}  // namespace hx
