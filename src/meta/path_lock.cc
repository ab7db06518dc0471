#include "meta/path_lock.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <limits>

#include "base/hex.h"
#include "base/next_steps.h"
#include "base/utc_time.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "json/json_fields.h"
#include "meta/records.h"
#include "repo/tree.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kAdLabel = "hx path lock v1";
constexpr std::string_view kNameKeyContext = "hx 2026-11 path lock name v1";
// How often Add and Remove re-read after losing a race before giving up.
constexpr int kMaxAttempts = 4;

std::vector<std::uint8_t> LockAd(std::string_view vault_id, std::string_view name) {
  return EncodeAssociatedData({kAdLabel, vault_id, name});
}

std::optional<std::string> LockProblem(const PathLock& lock) {
  Result<std::string> normalized = NormalizeLockPath(lock.path);
  if (!normalized.ok() || *normalized != lock.path) return "path is not a normalized path";
  if (!IsLowerHex(lock.owner, kShortIdHexLength)) return "owner is not 32 lowercase hex";
  if (lock.created_ms < 0) return "created_ms is negative";
  if (lock.expires_ms <= lock.created_ms) return "expires_ms is not after created_ms";
  return std::nullopt;
}

Result<PathLock> DecodeFields(const VaultContext& ctx, std::string_view name,
                              std::span<const std::uint8_t> bytes) {
  const std::string what = PathLockKey(name);
  if (bytes.size() > kMaxPathLockBytes) {
    return CorruptRecord(what, "larger than the limit of " + std::to_string(kMaxPathLockBytes) +
                                   " bytes");
  }
  Result<std::vector<std::uint8_t>> plaintext =
      AeadOpen(ctx.keys.content, LockAd(ctx.vault_id, name), bytes);
  if (!plaintext.ok()) {
    return CorruptRecord(what, "does not authenticate as this vault's lock of that name: "
                               "tampered, renamed, or from another vault");
  }
  const std::string_view text = AsText(*plaintext);
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(what, text, kMaxPathLockBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, text));
  PathLock lock;
  HX_ASSIGN_OR_RETURN(lock.created_ms, TimeField(fields, "created_ms"));
  HX_ASSIGN_OR_RETURN(lock.expires_ms, TimeField(fields, "expires_ms"));
  HX_ASSIGN_OR_RETURN(lock.owner, HexField(fields, "owner", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(lock.path, fields.String("path"));
  HX_ASSIGN_OR_RETURN(const std::string vault_id, HexField(fields, "vault_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (vault_id != ctx.vault_id) return CorruptRecord(what, "names another vault");
  if (const auto problem = LockProblem(lock)) return CorruptRecord(what, *problem);
  // The AD binds the name; the path must be the one the name stands for, or
  // a writer with the key made a lock that covers another path than its name.
  if (PathLockName(ctx, lock.path) != name) {
    return CorruptRecord(what, "holds a path that does not match its name");
  }
  return lock;
}

Error HeldByOther(const PathLock& held, std::string_view key, std::string_view what_to_do) {
  return Error(SyncCode::kLocked, Category::kLocked,
               "path " + held.path + " is locked by device " + held.owner + " until " +
                   FormatUtcSeconds(held.expires_ms) + "; " + std::string(what_to_do))
      .With("key", std::string(key))
      .With("owner", held.owner)
      .With("path", held.path)
      .With("expires_ms", std::to_string(held.expires_ms))
      .WithNextStep(std::string(next_steps::kPathLockHeld));
}

Error InvalidPath(std::string_view problem) {
  return InvalidInput(SyncCode::kInputInvalid,
                      "invalid lock path: " + std::string(problem) +
                          "; give a path relative to the vault folder, like docs/plan.md");
}

}  // namespace

bool PathLock::Covers(std::string_view normalized_path) const {
  if (!normalized_path.starts_with(path)) return false;
  return normalized_path.size() == path.size() || normalized_path[path.size()] == '/';
}

Result<std::string> NormalizeLockPath(std::string_view path) {
  if (path.size() > kMaxLockPathBytes) {
    return InvalidPath("longer than " + std::to_string(kMaxLockPathBytes) + " bytes");
  }
  if (path.starts_with('/')) return InvalidPath("it is absolute");
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    start = end + 1;
    if (component.empty()) continue;
    if (component == "." && first && out.empty()) continue;  // a leading "./"
    if (component == "." || component == "..") {
      return InvalidPath("it has a \".\" or \"..\" component");
    }
    if (!IsValidEntryName(component)) return InvalidPath("a component is not a valid name");
    if (out.empty() && component == ".hx") {
      return InvalidPath(".hx/ holds this device's local state and is never synced");
    }
    first = false;
    if (!out.empty()) out += '/';
    out += component;
  }
  if (out.empty()) return InvalidPath("it is empty");
  return out;
}

std::string PathLockName(const VaultContext& ctx, std::string_view normalized_path) {
  Blake3Key key{};
  Blake3DeriveKey(kNameKeyContext, ctx.keys.ids.bytes(), key);
  const Blake3Digest digest = Blake3KeyedHash(key, AsBytes(normalized_path));
  std::fill(key.begin(), key.end(), 0);
  return ToHex(digest);
}

std::string PathLockKey(std::string_view name) {
  return std::string(kPathLockPrefix) + std::string(name) + std::string(kPathLockSuffix);
}

Result<Bytes> EncodePathLock(const VaultContext& ctx, const PathLock& lock) {
  if (const auto problem = LockProblem(lock)) return EncoderBug("EncodePathLock", *problem);
  const json value{{"created_ms", lock.created_ms},
                   {"expires_ms", lock.expires_ms},
                   {"format_version", kFormatVersion},
                   {"owner", lock.owner},
                   {"path", lock.path},
                   {"vault_id", ctx.vault_id}};
  HX_ASSIGN_OR_RETURN(const std::string text, WriteRecordJson("path lock", value));
  const std::string name = PathLockName(ctx, lock.path);
  return AeadSealSynthetic(ctx.keys.content, ctx.keys.nonce, LockAd(ctx.vault_id, name),
                           AsBytes(text));
}

Result<PathLock> DecodePathLock(const VaultContext& ctx, std::string_view name,
                                std::span<const std::uint8_t> bytes) {
  if (!IsLowerHex(name, kLongIdHexLength)) {
    return EncoderBug("DecodePathLock", "the name is not 64 lowercase hex");
  }
  return AsStoreRecord(DecodeFields(ctx, name, bytes));
}

Result<std::optional<PathLock>> ReadPathLock(Store& store, const VaultContext& ctx,
                                             std::string_view normalized_path) {
  const std::string name = PathLockName(ctx, normalized_path);
  const std::string key = PathLockKey(name);
  Result<Bytes> bytes = store.Get(key, kMaxPathLockBytes);
  if (!bytes.ok()) {
    if (bytes.error().category == Category::kNotFound) return std::optional<PathLock>();
    return std::move(bytes).error();
  }
  Result<PathLock> lock = DecodePathLock(ctx, name, *bytes);
  if (!lock.ok()) return std::move(lock).error().With("key", key);
  return std::optional<PathLock>(std::move(*lock));
}

Result<PathLockListing> ListPathLocks(Store& store, const VaultContext& ctx) {
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> listing, store.List(kPathLockPrefix));
  if (listing.size() > kMaxPathLocks) {
    return CorruptRecord(kPathLockPrefix, "holds more than " + std::to_string(kMaxPathLocks) +
                                              " objects");
  }
  PathLockListing out;
  for (const StoreObjectInfo& info : listing) {
    std::string_view name = info.key;
    if (!name.starts_with(kPathLockPrefix) || !name.ends_with(kPathLockSuffix)) continue;
    name.remove_prefix(kPathLockPrefix.size());
    name.remove_suffix(kPathLockSuffix.size());
    if (!IsLowerHex(name, kLongIdHexLength)) continue;
    Result<Bytes> bytes = store.Get(info.key, kMaxPathLockBytes);
    if (!bytes.ok()) {
      // Removed between the listing and the read: not a lock any more.
      if (bytes.error().category == Category::kNotFound) continue;
      if (bytes.error().category != Category::kCorrupt) return std::move(bytes).error();
      out.damaged.push_back(info.key);
      continue;
    }
    Result<PathLock> lock = DecodePathLock(ctx, name, *bytes);
    if (lock.ok()) {
      out.locks.push_back(std::move(*lock));
    } else {
      out.damaged.push_back(info.key);
    }
  }
  std::sort(out.locks.begin(), out.locks.end(),
            [](const PathLock& a, const PathLock& b) { return a.path < b.path; });
  std::sort(out.damaged.begin(), out.damaged.end());
  return out;
}

Result<PathLock> AddPathLock(Store& store, const VaultContext& ctx, std::string_view owner,
                             std::string_view normalized_path, std::int64_t now_ms,
                             std::int64_t ttl_ms) {
  if (ttl_ms <= 0 || ttl_ms > kMaxPathLockTtlMs) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the lock's time to live must be between 1 ms and 366 days; got " +
                            std::to_string(ttl_ms) + " ms");
  }
  if (now_ms < 0 || now_ms > std::numeric_limits<std::int64_t>::max() - ttl_ms) {
    return InvalidInput(SyncCode::kInputInvalid, "now_ms is out of range");
  }
  PathLock mine{.path = std::string(normalized_path),
                .owner = std::string(owner),
                .created_ms = now_ms,
                .expires_ms = now_ms + ttl_ms};
  if (const auto problem = LockProblem(mine)) return EncoderBug("AddPathLock", *problem);
  const std::string name = PathLockName(ctx, mine.path);
  const std::string key = PathLockKey(name);

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto current = store.GetVersioned(key, kMaxPathLockBytes);
    if (!current.ok() && current.error().category == Category::kNotFound) {
      HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodePathLock(ctx, mine));
      Result<StoreVersion> created = store.PutIfAbsent(key, bytes);
      if (created.ok()) return mine;
      if (created.error().category == Category::kAborted) continue;  // lost a race: look again
      return std::move(created).error();
    }
    if (!current.ok()) return std::move(current).error();
    const auto& [held_bytes, held_version] = *current;
    Result<PathLock> held = DecodePathLock(ctx, name, held_bytes);
    PathLock next = mine;
    if (held.ok()) {
      if (held->owner != owner && held->ActiveAt(now_ms)) {
        return HeldByOther(*held, key, "ask that device to remove it, or wait until it expires");
      }
      // A renewal keeps the time the device started working on the path.
      if (held->owner == owner && held->ActiveAt(now_ms)) next.created_ms = held->created_ms;
    } else if (held.error().category != Category::kCorrupt) {
      return std::move(held).error().With("key", key);  // a newer hx's lock: leave it alone
    }
    HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodePathLock(ctx, next));
    Result<StoreVersion> replaced = store.PutIfMatch(key, bytes, held_version);
    if (replaced.ok()) return next;
    if (replaced.error().category != Category::kAborted &&
        replaced.error().category != Category::kNotFound) {
      return std::move(replaced).error();
    }
  }
  return Error(SyncCode::kLocked, Category::kLocked,
               "could not lock path " + mine.path +
                   ": other devices kept changing its lock; try again")
      .With("key", key)
      .With("path", mine.path);
}

Result<std::optional<PathLock>> RemovePathLock(Store& store, const VaultContext& ctx,
                                               std::string_view owner,
                                               std::string_view normalized_path,
                                               std::int64_t now_ms, bool force) {
  const std::string path(normalized_path);
  const std::string name = PathLockName(ctx, path);
  const std::string key = PathLockKey(name);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto current = store.GetVersioned(key, kMaxPathLockBytes);
    if (!current.ok()) {
      if (current.error().category == Category::kNotFound) {
        return Error(SyncCode::kStateFailed, Category::kNotFound,
                     "path " + path + " is not locked; `hx lock list` shows the locks")
            .With("path", path);
      }
      return std::move(current).error();
    }
    const auto& [held_bytes, held_version] = *current;
    Result<PathLock> held = DecodePathLock(ctx, name, held_bytes);
    if (!held.ok()) {
      if (held.error().category != Category::kCorrupt || !force) {
        return std::move(held).error().With("key", key);
      }
    } else if (held->owner != owner && held->ActiveAt(now_ms) && !force) {
      return HeldByOther(*held, key,
                         "ask that device to remove it, or remove it anyway with --force");
    }
    // No conditional delete: re-read right before deleting so that a lock
    // replaced since it was judged is judged again (see the header).
    auto again = store.GetVersioned(key, kMaxPathLockBytes);
    if (!again.ok()) {
      if (again.error().category == Category::kNotFound) continue;
      return std::move(again).error();
    }
    if (again->second != held_version) continue;
    HX_RETURN_IF_ERROR(store.Delete(key));
    if (!held.ok()) return std::optional<PathLock>();
    return std::optional<PathLock>(std::move(*held));
  }
  return Error(SyncCode::kLocked, Category::kLocked,
               "could not remove the lock of path " + path +
                   ": other devices kept changing it; try again")
      .With("key", key)
      .With("path", path);
}

}  // namespace hx
