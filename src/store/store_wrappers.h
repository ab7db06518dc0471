// Stores that wrap a Store, so that retries, request counting and fault
// injection are written once and work around any backend (restic's backend
// wrappers, LevelDB's EnvWrapper):
//   StoreWrapper         forwards every call; subclass it to override a few
//   CountingStore        counts calls and bytes per operation
//   FaultInjectingStore  fails or corrupts calls by rule, deterministically
//   RetryingStore        retries retryable failures under the retry policy
//                        (retry_policy.h: backoff with full jitter, bounded)
// A typical stack: RetryingStore(CountingStore(FolderStore)). In tests, a
// FaultInjectingStore under the RetryingStore plays the unreliable network.
//
// Ownership: every wrapper owns the store it wraps (unique_ptr). A test that
// needs to reach an inner store keeps a raw pointer to it taken before the
// move; that pointer is valid as long as the outermost wrapper lives.
//
// Thread-safety: every wrapper is thread-safe if the store it wraps is.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "store/retry_policy.h"
#include "store/store.h"

namespace hx {

// The operations of the Store interface, for counting and fault rules.
enum class StoreOp : std::uint8_t {
  kGet,
  kGetRange,
  kGetVersioned,
  kPut,
  kPutIfAbsent,
  kPutIfMatch,
  kExists,
  kList,
  kDelete,
  kGetIfNoneMatch,
};
inline constexpr std::size_t kStoreOpCount =
    static_cast<std::size_t>(StoreOp::kGetIfNoneMatch) + 1;

// "get", "get_range", "get_versioned", "put", "put_if_absent",
// "put_if_match", "exists", "list", "delete", "get_if_none_match".
std::string_view ToString(StoreOp op);

// Forwards every call to the wrapped store.
class StoreWrapper : public Store {
 public:
  // Precondition: `inner` is not null.
  explicit StoreWrapper(std::unique_ptr<Store> inner);

  const StoreCapabilities& capabilities() const override;
  std::string Describe() const override;
  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  Result<bool> Exists(std::string_view key) override;
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

  Store& inner() { return *inner_; }
  const Store& inner() const { return *inner_; }

  // StartWrite and streams_writes() are not forwarded: a wrapper gets
  // Store's buffered writer, which Puts through the wrapper, so that one
  // overriding Put sees every write. A wrapper that only observes writes
  // streams them through the inner store's writer instead: its StartWrite
  // returns StartWriteThrough(committed), and streams_writes() is
  // inner().streams_writes().
 protected:
  // The inner store's writer, calling `committed(ok, bytes appended)` once
  // its Commit has returned.
  Result<std::unique_ptr<StoreWriter>> StartWriteThrough(
      std::function<void(bool, std::uint64_t)> committed);

 private:
  std::unique_ptr<Store> inner_;
};

// ---------------------------------------------------------------- counting

// What a CountingStore saw: calls per operation (successful or not), calls
// that failed, bytes handed to Put* calls (up) and bytes returned by
// successful reads (down).
struct StoreCounts {
  std::array<std::uint64_t, kStoreOpCount> calls{};
  std::uint64_t failures = 0;
  std::uint64_t bytes_up = 0;
  std::uint64_t bytes_down = 0;

  std::uint64_t operator[](StoreOp op) const { return calls[static_cast<std::size_t>(op)]; }
  // All calls of all operations.
  std::uint64_t total_calls() const;
  // "get=3 put=1 ... failures=0 bytes_up=10 bytes_down=20" (for status output
  // and test failures; operations with no calls are left out).
  std::string ToString() const;
  bool operator==(const StoreCounts&) const = default;
};

// The change from `before` to `after` (field by field).
StoreCounts operator-(const StoreCounts& after, const StoreCounts& before);

class CountingStore final : public StoreWrapper {
 public:
  explicit CountingStore(std::unique_ptr<Store> inner);

  // A consistent-enough snapshot: each counter is read atomically, but calls
  // finishing during the read may be counted in some fields and not others.
  StoreCounts Counts() const;
  void Reset();

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  // A streamed write counts as one Put of its bytes, at its Commit.
  Result<std::unique_ptr<StoreWriter>> StartWrite() override;
  bool streams_writes() const override;
  Result<bool> Exists(std::string_view key) override;
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

 private:
  void Count(StoreOp op, bool ok, std::uint64_t up, std::uint64_t down);

  std::array<std::atomic<std::uint64_t>, kStoreOpCount> calls_{};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> bytes_up_{0};
  std::atomic<std::uint64_t> bytes_down_{0};
};

// --------------------------------------------------------- fault injection

enum class FaultAction : std::uint8_t {
  // Return an error without calling the wrapped store: the request was lost
  // on its way (or the process crashed before sending it).
  kFailBefore,
  // Call the wrapped store, then return an error anyway: the request was
  // carried out but its reply was lost (or the process crashed right after).
  kFailAfter,
  // Reads only (Get, GetRange, GetVersioned, GetIfNoneMatch): return the bytes cut short by
  // at least one byte (a non-empty result only).
  kTruncate,
  // Reads only: flip one bit of one byte (a non-empty result only).
  kFlipByte,
};

// One rule: which calls it matches, which of those it fires on, and what it
// does. The i-th call that matches (counting from 1) is eligible if
// i > skip; an eligible call fires with `probability`, until the rule has
// fired `times` times.
struct FaultRule {
  static constexpr std::uint64_t kForever = std::numeric_limits<std::uint64_t>::max();

  // The operation the rule applies to; nullopt: every operation.
  std::optional<StoreOp> op;
  // Only keys (for List: prefixes) that start with this.
  std::string key_prefix;
  // Matching calls let through before the rule becomes eligible.
  std::uint64_t skip = 0;
  // Fires at most this many times.
  std::uint64_t times = 1;
  // The chance that an eligible call fires, drawn from the store's seeded
  // generator (1.0: always).
  double probability = 1.0;
  FaultAction action = FaultAction::kFailBefore;
  // kFail*: the error's category; its code follows from it
  // (throttling/timeout/network: KC_SYNC_NETWORK_FAILED, auth:
  // KC_SYNC_AUTH_FAILED, others KC_SYNC_STATE_FAILED).
  Category category = Category::kNetwork;

  // The n-th call (from 1) of `op` fails.
  static FaultRule FailNth(StoreOp op, std::uint64_t n, Category category = Category::kNetwork);
  // The first `count` calls of `op` fail (transient trouble).
  static FaultRule FailFirst(StoreOp op, std::uint64_t count,
                             Category category = Category::kNetwork);
  // Every call of `op` on a key starting with `key_prefix` fails.
  static FaultRule FailPrefix(StoreOp op, std::string key_prefix,
                              Category category = Category::kNetwork);
  // Each call of `op` fails with probability `rate`.
  static FaultRule FailRate(StoreOp op, double rate, Category category = Category::kNetwork);
  // Every read of `op` (a Get* operation) has its bytes changed by `action`
  // (kTruncate or kFlipByte).
  static FaultRule CorruptReads(StoreOp op, FaultAction action);
};

// One fault that fired, for assertions.
struct InjectedFault {
  StoreOp op;
  std::string key;
  FaultAction action;
};

class FaultInjectingStore final : public StoreWrapper {
 public:
  // `seed` drives probabilities and the positions of truncations and bit
  // flips: the same seed and the same calls give the same faults.
  explicit FaultInjectingStore(std::unique_ptr<Store> inner, std::uint64_t seed = 1);

  // Rules are tried in the order added; the first that fires decides. Every
  // rule counts its matching calls whether or not an earlier rule fired.
  void AddRule(FaultRule rule);
  void ClearRules();
  // Every fault injected so far, in order.
  std::vector<InjectedFault> Injected() const;

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  Result<bool> Exists(std::string_view key) override;
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

 private:
  struct RuleState {
    FaultRule rule;
    std::uint64_t matched = 0;
    std::uint64_t fired = 0;
  };
  struct Decision {
    std::optional<FaultAction> action;
    Category category = Category::kNetwork;
    std::uint64_t random = 0;  // for the position of a truncation or flip
  };

  Decision Decide(StoreOp op, std::string_view key);
  // Applies `decision` around `call` (which calls the wrapped store).
  template <typename T, typename Call>
  T Run(StoreOp op, std::string_view key, Call call);

  mutable std::mutex mu_;
  std::vector<RuleState> rules_;         // guarded by mu_
  std::mt19937_64 random_;               // guarded by mu_
  std::vector<InjectedFault> injected_;  // guarded by mu_
};

// ----------------------------------------------------------------- retries

// Retries each call under the retry policy (store/retry_policy.h: retryable
// errors only, exponential backoff with full jitter, bounded attempts and
// time); any other error is returned at once, unchanged. After the last
// attempt the last error is returned with the detail "attempts".
//
// Reads, Put and Delete are idempotent and simply repeated. The conditional
// writes are not: if an attempt of PutIfAbsent or PutIfMatch fails in a way
// that might have hidden its success (a lost reply), a later attempt can
// answer kAborted because of our own earlier write. So a kAborted that
// follows such a failure is checked by reading the object back: if it holds
// exactly our bytes, the write is ours and the call succeeds (with the
// version read); otherwise the kAborted stands. (Another writer storing the
// very same bytes is indistinguishable, and harmless: the object is what we
// wanted. Lock and head objects carry unique tokens and sequence numbers.)
class RetryingStore final : public StoreWrapper {
 public:
  explicit RetryingStore(std::unique_ptr<Store> inner, RetryOptions options = {});

  // The policy's delay before retry number `retry` (RetryPolicy::BackoffDelay).
  // Exposed for tests.
  std::chrono::milliseconds BackoffDelay(int retry) { return policy_.BackoffDelay(retry); }

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  Result<bool> Exists(std::string_view key) override;
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

 private:
  // For a conditional write whose kAborted may be our own earlier success.
  Result<StoreVersion> ConfirmOwnWrite(std::string_view key, std::span<const std::uint8_t> bytes,
                                       Error aborted);
  template <typename Call>
  Result<StoreVersion> ConditionalWrite(std::string_view key, std::span<const std::uint8_t> bytes,
                                        Call call);

  RetryPolicy policy_;
};

}  // namespace hx
