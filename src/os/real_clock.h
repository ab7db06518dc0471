// The machine's clocks: system_clock for WallMs, steady_clock for
// Monotonic, a real sleep. Only the CLI (and Env::Default()) hands it down;
// the engine takes whatever Clock it is given.
//
// Thread-safety: thread-safe, stateless.
#pragma once

#include "base/clock.h"

namespace hx {

class RealClock final : public Clock {
 public:
  // The process's real clock. Never destroyed.
  static RealClock& Get();

  std::int64_t WallMs() override;
  std::int64_t WallNs() override;
  MonoTime Monotonic() override;
  void SleepFor(std::chrono::milliseconds d) override;
};

}  // namespace hx
