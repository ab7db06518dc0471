// Path locks: a device's statement, kept in the store, that it is working on
// a path and that other devices should not auto-merge changes to it (seed 002
// "active lineage lock"; `hx lock add|remove|list`). A lock on a directory
// covers everything beneath it. Path locks are advisory: they never stop a
// push or a pull with the default policy; the conservative_plus policies
// refuse to auto-merge a change to a path another device has locked.
//
// locks/paths/<name>.hxlock, where
//   name = hex(keyed BLAKE3(K, normalized path)),
//   K    = BLAKE3 derive_key("hx 2026-11 path lock name v1", keys.ids),
// so the store sees neither the path nor a value it could test a guessed
// path against, and the same path always has the same key (two devices
// locking one path race for one object). The object is the sealed
// (crypto/aead.h) canonical JSON
//   {"created_ms":C,"expires_ms":E,"format_version":1,"owner":"<node id>",
//    "path":"<normalized path>","vault_id":"<32 hex>"}
// under keys.content with a synthetic nonce under keys.nonce and associated
// data EncodeAssociatedData({"hx path lock v1", vault_id, name}); a lock
// copied under another name or from another vault does not open, and the
// decoded path must hash back to the name.
//
// Rules (docs/FORMAT.md, "Path locks"):
//   - A lock is active while now_ms < expires_ms; an expired lock is
//     ignored by every reader and may be replaced or removed by anyone.
//   - Add creates the object with PutIfAbsent, or replaces an expired lock,
//     a lock of this same device (a renewal) or a damaged one with
//     PutIfMatch against the version read: of two devices racing for one
//     path, one wins and the other sees the winner's lock.
//   - Another device's active lock is KC_SYNC_LOCKED (Category::kLocked) for
//     Add, and for Remove unless forced.
//   - The store has no conditional delete: Remove re-reads the lock right
//     before deleting it and deletes only if it is still the one judged; a
//     narrow window remains in which a lock re-added between the two calls is
//     deleted (the adder sees it gone in `hx lock list`).
//   - The store provider cannot forge, edit or move a lock (it is sealed and
//     bound to its name) but can delete one or serve an old one: locks are
//     coordination among honest devices, not access control.
//
// Thread-safety: pure functions and values; the store calls are as
// thread-safe as the Store.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

inline constexpr std::string_view kPathLockPrefix = "locks/paths/";
inline constexpr std::string_view kPathLockSuffix = ".hxlock";
// The longest lockable path, in bytes (a sealed lock stays under 8 KiB).
inline constexpr std::size_t kMaxLockPathBytes = 4096;
inline constexpr std::uint64_t kMaxPathLockBytes = 8192;
// ListPathLocks reads at most this many locks; more is refused (a store
// holding more was not written by hx's users).
inline constexpr std::size_t kMaxPathLocks = 10000;
// The longest lock an `hx lock add` may ask for: one year.
inline constexpr std::int64_t kMaxPathLockTtlMs = std::int64_t{366} * 24 * 3600 * 1000;

struct PathLock {
  std::string path;   // normalized (NormalizeLockPath)
  std::string owner;  // node id, 32 lowercase hex
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;  // > created_ms

  bool ActiveAt(std::int64_t now_ms) const { return now_ms < expires_ms; }
  // Whether the lock covers `path` (normalized): the locked path itself or
  // anything beneath it.
  bool Covers(std::string_view normalized_path) const;
  friend bool operator==(const PathLock&, const PathLock&) = default;
};

// The normalized form of a vault-relative path: '/'-separated components,
// no empty, "." or ".." component, no leading or trailing '/', each
// component a valid entry name (repo/tree.h), not inside ".hx/", at most
// kMaxLockPathBytes. Leading "./" and repeated or trailing slashes are
// removed. Anything else is KC_SYNC_INPUT_INVALID (Category::kInvalidInput)
// with a message saying which rule failed.
Result<std::string> NormalizeLockPath(std::string_view path);

// The 64-hex name of the lock of `normalized_path` (see above).
std::string PathLockName(const VaultContext& ctx, std::string_view normalized_path);
// "locks/paths/<name>.hxlock".
std::string PathLockKey(std::string_view name);

// The sealed bytes of `lock`. Deterministic. KC_SYNC_INTERNAL for a lock hx
// would refuse to read (path not normalized, malformed owner, times out of
// order or negative).
Result<Bytes> EncodePathLock(const VaultContext& ctx, const PathLock& lock);

// Strictly decodes the untrusted bytes stored under PathLockKey(name).
// Failures, all KC_SYNC_STATE_FAILED: Category::kCorrupt (too large, does not
// authenticate as this vault's lock of that name, not canonical, malformed
// or unknown fields, a path that does not hash to the name), or
// Category::kUnsupported (format_version above 1). Precondition: name is 64
// lowercase hex (else KC_SYNC_INTERNAL).
Result<PathLock> DecodePathLock(const VaultContext& ctx, std::string_view name,
                                std::span<const std::uint8_t> bytes);

// The lock stored for `normalized_path`, expired or not; nullopt if none.
// Decoding errors carry detail "key"; store errors pass through.
Result<std::optional<PathLock>> ReadPathLock(Store& store, const VaultContext& ctx,
                                             std::string_view normalized_path);

struct PathLockListing {
  std::vector<PathLock> locks;       // every readable lock, expired included, by path
  std::vector<std::string> damaged;  // keys of locks that did not decode, sorted
};
// Every lock on the store (List of kPathLockPrefix, one Get each). More than
// kMaxPathLocks objects: KC_SYNC_STATE_FAILED, Category::kCorrupt. Locks of
// a newer format and damaged ones are listed in `damaged`, not failed on.
Result<PathLockListing> ListPathLocks(Store& store, const VaultContext& ctx);

// Locks `normalized_path` for `owner` from now_ms for ttl_ms (1 ..
// kMaxPathLockTtlMs, else KC_SYNC_INPUT_INVALID) following the rules above,
// and returns the lock written. A live lock of `owner` is renewed (its
// created_ms is kept). Store errors pass through.
Result<PathLock> AddPathLock(Store& store, const VaultContext& ctx, std::string_view owner,
                             std::string_view normalized_path, std::int64_t now_ms,
                             std::int64_t ttl_ms);

// Removes the lock of `normalized_path` and returns it (nullopt: it was
// damaged, and removed with `force`). No lock: KC_SYNC_STATE_FAILED,
// Category::kNotFound. Another device's active lock without `force`:
// KC_SYNC_LOCKED, Category::kLocked. A damaged lock without `force`: its
// decoding error; a lock of a newer format: always that error.
Result<std::optional<PathLock>> RemovePathLock(Store& store, const VaultContext& ctx, std::string_view owner,
                                std::string_view normalized_path, std::int64_t now_ms,
                                bool force);

}  // namespace hx
