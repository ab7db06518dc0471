// hx sync prune: deletes the packs and forgotten snapshot bodies that nothing
// retained needs and repacks packs that are mostly garbage, safely while
// other devices push and with devices offline for a long time
// (docs/ARCHITECTURE.md, "Retention and prune", has the whole argument).
//
// One run, under the store's write lock:
//  1. refuses unless every other device's manifest advertises "prune_v1"
//     (sync/prune_guard.h: its pushes honour prune.json); snapshot bodies
//     are deleted only if every device also advertises "prune_v2";
//  2. reads every snapshot body and walks the trees of the retained ones:
//     every snapshot no valid forget record names, the head, and every
//     snapshot at the head seq a device's manifest last saw (its base);
//     refuses if a listed snapshot or a retained tree does not read (what it
//     references is unknown);
//  3. the copies readers take of each referenced object: the newest snapshot
//     in the head's history that locates it, the newest of all snapshots,
//     the newest whose pack is stored. Bodies that go: forgotten and older
//     than every device's base. Packs repacked: needed, with live bytes
//     below repack_below_percent of their object bytes (repack.h copies
//     their live objects into new packs). If anything is repacked, or a
//     reader's copy is listed only by a body that goes, a relocation
//     snapshot (the head's root, parent the head, no changes) lists those
//     objects anew and becomes the head: readers take the newest copy;
//  4. every pack no reader copy is in is condemned (prune.json, with the
//     time), as is every body that goes; one condemned at least `grace` ago
//     is announced as deleted in prune.json (epoch + 1) and then deleted; one
//     needed again is taken off the list.
// Grace 0 condemns and deletes in one run.
//
// Thread-safety: as every operation of sync/engine.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sync/engine.h"

namespace hx {

struct PruneOptions {
  // How long a pack stays condemned before it is deleted ("24h", "0h"...).
  std::string grace = "24h";
  // Compute and report; write and delete nothing.
  bool dry_run = false;
  // A needed pack whose live bytes (the copies readers take) are below this
  // percentage of its size is repacked; 0: never.
  std::uint64_t repack_below_percent = 50;
};

struct PruneReport {
  std::string target;
  bool dry_run = false;
  std::int64_t grace_ms = 0;
  std::uint64_t epoch = 0;  // of prune.json after the run (0: none)
  std::uint64_t snapshots_retained = 0, snapshots_forgotten = 0;
  std::uint64_t packs_listed = 0, packs_needed = 0;
  std::uint64_t bytes_listed = 0, bytes_needed = 0;
  // The sealed bytes of the referenced objects (one copy each), and what
  // else the needed packs hold (what a repack could free).
  std::uint64_t bytes_referenced = 0, garbage_bytes_in_needed_packs = 0;
  std::uint64_t packs_condemned_now = 0, packs_condemned = 0, bytes_condemned = 0;
  std::uint64_t packs_uncondemned = 0;
  std::uint64_t packs_deleted = 0, bytes_deleted = 0;
  // Repack: the packs found mostly garbage (and their bytes), the objects
  // listed again by the relocation snapshot (copied into new packs, or
  // listed again where they are because the body that listed them goes),
  // and the new packs.
  std::uint64_t repack_below_percent = 0;
  std::uint64_t packs_repacked = 0, bytes_repacked = 0;
  std::uint64_t objects_relocated = 0, objects_copied = 0;
  std::uint64_t packs_written = 0, bytes_written = 0;
  std::string relocation_snapshot;  // "" if none was published
  std::uint64_t relocation_seq = 0;
  std::uint64_t relocation_bytes = 0;  // its body's size
  // Forgotten snapshot bodies.
  std::uint64_t snapshots_condemned_now = 0, snapshots_condemned = 0;
  std::uint64_t snapshots_uncondemned = 0;
  std::uint64_t snapshots_deleted = 0, snapshot_bytes_deleted = 0;
  std::map<std::string, std::uint64_t> requests;  // store calls by kind
  std::vector<std::string> warnings;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

Result<PruneReport> SyncPrune(const std::filesystem::path& vault, const SyncOptions& options,
                              const PruneOptions& prune);

}  // namespace hx
