// RetryingStore (declared in store_wrappers.h).
#include <algorithm>
#include <thread>
#include <utility>

#include <sys/random.h>

#include "store/store_wrappers.h"

namespace hx {
namespace {

std::uint64_t SeedFromOs() {
  std::uint64_t seed = 0;
  if (::getrandom(&seed, sizeof(seed), 0) != static_cast<ssize_t>(sizeof(seed))) {
    // Jitter needs spread, not secrecy: the clock will do.
    seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return seed;
}

bool IsRetryable(const Error& error) {
  return RetryRuleFor(error.category) == RetryRule::kRetryCall;
}

}  // namespace

RetryingStore::RetryingStore(std::unique_ptr<Store> inner, RetryOptions options)
    : StoreWrapper(std::move(inner)), options_(std::move(options)) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); };
  }
  if (!options_.random) {
    options_.random = [generator = std::mt19937_64(SeedFromOs())]() mutable { return generator(); };
  }
  if (!options_.now) options_.now = [] { return std::chrono::steady_clock::now(); };
  options_.max_attempts = std::max(options_.max_attempts, 1);
}

std::chrono::milliseconds RetryingStore::BackoffDelay(int retry) {
  // The cap doubles per retry until max_delay; the shift is bounded so that
  // it cannot overflow however many attempts are configured.
  const std::int64_t base = std::max<std::int64_t>(options_.base_delay.count(), 0);
  const std::int64_t max = std::max<std::int64_t>(options_.max_delay.count(), 0);
  std::int64_t cap = base;
  for (int i = 0; i < retry && cap < max; ++i) cap *= 2;
  cap = std::min(cap, max);
  std::uint64_t random;
  {
    std::lock_guard lock(random_mu_);
    random = options_.random();
  }
  // The top 53 bits as a double in [0, 1), scaled to [0, cap + 1) and
  // floored: uniform over [0, cap], and monotonic in `random` (0 gives 0, the
  // largest value gives cap), which tests rely on.
  const double unit = static_cast<double>(random >> 11) * 0x1.0p-53;
  const auto delay = static_cast<std::int64_t>(unit * static_cast<double>(cap + 1));
  return std::chrono::milliseconds(std::min(delay, cap));
}

template <typename Call>
auto RetryingStore::Retry(Call call) -> decltype(call()) {
  const auto start = options_.now();
  for (int attempt = 1;; ++attempt) {
    auto result = call();
    if (result.ok() || !IsRetryable(result.error())) return result;
    bool give_up = attempt >= options_.max_attempts;
    std::chrono::milliseconds delay{0};
    if (!give_up) {
      delay = BackoffDelay(attempt - 1);
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.now() - start);
      give_up = elapsed + delay > options_.max_total;
    }
    if (give_up) {
      Error error = std::move(result).error();
      error.With("attempts", std::to_string(attempt));
      return error;
    }
    options_.sleep(delay);
  }
}

Result<Bytes> RetryingStore::Get(std::string_view key, std::uint64_t max_size) {
  return Retry([&] { return StoreWrapper::Get(key, max_size); });
}

Result<Bytes> RetryingStore::GetRange(std::string_view key, ByteRange range) {
  return Retry([&] { return StoreWrapper::GetRange(key, range); });
}

Result<std::pair<Bytes, StoreVersion>> RetryingStore::GetVersioned(std::string_view key,
                                                                   std::uint64_t max_size) {
  return Retry([&] { return StoreWrapper::GetVersioned(key, max_size); });
}

// Repeating a Put stores the same bytes again: harmless.
Status RetryingStore::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  return Retry([&] { return StoreWrapper::Put(key, bytes); });
}

Result<StoreVersion> RetryingStore::ConfirmOwnWrite(std::string_view key,
                                                    std::span<const std::uint8_t> bytes,
                                                    Error aborted) {
  // Bounded by our own size: anything larger is not our write, and a hostile
  // store cannot make us read more.
  auto current = Retry([&] { return StoreWrapper::GetVersioned(key, bytes.size()); });
  if (current.ok()) {
    if (std::ranges::equal(current->first, bytes)) return std::move(current->second);
    return aborted;
  }
  const Category category = current.error().category;
  // Gone again, or larger than ours: either way not our write.
  if (category == Category::kNotFound || category == Category::kCorrupt) return aborted;
  return std::move(current).error();
}

template <typename Call>
Result<StoreVersion> RetryingStore::ConditionalWrite(std::string_view key,
                                                     std::span<const std::uint8_t> bytes,
                                                     Call call) {
  auto result = Retry(call);
  if (!result.ok() && result.error().category == Category::kAborted) {
    // A refused conditional write may be the echo of our own: an attempt
    // that took effect but whose reply was lost, resent by us or by the
    // HTTP layer itself (libcurl resends on a reused connection that died
    // before any reply byte, unseen here). Never blindly: look at the
    // object. A real conflict costs one read.
    return ConfirmOwnWrite(key, bytes, std::move(result).error());
  }
  return result;
}

Result<StoreVersion> RetryingStore::PutIfAbsent(std::string_view key,
                                                std::span<const std::uint8_t> bytes) {
  return ConditionalWrite(key, bytes, [&] { return StoreWrapper::PutIfAbsent(key, bytes); });
}

Result<StoreVersion> RetryingStore::PutIfMatch(std::string_view key,
                                               std::span<const std::uint8_t> bytes,
                                               const StoreVersion& expected) {
  return ConditionalWrite(key, bytes,
                          [&] { return StoreWrapper::PutIfMatch(key, bytes, expected); });
}

Result<bool> RetryingStore::Exists(std::string_view key) {
  return Retry([&] { return StoreWrapper::Exists(key); });
}

Result<std::vector<StoreObjectInfo>> RetryingStore::List(std::string_view prefix) {
  return Retry([&] { return StoreWrapper::List(prefix); });
}

// Deleting twice is deleting once: an absent object is not an error.
Status RetryingStore::Delete(std::string_view key) {
  return Retry([&] { return StoreWrapper::Delete(key); });
}

}  // namespace hx
