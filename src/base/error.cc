#include "base/error.h"

#include <array>

#include "base/json_string.h"
#include "base/printable.h"

namespace hx {
namespace {

struct CodeInfo {
  SyncCode code;
  std::string_view name;
  int exit_code;
  std::string_view next_step;
};

// Exit-code classes (docs/ERRORS.md): 1 internal, 2 invalid input, 3 target,
// 4 authentication/key, 5 network, 6 locked, 7 conflict, 8 merge refused,
// 9 apply failed (partial result), 10 local or remote state.
constexpr std::array<CodeInfo, kSyncCodeCount> kCodes = {{
    {SyncCode::kTargetUnsupported, "KC_SYNC_TARGET_UNSUPPORTED", 3,
     "Use a plain path, file:///abs/path, s3://bucket/prefix or "
     "s3+endpoint://bucket/prefix with --endpoint."},
    {SyncCode::kTargetInvalid, "KC_SYNC_TARGET_INVALID", 3,
     "Check the target URI: an absolute path, a valid bucket name, and no "
     "empty, '.' or '..' segments."},
    {SyncCode::kAuthFailed, "KC_SYNC_AUTH_FAILED", 4,
     "Check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
     "AWS_PROFILE) and that they may read and write the target; if this device "
     "is a reader, a writer device can run 'hx member set-role'."},
    {SyncCode::kNetworkFailed, "KC_SYNC_NETWORK_FAILED", 5,
     "Check the network and the endpoint, then run the command again; "
     "nothing was lost."},
    {SyncCode::kLocked, "KC_SYNC_LOCKED", 6,
     "Another device is writing to the store; wait for it to finish and run "
     "the command again (a stale lock expires on its own)."},
    {SyncCode::kKeyMismatch, "KC_SYNC_KEY_MISMATCH", 4,
     "The passphrase does not open this vault; try again with its current "
     "passphrase (the one given at 'hx sync init' or at the last "
     "'hx key change-passphrase')."},
    {SyncCode::kStateFailed, "KC_SYNC_STATE_FAILED", 10,
     "Local or store state could not be read or written; check free space "
     "and permissions, then run 'hx sync status'."},
    {SyncCode::kConflict, "KC_SYNC_CONFLICT", 7,
     "Both sides changed; list the paths with 'hx sync conflicts', then pull "
     "with --auto-merge <policy> or resolve them by hand."},
    {SyncCode::kApplyFailed, "KC_SYNC_APPLY_FAILED", 9,
     "Some items were not applied (see the per-item status); the others "
     "were. Run 'hx sync verify' and pull again."},
    {SyncCode::kMergeNotSafe, "KC_SYNC_MERGE_NOT_SAFE", 8,
     "The two change sets overlap; use 'hx sync merge-preview' to see the "
     "overlap and pick another policy or resolve by hand."},
    {SyncCode::kMergePreconditionFailed, "KC_SYNC_MERGE_PRECONDITION_FAILED", 8,
     "The merge input is invalid (object hashes must be 64 lowercase hex "
     "digits, overlay ids non-empty); fix the input and retry."},
    {SyncCode::kMergePolicyUnsupported, "KC_SYNC_MERGE_POLICY_UNSUPPORTED", 8,
     "Use one of: none, conservative, conservative_plus_v2, "
     "conservative_plus_v3, conservative_plus_v4, keep_both, "
     "local_preferred, cloud_preferred, manual_per_item."},
    {SyncCode::kMergeTrustConflict, "KC_SYNC_MERGE_TRUST_CONFLICT", 8,
     "The remote changes do not chain to this vault's key; verify the "
     "devices that pushed them before merging."},
    {SyncCode::kMergeLockConflict, "KC_SYNC_MERGE_LOCK_CONFLICT", 8,
     "A path lock covers a changed path; wait for its owner or remove the "
     "lock with 'hx lock remove'."},
    {SyncCode::kMergePolicyV3Unsafe, "KC_SYNC_MERGE_POLICY_V3_UNSAFE", 8,
     "A device without write rights authored remote changes; review the "
     "vault's membership before merging."},
    {SyncCode::kMergePolicyV4Unsafe, "KC_SYNC_MERGE_POLICY_V4_UNSAFE", 8,
     "A device without write rights authored remote changes; review the "
     "vault's membership before merging."},
    {SyncCode::kInputInvalid, "KC_SYNC_INPUT_INVALID", 2,
     "Fix the argument or input file named in the message; see 'hx --help'."},
    {SyncCode::kInternal, "KC_SYNC_INTERNAL", 1,
     "This is a bug in hx; please report it with the message above. Your "
     "data was not changed."},
    {SyncCode::kVerifyDamaged, "KC_SYNC_VERIFY_DAMAGED", 11,
     "The store has damaged or missing objects (the report names the paths "
     "they affect); run 'hx sync repair --read-data' on a device that still "
     "has those files, or restore them from an older snapshot."},
}};

constexpr std::array<std::string_view, 15> kCategoryNames = {
    "invalid_input", "unsupported", "auth",    "not_found", "throttling",
    "timeout",       "network",     "corrupt", "hash_mismatch", "conflict",
    "locked",        "aborted",     "io",      "no_space",  "internal",
};

const CodeInfo& InfoFor(SyncCode code) {
  return kCodes[static_cast<std::size_t>(code)];
}

}  // namespace

std::string_view ToString(SyncCode code) { return InfoFor(code).name; }

std::string_view ToString(Category category) {
  return kCategoryNames[static_cast<std::size_t>(category)];
}

std::optional<SyncCode> SyncCodeFromString(std::string_view text) {
  for (const CodeInfo& info : kCodes) {
    if (info.name == text) return info.code;
  }
  return std::nullopt;
}

std::optional<Category> CategoryFromString(std::string_view text) {
  for (std::size_t i = 0; i < kCategoryNames.size(); ++i) {
    if (kCategoryNames[i] == text) return static_cast<Category>(i);
  }
  return std::nullopt;
}

RetryRule RetryRuleFor(Category category) {
  switch (category) {
    case Category::kThrottling:
    case Category::kTimeout:
    case Category::kNetwork:
      return RetryRule::kRetryCall;
    case Category::kAborted:
      return RetryRule::kRestartTransaction;
    default:
      return RetryRule::kStop;
  }
}

int ExitCodeFor(SyncCode code) { return InfoFor(code).exit_code; }

std::string_view NextStepFor(SyncCode code) { return InfoFor(code).next_step; }

std::string_view Error::NextStep() const {
  return next_step.empty() ? NextStepFor(code) : std::string_view(next_step);
}

std::string Error::ToShortString() const {
  std::string out(ToString(code));
  out += " (";
  out += ToString(category);
  out += "): ";
  out += message;
  return out;
}

std::string Error::ToJson() const {
  // Keys in canonical (sorted) order; std::map keeps details sorted.
  std::string out = "{\"category\":";
  AppendJsonQuoted(out, ToString(category));
  out += ",\"code\":";
  AppendJsonQuoted(out, ToString(code));
  out += ",\"details\":{";
  bool first = true;
  for (const auto& [key, value] : details) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonQuoted(out, key);
    out.push_back(':');
    AppendJsonQuoted(out, value);
  }
  out += "},\"message\":";
  AppendJsonQuoted(out, message);
  out += ",\"retryable\":";
  out += retryable ? "true" : "false";
  out.push_back('}');
  return out;
}

std::string Error::ToHuman() const {
  // Messages and details embed paths, keys and names from the store and
  // from other devices: every one is escaped here, once, for all errors.
  std::string out = "error: ";
  AppendPrintable(out, message);
  out += "\n  code: ";
  out += ToString(code);
  out += " (";
  out += ToString(category);
  out += retryable ? ", retryable" : "";
  out += ")";
  for (const auto& [key, value] : details) {
    out += "\n  ";
    AppendPrintable(out, key);
    out += ": ";
    AppendPrintable(out, value);
  }
  out += "\n  next: ";
  AppendPrintable(out, NextStep());
  out += "\n";
  return out;
}

bool operator==(const Error& a, const Error& b) {
  return a.code == b.code && a.category == b.category &&
         a.message == b.message && a.retryable == b.retryable &&
         a.details == b.details && a.next_step == b.next_step;
}

Error InvalidInput(SyncCode code, std::string message) {
  return Error(code, Category::kInvalidInput, std::move(message));
}

Error InternalError(std::string message) {
  return Error(SyncCode::kInternal, Category::kInternal, std::move(message));
}

}  // namespace hx
