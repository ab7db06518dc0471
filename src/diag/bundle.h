// hx diag bundle: a support bundle of one vault, a .tar.zst (ustar.h, zstd)
// of everything needed to understand a problem and nothing personal:
//
//   hx-diag/manifest.json   what is inside (every other member: name, bytes,
//                           BLAKE3), how names are hashed, the bounds used
//   hx-diag/versions.json   hx and its libraries (zstd, SQLite, OpenSSL,
//                           libsodium), the compiler
//   hx-diag/config.json     .hx/config.json through an allow-list (ids,
//                           target, S3 endpoint options, settings); never the
//                           key (.hx/key) nor the store's vault.json
//   hx-diag/status.json     hx sync status's report, or the error it gave
//   hx-diag/store.json      the store's Describe() and capabilities
//   hx-diag/index.json      the index: table row counts, PRAGMA
//                           integrity_check, schema version, page counts
//   hx-diag/reports/*.json  the newest reports of .hx/reports/
//   hx-diag/logs/log-N.jsonl the tail of each log file (--log FILE, and
//                           .hx/logs/ if it exists)
//
// Names: every path of the vault the bundle knows (the base in the index,
// the status's changed paths and scan issues) and each of their components
// of 4 bytes or more or with a '.' is replaced in every text member by
// "name:<16 hex>", the first 8 bytes of BLAKE3 keyed with a random key made
// for this bundle and not stored in it: one name gives the same hash within
// a bundle (so support can follow it), and a guessed name cannot be tested
// against it. Values under path keys ("path", "paths", "renamed_to", ...)
// are hashed whatever they are. `include_names` keeps names as they are.
// Secrets the caller knows (the passphrase, S3 credentials) are replaced by
// "<redacted>" wherever they would appear; the master key, the wrapped key
// and file contents are never read into the bundle at all.
//
// Bounds: a log tail is at most 1 MiB per file, 8 files; at most 10 reports
// of at most 1 MiB each; integrity_check lists at most 100 problems; the
// whole bundle is built in memory (at most ~20 MiB before compression).
//
// Thread-safety: one call per vault at a time (status takes the vault lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sync/engine.h"

namespace hx::diag {

inline constexpr std::size_t kMaxLogTailBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxLogFiles = 8;
inline constexpr std::size_t kMaxReports = 10;
inline constexpr std::size_t kMaxReportBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxIntegrityRows = 100;

struct BundleOptions {
  bool include_names = false;
  // Log files to take the tail of (besides <vault>/.hx/logs/*).
  std::vector<std::filesystem::path> log_files;
  // Strings that must not appear in the bundle (replaced by "<redacted>");
  // empty strings and strings shorter than 4 bytes are ignored.
  std::vector<std::string> secrets;
  std::string hx_version;
  // The per-bundle name key's source (tests pin it). Null: the CSPRNG.
  std::function<void(std::span<std::uint8_t>)> random;
};

struct BundleReport {
  std::string output;
  std::uint64_t bytes = 0;  // of the .tar.zst
  std::vector<std::string> members;
  bool names_hashed = true;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Builds the bundle of `vault` (a vault folder: .hx/config.json must exist,
// else KC_SYNC_STATE_FAILED "run hx sync init") and writes it to `output`
// (atomically, mode 0600). Status runs with `options` as `hx sync status`
// does (it may refresh the stat cache and the baseline) but read_only (no
// key is cached); its failure is recorded in status.json, not returned. Errors:
// writing the output, a vault that is not one.
Result<BundleReport> WriteBundle(const std::filesystem::path& vault, const SyncOptions& options,
                                 const BundleOptions& bundle, const std::filesystem::path& output);

}  // namespace hx::diag
