#include "os/fault_env.h"

#include <cerrno>

namespace hx {

std::string_view ToString(EnvFault fault) {
  switch (fault) {
    case EnvFault::kNoSpace:
      return "no_space";
    case EnvFault::kIo:
      return "io";
    case EnvFault::kAccess:
      return "access";
    case EnvFault::kShortWrite:
      return "short_write";
    case EnvFault::kCrash:
      return "crash";
  }
  return "io";
}

void FaultInjectingEnv::Arm(std::uint64_t nth, EnvFault fault) {
  MutexLock lock(mu_);
  calls_ = 0;
  armed_at_ = nth;
  fault_ = fault;
  fired_ = false;
  crashed_ = false;
}

void FaultInjectingEnv::Disarm() {
  MutexLock lock(mu_);
  calls_ = 0;
  armed_at_ = 0;
  fired_ = false;
  crashed_ = false;
}

std::uint64_t FaultInjectingEnv::calls() const {
  MutexLock lock(mu_);
  return calls_;
}

bool FaultInjectingEnv::fired() const {
  MutexLock lock(mu_);
  return fired_;
}

FaultInjectingEnv::Verdict FaultInjectingEnv::Check(std::string_view call, int* err) {
  bool fire = false;
  Verdict verdict = Verdict::kPass;
  {
    MutexLock lock(mu_);
    ++calls_;
    if (crashed_) {
      *err = EIO;
      return Verdict::kFail;
    }
    if (armed_at_ == 0 || calls_ != armed_at_) return Verdict::kPass;
    fire = true;
    fired_ = true;
    switch (fault_) {
      case EnvFault::kNoSpace:
        *err = ENOSPC;
        verdict = Verdict::kFail;
        break;
      case EnvFault::kIo:
        *err = EIO;
        verdict = Verdict::kFail;
        break;
      case EnvFault::kAccess:
        *err = EACCES;
        verdict = Verdict::kFail;
        break;
      case EnvFault::kShortWrite:
        *err = EIO;
        verdict = call == "Write" ? Verdict::kShort : Verdict::kFail;
        break;
      case EnvFault::kCrash:
        crashed_ = true;
        *err = EIO;
        verdict = Verdict::kFail;
        break;
    }
  }
  if (fire && on_fault_) on_fault_(call);
  return verdict;
}

#define HX_FAULT_CHECK(name)                                \
  do {                                                      \
    int fault_err = 0;                                      \
    if (Check(name, &fault_err) != Verdict::kPass) return fault_err; \
  } while (0)

int FaultInjectingEnv::Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) {
  HX_FAULT_CHECK("Open");
  return EnvWrapper::Open(dirfd, path, flags, mode, fd);
}
int FaultInjectingEnv::OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) {
  HX_FAULT_CHECK("OpenBeneath");
  return EnvWrapper::OpenBeneath(dirfd, path, flags, mode, fd);
}
int FaultInjectingEnv::Read(int fd, void* buf, std::size_t n, std::size_t* got) {
  HX_FAULT_CHECK("Read");
  return EnvWrapper::Read(fd, buf, n, got);
}
int FaultInjectingEnv::PRead(int fd, void* buf, std::size_t n, std::uint64_t offset,
                             std::size_t* got) {
  HX_FAULT_CHECK("PRead");
  return EnvWrapper::PRead(fd, buf, n, offset, got);
}
int FaultInjectingEnv::Write(int fd, const void* buf, std::size_t n, std::size_t* wrote) {
  int err = 0;
  switch (Check("Write", &err)) {
    case Verdict::kPass:
      return EnvWrapper::Write(fd, buf, n, wrote);
    case Verdict::kShort:
      // Half the buffer (at least one byte when there is one), reported as
      // success: callers must loop over short writes.
      return EnvWrapper::Write(fd, buf, n > 1 ? n / 2 : n, wrote);
    case Verdict::kFail:
      return err;
  }
  return EIO;
}
int FaultInjectingEnv::Fsync(int fd) {
  HX_FAULT_CHECK("Fsync");
  return EnvWrapper::Fsync(fd);
}
int FaultInjectingEnv::StartWriteback(int fd) {
  HX_FAULT_CHECK("StartWriteback");
  return hx::StartWriteback(target(), fd);
}

int FaultInjectingEnv::Fdatasync(int fd) {
  HX_FAULT_CHECK("Fdatasync");
  return EnvWrapper::Fdatasync(fd);
}
int FaultInjectingEnv::SyncFs(int fd) {
  HX_FAULT_CHECK("SyncFs");
  return EnvWrapper::SyncFs(fd);
}
int FaultInjectingEnv::Ftruncate(int fd, std::uint64_t size) {
  HX_FAULT_CHECK("Ftruncate");
  return EnvWrapper::Ftruncate(fd, size);
}
int FaultInjectingEnv::Fstat(int fd, struct stat* st) {
  HX_FAULT_CHECK("Fstat");
  return EnvWrapper::Fstat(fd, st);
}
int FaultInjectingEnv::Futimens(int fd, const struct timespec times[2]) {
  HX_FAULT_CHECK("Futimens");
  return EnvWrapper::Futimens(fd, times);
}
int FaultInjectingEnv::Fchmod(int fd, mode_t mode) {
  HX_FAULT_CHECK("Fchmod");
  return EnvWrapper::Fchmod(fd, mode);
}
int FaultInjectingEnv::Flock(int fd, int operation) {
  HX_FAULT_CHECK("Flock");
  return EnvWrapper::Flock(fd, operation);
}
int FaultInjectingEnv::StatAt(int dirfd, const char* path, struct stat* st, int flags) {
  HX_FAULT_CHECK("StatAt");
  return EnvWrapper::StatAt(dirfd, path, st, flags);
}
int FaultInjectingEnv::MkdirAt(int dirfd, const char* path, mode_t mode) {
  HX_FAULT_CHECK("MkdirAt");
  return EnvWrapper::MkdirAt(dirfd, path, mode);
}
int FaultInjectingEnv::UnlinkAt(int dirfd, const char* path, int flags) {
  HX_FAULT_CHECK("UnlinkAt");
  return EnvWrapper::UnlinkAt(dirfd, path, flags);
}
int FaultInjectingEnv::RenameAt(int old_dirfd, const char* old_path, int new_dirfd,
                                const char* new_path, unsigned flags) {
  HX_FAULT_CHECK("RenameAt");
  return EnvWrapper::RenameAt(old_dirfd, old_path, new_dirfd, new_path, flags);
}
int FaultInjectingEnv::LinkAt(int old_dirfd, const char* old_path, int new_dirfd,
                              const char* new_path) {
  HX_FAULT_CHECK("LinkAt");
  return EnvWrapper::LinkAt(old_dirfd, old_path, new_dirfd, new_path);
}
int FaultInjectingEnv::SymlinkAt(const char* target, int dirfd, const char* path) {
  HX_FAULT_CHECK("SymlinkAt");
  return EnvWrapper::SymlinkAt(target, dirfd, path);
}
int FaultInjectingEnv::ReadlinkAt(int dirfd, const char* path, std::string* target) {
  HX_FAULT_CHECK("ReadlinkAt");
  return EnvWrapper::ReadlinkAt(dirfd, path, target);
}
int FaultInjectingEnv::UtimensAt(int dirfd, const char* path, const struct timespec times[2],
                                 int flags) {
  HX_FAULT_CHECK("UtimensAt");
  return EnvWrapper::UtimensAt(dirfd, path, times, flags);
}
int FaultInjectingEnv::ChmodAt(int dirfd, const char* path, mode_t mode) {
  HX_FAULT_CHECK("ChmodAt");
  return EnvWrapper::ChmodAt(dirfd, path, mode);
}
int FaultInjectingEnv::ReadDir(int dirfd, std::vector<DirEntry>* entries) {
  HX_FAULT_CHECK("ReadDir");
  return EnvWrapper::ReadDir(dirfd, entries);
}

#undef HX_FAULT_CHECK

}  // namespace hx
