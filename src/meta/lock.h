// The store's write lock: at most one device publishes at a time.
//
// locks/write.lock holds canonical JSON
//   {"acquired_ms":A,"expires_ms":E,"format_version":1,"owner":"<node id>",
//    "token":"<32 hex>"}
// The token (16 random bytes, new at every acquisition) tells this holder's
// lock from any later one, so a holder never deletes a lock it lost.
//
// Rules (docs/FORMAT.md, "Write lock"):
//   - Acquire creates the file with PutIfAbsent; of two devices racing, one
//     wins and the other sees the winner's lock.
//   - A lock held by another device that has not expired (now_ms <
//     expires_ms) is KC_SYNC_LOCKED, Category::kLocked, details {owner,
//     expires_ms}, with a message saying until when.
//   - An expired lock (expires_ms <= now_ms) is taken over: where the store
//     has atomic compare-and-swap, by PutIfMatch against the version read;
//     elsewhere by re-reading it, deleting it if it is still the same lock,
//     then PutIfAbsent (a racing taker loses the PutIfAbsent). Without an
//     atomic conditional delete a narrow window remains in which two takers
//     both succeed; the head's own compare-and-swap is the second line.
//   - A lock held by this same node is a crashed earlier run of this device
//     and is taken over at once. Precondition: the caller guarantees no
//     other process of this device runs (hx holds <vault>/.hx/lock, a local
//     flock, for the whole command).
//   - A lock file that does not parse blocks everyone: KC_SYNC_LOCKED with
//     Category::kCorrupt (its age cannot be known without a trusted
//     timestamp, so it never expires by itself); the message says to remove
//     it with `hx sync unlock` once no device is syncing (ForceUnlock). A
//     lock of a newer format is KC_SYNC_LOCKED with Category::kUnsupported.
//   - Renew extends the expiry; Release deletes the file only while it still
//     holds our token.
//
// Thread-safety: a WriteLock is not thread-safe (one owner); distinct locks
// may be used from distinct threads. The store must outlive the lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "store/store.h"

namespace hx {

inline constexpr std::string_view kWriteLockKey = "locks/write.lock";
// A lock record is ~150 bytes; larger files are refused unread.
inline constexpr std::uint64_t kMaxLockBytes = 4096;

struct LockOptions {
  // How long a lock stays valid without Renew. Long enough for a push of a
  // big folder between renewals; short enough that a crashed device does not
  // block the others for long. Must be positive.
  std::int64_t ttl_ms = 15 * 60 * 1000;
  // How many times Acquire re-reads the lock after losing a race (the lock
  // was released or taken over between two of its calls) before giving up
  // with KC_SYNC_LOCKED.
  int max_attempts = 4;
};

struct LockRecord {
  std::string owner;   // node id, 32 lowercase hex
  std::string token;   // 32 lowercase hex
  std::int64_t acquired_ms = 0;
  std::int64_t expires_ms = 0;  // >= acquired_ms
  friend bool operator==(const LockRecord&, const LockRecord&) = default;
};

// Canonical bytes of a lock record. KC_SYNC_INTERNAL for an invalid record.
Result<Bytes> EncodeLockRecord(const LockRecord& record);
// Strict decoding of untrusted lock bytes: KC_SYNC_STATE_FAILED with
// Category::kCorrupt naming the problem, or Category::kUnsupported for a
// newer format_version.
Result<LockRecord> DecodeLockRecord(std::string_view bytes);

// The lock as it is on the store now (for status): nullopt if nobody holds
// it. Decoding errors as DecodeLockRecord, with detail "key".
Result<std::optional<LockRecord>> ReadLock(Store& store);

// Deletes the lock whoever holds it: `hx sync unlock`, for a corrupt lock or
// a device that will never come back. Only when the user says no device is
// syncing.
Status ForceUnlock(Store& store);

class WriteLock {
 public:
  // Takes the lock for `node_id` (32 lowercase hex, else KC_SYNC_INTERNAL)
  // at `now_ms`, following the rules above. Store errors pass through.
  static Result<WriteLock> Acquire(Store& store, std::string_view node_id, std::int64_t now_ms,
                                   const LockOptions& options = {});

  WriteLock(WriteLock&& other) noexcept;
  WriteLock& operator=(WriteLock&& other) noexcept;
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  // Releases the lock if still held, best effort: errors are ignored (the
  // lock then expires by itself). Never throws.
  ~WriteLock();

  // Moves the expiry to now_ms + ttl_ms, if the store still holds our lock
  // (PutIfMatch against the version we wrote). A lock that was taken over
  // (it expired first) fails with KC_SYNC_LOCKED, Category::kAborted, and
  // is no longer held. Other store errors pass through; the lock stays held.
  Status Renew(std::int64_t now_ms);

  // Deletes the lock if it still holds our token; a lock that another device
  // took over is left alone (success, nothing deleted). Afterwards the lock
  // is not held, whatever the outcome. Idempotent.
  Status Release();

  bool held() const { return held_; }
  const LockRecord& record() const { return record_; }

 private:
  WriteLock(Store& store, LockRecord record, StoreVersion version, std::int64_t ttl_ms)
      : store_(&store), record_(std::move(record)), version_(std::move(version)),
        ttl_ms_(ttl_ms), held_(true) {}

  Store* store_;  // not owned
  LockRecord record_;
  StoreVersion version_;  // of the bytes we last wrote
  std::int64_t ttl_ms_;
  bool held_;
};

}  // namespace hx
