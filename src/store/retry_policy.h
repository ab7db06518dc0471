// The retry policy of hx's store calls, in one place: which failures are
// retried, how many times, how long to wait between attempts, and when to
// give up. Both users take it from here:
//   RetryingStore (store_wrappers.h)  retries whole store calls
//   S3Store (s3/s3_store.h)           retries each request of a multipart
//                                     upload in place (create, parts, complete)
//
// The policy: an error is retried when it says so (`retryable`, which its
// category sets: throttling, timeout, network) and attempts remain; the
// delay before retry n (0-based) is drawn uniformly from
// [0, min(max_delay, base_delay * 2^n)] ("full jitter", which spreads out
// devices that all failed at once); no retry starts, and no delay is slept,
// past max_total after the call began. The last error is returned with the
// detail "attempts". An error marked not retryable despite its category (a
// command whose time is up: s3/http_client.h) is returned at once.
//
// Time comes from an injected Clock (base/clock.h: monotonic time, sleep);
// randomness from an injected source. A null clock means the real one
// (os/real_clock.h), resolved by ClockOrReal below: the one place the store
// module falls back to it, for callers that have no clock to hand down.
//
// Thread-safety: thread-safe; Run may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

#include "base/clock.h"
#include "base/error.h"
#include "obs/log.h"

namespace hx {

struct RetryOptions {
  // Attempts per call, the first included; 1 turns retries off.
  int max_attempts = 6;
  // The cap of the first delay; the cap doubles with every retry. Each delay
  // is drawn uniformly from [0, cap].
  std::chrono::milliseconds base_delay{200};
  // The cap stops doubling here.
  std::chrono::milliseconds max_delay{20'000};
  // No retry starts (and no delay is slept) past this much time after the
  // call began; the last error is returned instead.
  std::chrono::milliseconds max_total{120'000};
  // Monotonic time and sleeping. Null: the real clock. Tests pass a fake
  // (FakeClock) whose sleeps advance its time. Must outlive the policy.
  Clock* clock = nullptr;
  // Uniform 64-bit random values for the jitter. Empty: a generator seeded
  // from the OS. Called under the policy's lock (need not be thread-safe).
  std::function<std::uint64_t()> random;
};

// `clock`, or the process's real clock when it is null.
Clock& ClockOrReal(Clock* clock);

// Whether the policy retries a call that failed with `error`.
bool IsRetryableError(const Error& error);

class RetryPolicy {
 public:
  // A null clock and an empty random source are replaced by the real ones;
  // max_attempts is raised to at least 1.
  explicit RetryPolicy(RetryOptions options);
  RetryPolicy(const RetryPolicy&) = delete;
  RetryPolicy& operator=(const RetryPolicy&) = delete;

  // The delay before retry number `retry` (0 for the first retry): uniform in
  // [0, min(max_delay, base_delay * 2^retry)], monotonic in the random value
  // (0 gives 0, the largest value gives the cap).
  std::chrono::milliseconds BackoffDelay(int retry);

  // Calls `call` (returning a Result or Status) until it succeeds, fails
  // with an error the policy does not retry, or the attempts or the time run
  // out; returns the last result.
  template <typename Call>
  auto Run(Call call) -> decltype(call()) {
    Clock& clock = *options_.clock;
    const Clock::MonoTime start = clock.Monotonic();
    for (int attempt = 1;; ++attempt) {
      auto result = call();
      if (result.ok() || !IsRetryableError(result.error())) return result;
      bool give_up = attempt >= options_.max_attempts;
      std::chrono::milliseconds delay{0};
      if (!give_up) {
        delay = BackoffDelay(attempt - 1);
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock.Monotonic() - start);
        give_up = elapsed + delay > options_.max_total;
      }
      if (give_up) {
        Error error = std::move(result).error();
        error.With("attempts", std::to_string(attempt));
        obs::LogError(obs::LogLevel::kWarn, "store.gave_up", error, {{"attempts", attempt}});
        return error;
      }
      NoteRetry(result.error(), attempt, delay);
      clock.SleepFor(delay);
    }
  }

  const RetryOptions& options() const { return options_; }

 private:
  // Counts the retry (hx_store_retries_total) and logs it.
  static void NoteRetry(const Error& error, int attempt, std::chrono::milliseconds delay);

  RetryOptions options_;
  std::mutex random_mu_;
};

}  // namespace hx
