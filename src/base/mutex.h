// A mutex that clang's -Wthread-safety analysis understands.
//
// std::mutex carries no capability annotations, so fields documented as
// "guarded by mu_" would go unchecked. hx::Mutex wraps it with the
// annotations; members are declared `T x_ HX_GUARDED_BY(mu_);` and clang
// (the asan/tsan/clang builds, with -Wthread-safety -Werror) refuses code
// that touches them without holding the lock. With gcc the macros expand to
// nothing.
//
// Thread-safety: a Mutex is, of course, shared between threads.
#pragma once

#include <mutex>

#if defined(__clang__)
#define HX_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define HX_THREAD_ANNOTATION_(x)
#endif

#define HX_CAPABILITY(x) HX_THREAD_ANNOTATION_(capability(x))
#define HX_SCOPED_CAPABILITY HX_THREAD_ANNOTATION_(scoped_lockable)
#define HX_GUARDED_BY(x) HX_THREAD_ANNOTATION_(guarded_by(x))
#define HX_PT_GUARDED_BY(x) HX_THREAD_ANNOTATION_(pt_guarded_by(x))
#define HX_REQUIRES(...) HX_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define HX_EXCLUDES(...) HX_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define HX_ACQUIRE(...) HX_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define HX_RELEASE(...) HX_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))

namespace hx {

class HX_CAPABILITY("mutex") Mutex {
 public:
  void Lock() HX_ACQUIRE() { mu_.lock(); }
  void Unlock() HX_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class HX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) HX_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() HX_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace hx
