// The local history cache, .hx/versions/: the versions of files that pulls
// replaced or deleted on this device, kept so that an older version can be
// had back without the store (offline), like Syncthing's "staggered" file
// versioning. It answers seed 004's open question of what offline history
// a device retains: by default the replaced versions of the last 30 days,
// thinned with age, in at most 1 GiB (VersionsPolicy).
//
// How a version gets there: the applier (sync/apply.h) keeps the version a
// pull replaces or deletes at VersionRel(path, now) through the same step
// that replaces it (sync/displace.h: a hard link then the rename of the
// staged file over the path; a deletion is one rename), so no byte is
// copied and a kill at any point leaves the old version at the path or in
// the cache (or both), never neither. Every call goes through a VaultDir:
// nothing is reached through a symlink, and a symlink in the cache is a
// version of a symlink (never followed).
//
// Layout: .hx/versions/<dir of path>/<stem>~<YYYYMMDD-HHMMSS><ext> (UTC,
// the time the pull replaced it; <ext> is the last ".xyz" of the name, as
// for conflict copies), plus ".~N~" when a name is taken (two versions in
// one second). .hx/ is never scanned nor pushed, so the cache is local.
//
// Thinning (ThinVersions, after each pull that kept a version): per path,
// one version per 30 s in the last hour, one per hour in the last day, one
// per day in the last 30 days (the newest of each slot is kept); older
// versions go. Then, while the cache holds more than max_bytes, the oldest
// version of any path goes first.
//
// Thread-safety: functions of the vault folder; callers hold the vault's
// process lock (LocalState).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "os/vault_dir.h"

namespace hx {

// Vault-relative (VaultArea::kState).
inline constexpr std::string_view kVersionsRel = ".hx/versions";
inline constexpr std::uint64_t kDefaultVersionsMaxBytes = std::uint64_t{1} << 30;  // 1 GiB
inline constexpr std::int64_t kVersionsMaxAgeMs = std::int64_t{30} * 24 * 3600 * 1000;

struct VersionsPolicy {
  // The cache's size cap in bytes (the sum of the versions' sizes); 0: the
  // cache is off (pulls keep nothing, and a thinning empties it).
  std::uint64_t max_bytes = kDefaultVersionsMaxBytes;
};

// Where the version of vault path `path` replaced at `now_ms` goes
// (vault-relative, under kVersionsRel).
std::string VersionRel(std::string_view path, std::int64_t now_ms);

// One version in the cache.
struct StoredVersion {
  std::string path;          // the vault path it is a version of
  std::string rel;           // where it is, vault-relative
  std::int64_t time_ms = 0;  // when it was replaced (second resolution, from its name)
  std::uint64_t size = 0;    // bytes (a symlink: its target's length)
  bool symlink = false;
};

// The versions in the cache (of `path` only, if given), newest first (then
// by path). Names that are not versions are skipped; a missing cache is
// empty. Errors: KC_SYNC_APPLY_FAILED naming what cannot be read (a
// symlinked .hx/versions: kConflict).
Result<std::vector<StoredVersion>> ListVersions(const VaultDir& vault,
                                                std::optional<std::string_view> path = std::nullopt);

struct ThinReport {
  std::uint64_t kept = 0;
  std::uint64_t removed = 0;
  std::uint64_t bytes_kept = 0;
  std::uint64_t bytes_removed = 0;
};

// Thins the cache as of `now_ms` and caps it at policy.max_bytes (see
// above); empty directories left behind are removed. Errors as
// ListVersions', or the first removal that fails (naming it).
Result<ThinReport> ThinVersions(const VaultDir& vault, const VersionsPolicy& policy,
                                std::int64_t now_ms);

// Parses a version's leaf name "<stem>~<YYYYMMDD-HHMMSS><ext>[.~N~]":
// the original leaf name and the time; nullopt if it is not one.
struct VersionName {
  std::string leaf;
  std::int64_t time_ms = 0;
};
std::optional<VersionName> ParseVersionName(std::string_view name);

}  // namespace hx
