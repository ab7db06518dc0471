// Time as an input. Code under src/ never reads a clock of its own: the
// wall clock (now_ms), the monotonic clock (deadlines, backoff) and sleeping
// come from a Clock that the caller hands down — the real one
// (os/real_clock.h, used by the CLI) or a FakeClock in tests, whose sleeps
// advance its time instead of waiting, so a test of a retry schedule or a
// deadline runs in microseconds and never depends on the machine's load.
//
// Thread-safety: implementations are thread-safe (the S3 store's workers and
// the scanner's pool read the clock concurrently).
#pragma once

#include <chrono>
#include <cstdint>

#include "base/mutex.h"

namespace hx {

class Clock {
 public:
  using MonoTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  // Milliseconds since the Unix epoch (UTC). May jump (NTP, the user).
  virtual std::int64_t WallMs() = 0;
  // Nanoseconds since the Unix epoch: for comparisons with file times.
  virtual std::int64_t WallNs() { return WallMs() * 1'000'000; }
  // A clock that never goes back, for deadlines and elapsed time.
  virtual MonoTime Monotonic() = 0;
  // Waits `d` (a fake clock advances its time instead).
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
};

// A clock for tests: starts at `wall_ms`, advances only when told to or
// when something sleeps on it (by the time slept), so retry and deadline
// tests are exact and instant.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t wall_ms = 1'700'000'000'000) : wall_ms_(wall_ms) {}

  std::int64_t WallMs() override {
    MutexLock lock(mu_);
    return wall_ms_ + elapsed_ms_;
  }
  MonoTime Monotonic() override {
    MutexLock lock(mu_);
    return MonoTime(std::chrono::milliseconds(elapsed_ms_));
  }
  void SleepFor(std::chrono::milliseconds d) override {
    MutexLock lock(mu_);
    slept_ms_ += d.count();
    elapsed_ms_ += d.count();
  }

  // Moves both clocks forward by `d`.
  void Advance(std::chrono::milliseconds d) {
    MutexLock lock(mu_);
    elapsed_ms_ += d.count();
  }
  // The total time slept on this clock.
  std::chrono::milliseconds slept() {
    MutexLock lock(mu_);
    return std::chrono::milliseconds(slept_ms_);
  }

 private:
  Mutex mu_;
  std::int64_t wall_ms_ HX_GUARDED_BY(mu_);
  std::int64_t elapsed_ms_ HX_GUARDED_BY(mu_) = 0;
  std::int64_t slept_ms_ HX_GUARDED_BY(mu_) = 0;
};

}  // namespace hx
