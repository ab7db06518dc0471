#include "meta/lock.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <limits>

#include "base/hex.h"
#include "base/next_steps.h"
#include "base/utc_time.h"
#include "crypto/secret.h"
#include "json/json_fields.h"
#include "meta/records.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kWhat = "locks/write.lock";

std::optional<std::string> RecordProblem(const LockRecord& record) {
  if (!IsLowerHex(record.owner, kShortIdHexLength)) return "owner is not 32 lowercase hex";
  if (!IsLowerHex(record.token, kShortIdHexLength)) return "token is not 32 lowercase hex";
  if (record.acquired_ms < 0) return "acquired_ms is negative";
  if (record.expires_ms < record.acquired_ms) return "expires_ms is before acquired_ms";
  return std::nullopt;
}

Result<LockRecord> DecodeFields(std::string_view bytes) {
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(kWhat, bytes, kMaxLockBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::string(kWhat)));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(kWhat, value, bytes));
  LockRecord record;
  HX_ASSIGN_OR_RETURN(record.acquired_ms, TimeField(fields, "acquired_ms"));
  HX_ASSIGN_OR_RETURN(record.expires_ms, TimeField(fields, "expires_ms"));
  HX_ASSIGN_OR_RETURN(record.owner, HexField(fields, "owner", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(record.token, HexField(fields, "token", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (const auto problem = RecordProblem(record)) return CorruptRecord(kWhat, *problem);
  return record;
}

Error HeldByOther(const LockRecord& held, std::int64_t now_ms) {
  const std::int64_t seconds_left = (held.expires_ms - now_ms + 999) / 1000;
  return Error(SyncCode::kLocked, Category::kLocked,
               "the store's write lock is held by device " + held.owner + " until " +
                   FormatUtcSeconds(held.expires_ms) + " (" + std::to_string(seconds_left) +
                   " s from now); try again when that device is done or the lock has expired")
      .With("key", std::string(kWhat))
      .With("owner", held.owner)
      .With("expires_ms", std::to_string(held.expires_ms));
}

// A lock file we cannot read blocks everyone: it may be a live lock, and
// nothing in it can be trusted to say when it ends.
Error Unreadable(Error decode_error) {
  std::string message;
  if (decode_error.category == Category::kUnsupported) {
    message = "the store's write lock was taken by a newer hx (" + decode_error.message +
              "); try again when that device is done, or upgrade hx";
  } else {
    message = "the store's write lock is damaged (" + decode_error.message +
              ") and will not expire by itself; if no device is syncing, remove it with "
              "`hx sync unlock`";
  }
  Error error(SyncCode::kLocked, decode_error.category, std::move(message));
  error.details = std::move(decode_error.details);
  if (decode_error.category != Category::kUnsupported) {
    error.WithNextStep(std::string(next_steps::kDamagedStoreLock));
  }
  return error.With("key", std::string(kWhat));
}

std::string NewToken() {
  std::array<std::uint8_t, 16> bytes{};
  RandomBytes(bytes);
  return ToHex(bytes);
}

}  // namespace

Result<Bytes> EncodeLockRecord(const LockRecord& record) {
  if (const auto problem = RecordProblem(record)) return EncoderBug("EncodeLockRecord", *problem);
  const json value{{"acquired_ms", record.acquired_ms},
                   {"expires_ms", record.expires_ms},
                   {"format_version", kFormatVersion},
                   {"owner", record.owner},
                   {"token", record.token}};
  HX_ASSIGN_OR_RETURN(const std::string bytes, WriteRecordJson(kWhat, value));
  return ToByteVector(bytes);
}

Result<LockRecord> DecodeLockRecord(std::string_view bytes) {
  return AsStoreRecord(DecodeFields(bytes));
}

Result<std::optional<LockRecord>> ReadLock(Store& store) {
  Result<Bytes> bytes = store.Get(kWriteLockKey, kMaxLockBytes);
  if (!bytes.ok()) {
    if (bytes.error().category == Category::kNotFound) return std::optional<LockRecord>();
    return std::move(bytes).error();
  }
  Result<LockRecord> record = DecodeLockRecord(AsText(*bytes));
  if (!record.ok()) return std::move(record).error().With("key", std::string(kWhat));
  return std::optional<LockRecord>(std::move(*record));
}

Status ForceUnlock(Store& store) { return store.Delete(kWriteLockKey); }

Result<WriteLock> WriteLock::Acquire(Store& store, std::string_view node_id, std::int64_t now_ms,
                                     const LockOptions& options) {
  if (!IsLowerHex(node_id, kShortIdHexLength)) {
    return EncoderBug("WriteLock::Acquire", "the node id is not 32 lowercase hex");
  }
  if (options.ttl_ms <= 0 || now_ms < 0 ||
      now_ms > std::numeric_limits<std::int64_t>::max() - options.ttl_ms) {
    return EncoderBug("WriteLock::Acquire", "now_ms or ttl_ms is out of range");
  }
  const LockRecord mine{.owner = std::string(node_id),
                        .token = NewToken(),
                        .acquired_ms = now_ms,
                        .expires_ms = now_ms + options.ttl_ms};
  HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodeLockRecord(mine));

  for (int attempt = 0; attempt < options.max_attempts; ++attempt) {
    Result<StoreVersion> created = store.PutIfAbsent(kWriteLockKey, bytes);
    if (created.ok()) return WriteLock(store, mine, std::move(*created), options.ttl_ms);
    if (created.error().category != Category::kAborted) return std::move(created).error();

    auto current = store.GetVersioned(kWriteLockKey, kMaxLockBytes);
    if (!current.ok()) {
      // Released between our two calls: try to create it again.
      if (current.error().category == Category::kNotFound) continue;
      return std::move(current).error();
    }
    const auto& [held_bytes, held_version] = *current;
    Result<LockRecord> held = DecodeLockRecord(AsText(held_bytes));
    if (!held.ok()) return Unreadable(std::move(held).error());
    // Another device's live lock wins. An expired one, or one left by a
    // crashed run of this device (see the precondition in lock.h), is ours
    // to take over.
    if (held->owner != node_id && now_ms < held->expires_ms) return HeldByOther(*held, now_ms);

    if (store.capabilities().atomic_compare_and_swap) {
      Result<StoreVersion> replaced = store.PutIfMatch(kWriteLockKey, bytes, held_version);
      if (replaced.ok()) return WriteLock(store, mine, std::move(*replaced), options.ttl_ms);
      if (replaced.error().category == Category::kAborted ||
          replaced.error().category == Category::kNotFound) {
        continue;  // someone else moved first; look again
      }
      return std::move(replaced).error();
    }
    // No atomic replace: delete the stale lock if it is still the very one
    // we judged, then race for PutIfAbsent like everyone else. Re-reading
    // right before the delete narrows the window in which a taker that
    // moved first could lose its fresh lock to our delete.
    auto again = store.GetVersioned(kWriteLockKey, kMaxLockBytes);
    if (!again.ok()) {
      if (again.error().category == Category::kNotFound) continue;
      return std::move(again).error();
    }
    if (again->second != held_version) continue;
    HX_RETURN_IF_ERROR(store.Delete(kWriteLockKey));
  }
  return Error(SyncCode::kLocked, Category::kLocked,
               "could not take the store's write lock: other devices kept taking or releasing "
               "it; try again")
      .With("key", std::string(kWhat));
}

WriteLock::WriteLock(WriteLock&& other) noexcept
    : store_(other.store_),
      record_(std::move(other.record_)),
      version_(std::move(other.version_)),
      ttl_ms_(other.ttl_ms_),
      held_(other.held_) {
  other.held_ = false;
}

WriteLock& WriteLock::operator=(WriteLock&& other) noexcept {
  if (this != &other) {
    if (held_) (void)Release();
    store_ = other.store_;
    record_ = std::move(other.record_);
    version_ = std::move(other.version_);
    ttl_ms_ = other.ttl_ms_;
    held_ = other.held_;
    other.held_ = false;
  }
  return *this;
}

WriteLock::~WriteLock() {
  if (!held_) return;
  // Best effort: a failure leaves the lock to expire by itself.
  try {
    (void)Release();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
}

Status WriteLock::Renew(std::int64_t now_ms) {
  if (!held_) return InternalError("WriteLock::Renew: the lock is not held");
  if (now_ms < 0 || now_ms > std::numeric_limits<std::int64_t>::max() - ttl_ms_) {
    return InternalError("WriteLock::Renew: now_ms is out of range");
  }
  LockRecord renewed = record_;
  renewed.expires_ms = std::max(now_ms + ttl_ms_, record_.acquired_ms);
  HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodeLockRecord(renewed));
  Result<StoreVersion> written = store_->PutIfMatch(kWriteLockKey, bytes, version_);
  if (!written.ok()) {
    const Category category = written.error().category;
    if (category != Category::kAborted && category != Category::kNotFound) {
      return std::move(written).error();
    }
    held_ = false;
    return Error(SyncCode::kLocked, Category::kAborted,
                 "the store's write lock was lost: it expired and was taken over or removed "
                 "before it was renewed")
        .With("key", std::string(kWhat));
  }
  record_ = std::move(renewed);
  version_ = std::move(*written);
  return OkStatus();
}

Status WriteLock::Release() {
  if (!held_) return OkStatus();
  held_ = false;
  auto current = store_->GetVersioned(kWriteLockKey, kMaxLockBytes);
  if (!current.ok()) {
    if (current.error().category == Category::kNotFound) return OkStatus();
    return std::move(current).error();
  }
  // Only our own lock is deleted: after expiry another device may hold it.
  Result<LockRecord> held = DecodeLockRecord(AsText(current->first));
  if (!held.ok() || held->token != record_.token) return OkStatus();
  return store_->Delete(kWriteLockKey);
}

}  // namespace hx
