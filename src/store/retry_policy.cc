#include "store/retry_policy.h"

#include <algorithm>
#include <random>

#include <sys/random.h>

#include "obs/metrics.h"
#include "os/real_clock.h"

namespace hx {
namespace {

std::uint64_t SeedFromOs() {
  std::uint64_t seed = 0;
  if (::getrandom(&seed, sizeof(seed), 0) != static_cast<ssize_t>(sizeof(seed))) {
    // Jitter needs spread, not secrecy: an address will do.
    seed = reinterpret_cast<std::uintptr_t>(&seed);
  }
  return seed;
}

}  // namespace

Clock& ClockOrReal(Clock* clock) { return clock != nullptr ? *clock : RealClock::Get(); }

bool IsRetryableError(const Error& error) {
  return error.retryable && RetryRuleFor(error.category) == RetryRule::kRetryCall;
}

RetryPolicy::RetryPolicy(RetryOptions options) : options_(std::move(options)) {
  options_.clock = &ClockOrReal(options_.clock);
  if (!options_.random) {
    options_.random = [generator = std::mt19937_64(SeedFromOs())]() mutable { return generator(); };
  }
  options_.max_attempts = std::max(options_.max_attempts, 1);
}

std::chrono::milliseconds RetryPolicy::BackoffDelay(int retry) {
  // The cap doubles per retry until max_delay; the loop stops at max_delay,
  // so it cannot overflow however many attempts are configured.
  const std::int64_t base = std::max<std::int64_t>(options_.base_delay.count(), 0);
  const std::int64_t max = std::max<std::int64_t>(options_.max_delay.count(), 0);
  std::int64_t cap = base;
  for (int i = 0; i < retry && cap > 0 && cap < max; ++i) cap *= 2;
  cap = std::min(cap, max);
  std::uint64_t random;
  {
    std::lock_guard lock(random_mu_);
    random = options_.random();
  }
  // The top 53 bits as a double in [0, 1), scaled to [0, cap + 1) and
  // floored: uniform over [0, cap], and monotonic in `random`.
  const double unit = static_cast<double>(random >> 11) * 0x1.0p-53;
  const auto delay = static_cast<std::int64_t>(unit * static_cast<double>(cap + 1));
  return std::chrono::milliseconds(std::min(delay, cap));
}

void RetryPolicy::NoteRetry(const Error& error, int attempt, std::chrono::milliseconds delay) {
  obs::RecordStoreRetry();
  obs::LogError(obs::LogLevel::kInfo, "store.retry", error,
                {{"attempt", attempt}, {"delay_ms", delay.count()}});
}

}  // namespace hx
