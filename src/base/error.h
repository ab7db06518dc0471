// Errors as values.
//
// Every fallible engine function returns `Result<T>` (or `Status`, which is
// `Result<void>`). A failure is an `Error`: the stable public code of the
// seeds (`KC_SYNC_*`), a category that says *what kind* of failure it was and
// therefore whether retrying can help, a message for humans, and sorted
// key/value details for machines. This is the `AppError` of the seeds; the
// CLI renders it as JSON (`--json`) or as a sentence that says what to do.
//
// No exception crosses a module boundary: code that calls a throwing library
// catches at the edge and returns an Error.
//
// Thread-safety: all types here are values; distinct objects may be used from
// distinct threads freely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hx {

// The stable public codes. Their spelling (ToString) never changes; new codes
// are only ever added. docs/ERRORS.md lists each one, when it happens and
// what the user should do.
enum class SyncCode : std::uint8_t {
  // Transport and state (seed 000).
  kTargetUnsupported,  // KC_SYNC_TARGET_UNSUPPORTED
  kTargetInvalid,      // KC_SYNC_TARGET_INVALID
  kAuthFailed,         // KC_SYNC_AUTH_FAILED
  kNetworkFailed,      // KC_SYNC_NETWORK_FAILED
  kLocked,             // KC_SYNC_LOCKED
  kKeyMismatch,        // KC_SYNC_KEY_MISMATCH
  kStateFailed,        // KC_SYNC_STATE_FAILED
  kConflict,           // KC_SYNC_CONFLICT
  kApplyFailed,        // KC_SYNC_APPLY_FAILED
  // Merge (seed 002).
  kMergeNotSafe,               // KC_SYNC_MERGE_NOT_SAFE
  kMergePreconditionFailed,    // KC_SYNC_MERGE_PRECONDITION_FAILED
  kMergePolicyUnsupported,     // KC_SYNC_MERGE_POLICY_UNSUPPORTED
  kMergeTrustConflict,         // KC_SYNC_MERGE_TRUST_CONFLICT
  kMergeLockConflict,          // KC_SYNC_MERGE_LOCK_CONFLICT
  kMergePolicyV3Unsafe,        // KC_SYNC_MERGE_POLICY_V3_UNSAFE
  kMergePolicyV4Unsafe,        // KC_SYNC_MERGE_POLICY_V4_UNSAFE
  // hx additions (documented in docs/ERRORS.md).
  kInputInvalid,  // KC_SYNC_INPUT_INVALID: a malformed argument or input file
  kInternal,      // KC_SYNC_INTERNAL: a bug in hx; never expected
  // hx sync verify / repair found damage in the store that it did not fix
  // (issue 14); the report names the objects, snapshots and paths.
  kVerifyDamaged,  // KC_SYNC_VERIFY_DAMAGED
};
inline constexpr int kSyncCodeCount = static_cast<int>(SyncCode::kVerifyDamaged) + 1;

// What kind of failure, in the sense that matters to a caller deciding what
// to do next (after Abseil's status codes): retry the call, restart the whole
// read-modify-write, or stop until something is fixed. The categories of
// seed 001 (auth/permission, not found, throttling, timeout, corrupt/tampered,
// hash mismatch) are among them.
enum class Category : std::uint8_t {
  kInvalidInput,  // the caller passed something malformed; stop
  kUnsupported,   // well-formed but not supported (scheme, version); stop
  kAuth,          // authentication or permission refused; stop
  kNotFound,      // the named thing does not exist; stop
  kThrottling,    // the server asked us to slow down; retry the call
  kTimeout,       // no answer in time; retry the call
  kNetwork,       // connection refused/reset, 5xx; retry the call
  kCorrupt,       // bytes fail authentication or do not parse; stop
  kHashMismatch,  // content does not match its id; stop
  kConflict,      // concurrent changes that policy will not merge; stop
  kLocked,        // someone else holds the lock; retry later
  kAborted,       // a compare-and-swap lost a race; restart the transaction
  kIo,            // a local file system operation failed; stop
  kNoSpace,       // a disk or quota is full; stop
  kInternal,      // a bug; stop
};

enum class RetryRule : std::uint8_t {
  kStop,                // retrying cannot help until the state is fixed
  kRetryCall,           // the same call may succeed (with backoff)
  kRestartTransaction,  // re-read the state and redo the read-modify-write
};

// The stable spelling of a code, e.g. "KC_SYNC_TARGET_INVALID".
std::string_view ToString(SyncCode code);
// The stable spelling of a category, e.g. "auth" or "corrupt".
std::string_view ToString(Category category);
// Parses a stable spelling back; nullopt for anything else.
std::optional<SyncCode> SyncCodeFromString(std::string_view text);
std::optional<Category> CategoryFromString(std::string_view text);

RetryRule RetryRuleFor(Category category);

// The process exit code of the CLI for a failure with this code. Codes are
// grouped into classes (see docs/ERRORS.md); the mapping is stable.
int ExitCodeFor(SyncCode code);

// One sentence that tells the user what to do next about this code.
std::string_view NextStepFor(SyncCode code);

struct Error {
  SyncCode code = SyncCode::kInternal;
  Category category = Category::kInternal;
  std::string message;
  // Whether the same call may succeed if retried; set from the category.
  bool retryable = false;
  // Sorted key/value details for machines (path, key, http_status, ...).
  // Never holds secrets.
  std::map<std::string, std::string> details;
  // What to do next in this situation, when the site that failed knows
  // better than the code's generic sentence (NextStepFor): "remove it with
  // 'hx sync unlock <vault>'" for a damaged lock. Empty: NextStepFor(code).
  // Shown in the human text only; the JSON keeps the AppError's fields.
  std::string next_step;

  Error() = default;
  Error(SyncCode c, Category cat, std::string msg)
      : code(c), category(cat), message(std::move(msg)),
        retryable(RetryRuleFor(cat) == RetryRule::kRetryCall) {}

  // Adds a detail and returns *this, for chaining at the point of failure.
  Error& With(std::string key, std::string value) & {
    details.insert_or_assign(std::move(key), std::move(value));
    return *this;
  }
  Error&& With(std::string key, std::string value) && {
    details.insert_or_assign(std::move(key), std::move(value));
    return std::move(*this);
  }

  // Sets the situation's next step (see next_step) and returns *this.
  Error& WithNextStep(std::string step) & {
    next_step = std::move(step);
    return *this;
  }
  Error&& WithNextStep(std::string step) && {
    next_step = std::move(step);
    return std::move(*this);
  }
  // The next step shown to the user: next_step, else NextStepFor(code).
  std::string_view NextStep() const;

  // "KC_SYNC_X (category): message" — for logs and test failures.
  std::string ToShortString() const;
  // Canonical JSON object {category, code, details, message, retryable}.
  std::string ToJson() const;
  // Human text: the code, the message, the details and what to do next;
  // the message and the details escaped (base/printable.h: they embed
  // names that other devices and the store chose).
  std::string ToHuman() const;
};

bool operator==(const Error& a, const Error& b);

// Shorthands for the most common constructions.
Error InvalidInput(SyncCode code, std::string message);
Error InternalError(std::string message);

// Result<T>: a T or an Error. Cheap to move; [[nodiscard]] so that a dropped
// failure is a compile warning.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition for value(): ok(). For error(): !ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return *std::move(error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status OkStatus() { return Status(); }

}  // namespace hx

#define HX_CONCAT_INNER_(a, b) a##b
#define HX_CONCAT_(a, b) HX_CONCAT_INNER_(a, b)

// Returns the error of a failed Status/Result from the enclosing function.
#define HX_RETURN_IF_ERROR(expr)                             \
  do {                                                       \
    auto hx_status_tmp_ = (expr);                            \
    if (!hx_status_tmp_.ok()) {                              \
      return std::move(hx_status_tmp_).error();              \
    }                                                        \
  } while (false)

// HX_ASSIGN_OR_RETURN(auto x, F()); declares/assigns x from a Result or
// returns its error. Standard C++ (no statement expressions).
#define HX_ASSIGN_OR_RETURN(lhs, expr) \
  HX_ASSIGN_OR_RETURN_IMPL_(HX_CONCAT_(hx_result_tmp_, __LINE__), lhs, expr)
#define HX_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) {                                \
    return std::move(tmp).error();                \
  }                                               \
  lhs = std::move(tmp).value()
