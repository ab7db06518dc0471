// hx sync verify: is the store whole? and the object half of hx sync repair:
// put back what is damaged from a device that still has it.
//
// Verify reads every snapshot the store lists (one List of snapshots/, then
// one GET each; those a forget record names are not retained: their bodies
// locate objects, their trees are not checked), one
// List of blobs/ (never an Exists per object), and every tree of every
// snapshot (each distinct tree once: trees are needed to know what is
// referenced, so they are always read, opened and hashed). Then every chunk a
// tree references must be located by some readable snapshot body, in a pack
// the listing has, within that pack's size. With read_data, the chunks (all,
// or a seeded random subset of `percent` of them) are read with coalesced
// ranged reads, decrypted, decompressed and hashed to their id. A damaged
// object is reported with the paths and snapshots that reference it; a
// snapshot that does not read (missing, truncated, tampered) is reported
// itself, and what only it located shows up as objects "not_located".
//
// Repair (RepairObjects) re-creates the sealed bytes of a damaged chunk from
// the vault folder when a file at a path that references it still holds it
// (the bytes at the chunk's offset hash to its id) and of a damaged tree from
// this device's base (the trees of what it last synced); sealing is
// deterministic (synthetic nonces), so these are the lost bytes. A pack that
// exists is patched in place at the damaged ranges (PutIfMatch on the version
// read); a missing or truncated pack is rebuilt from the locations the
// snapshots record (its index too), with zeros where an object could not be
// re-created, and written only if absent (PutIfAbsent). A pack whose every
// object came back hashes to its name again. Nothing else is written: no
// snapshot, no head. What cannot be repaired is listed with its paths.
//
// Subset selection: a chunk is read when the first 8 bytes of
// BLAKE3(le64(seed) || id), as a little-endian integer, modulo 1,000,000 are
// below percent x 10,000: the same seed and percent read the same chunks on
// every run and every machine.
//
// Thread-safety: as every operation of sync/engine.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sync/engine.h"
#include "sync/repair.h"

namespace hx {

// The process exit code of a verify (or repair) that found damage it did
// not fix (docs/ERRORS.md): distinct from every KC_SYNC_* class.
// ExitCodeFor(SyncCode::kVerifyDamaged), the code of its error.
inline constexpr int kExitDamaged = 11;

struct VerifyOptions {
  // Read this share of the chunks (0 < percent <= 100); nullopt: none.
  std::optional<double> read_data_percent;
  // The subset's seed (below 2^63); nullopt: one derived from
  // SyncOptions::now_ms (48 bits, reported, so the run can be repeated with
  // --seed).
  std::optional<std::uint64_t> seed;
};

struct DamagedObject {
  std::string object;  // hex id
  std::string kind;    // "chunk" or "tree"
  std::string blob;    // the pack, empty when not located
  // "not_located" (no readable snapshot says where it is), "missing_pack",
  // "truncated_pack" (the pack is shorter than the object's range),
  // "corrupt" (does not authenticate or decode), "hash_mismatch".
  std::string problem;
  std::string message;
  std::vector<std::string> paths;  // that reference it, sorted, at most 100
  std::uint64_t path_count = 0;
  std::vector<std::uint64_t> seqs;  // snapshots that reference it, at most 100
  std::uint64_t snapshot_count = 0;
  bool repaired = false;  // RepairObjects only
};

struct DamagedSnapshot {
  std::string snapshot_id;
  std::string problem;  // "missing" (a parent or the head that is not listed), "unreadable"
  std::string message;
};

struct VerifyReport {
  std::string target;
  std::uint64_t snapshots_checked = 0;  // retained ones
  std::uint64_t snapshots_forgotten = 0;  // read for their locations only
  std::uint64_t trees_checked = 0;
  std::uint64_t chunks_referenced = 0;
  std::uint64_t packs_listed = 0;
  // What a prune could free (none exists yet: docs/ARCHITECTURE.md,
  // "Retention and prune"): packs none of whose objects a retained snapshot
  // references, with their listed bytes, and the sealed bytes of
  // unreferenced objects in packs that also hold referenced ones. A pack a
  // push is uploading right now counts as unreferenced until it publishes.
  std::uint64_t packs_unreferenced = 0;
  std::uint64_t bytes_unreferenced = 0;
  std::uint64_t garbage_bytes_in_live_packs = 0;
  bool read_data = false;
  double percent = 0;
  std::uint64_t seed = 0;
  std::uint64_t chunks_read = 0;
  std::uint64_t bytes_read = 0;
  // Store requests the check made, by operation ("get", "get_range",
  // "list", ...; operations not used are left out).
  std::map<std::string, std::uint64_t> requests;
  std::vector<DamagedSnapshot> damaged_snapshots;
  std::vector<DamagedObject> damaged_objects;
  // Every path a damaged object affects, sorted, at most 1,000.
  std::vector<std::string> affected_paths;
  std::uint64_t affected_path_count = 0;
  // Set when anything is damaged: KC_SYNC_VERIFY_DAMAGED (corrupt) saying what
  // and pointing to hx sync repair (the CLI exits kExitDamaged).
  std::optional<Error> error;
  bool damaged() const { return !damaged_snapshots.empty() || !damaged_objects.empty(); }
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Errors (the run stops): the session's, a head that does not read, store
// errors other than a missing or damaged record (network, auth, ...), and
// KC_SYNC_INPUT_INVALID for a percent outside (0, 100] or a seed of 2^63 or
// more.
Result<VerifyReport> SyncVerify(const std::filesystem::path& vault, const SyncOptions& options,
                                const VerifyOptions& verify);

struct ObjectRepairReport {
  VerifyReport found;  // what the verify before the repair found
  std::uint64_t objects_repaired = 0;
  std::uint64_t packs_written = 0;
  std::vector<std::string> repaired_paths;      // at most 1,000
  std::vector<std::string> unrepairable_paths;  // at most 1,000
  std::uint64_t unrepairable_path_count = 0;
  // Set when something stays damaged (as VerifyReport::error).
  std::optional<Error> error;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Verifies (with `verify`'s data reading) and repairs what this device can.
Result<ObjectRepairReport> RepairObjects(const std::filesystem::path& vault,
                                         const SyncOptions& options, const VerifyOptions& verify);

// hx sync repair: SyncRepair (vault.json, head.json; sync/repair.h), then
// RepairObjects.
struct FullRepairReport {
  RepairReport records;
  ObjectRepairReport objects;
  std::optional<Error> error;  // objects.error
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};
Result<FullRepairReport> SyncRepairAll(const std::filesystem::path& vault,
                                       const SyncOptions& options, const VerifyOptions& verify);

}  // namespace hx
