// hx sync repair: puts back the store records a device can vouch for, when
// the store lost or rolled them back. Every device that holds the vault's
// master key (its cached .hx/key, or the passphrase) can run it; it never
// creates a new vault and never touches the vault folder.
//
// What it repairs, in this order:
//   - vault.json missing: writes back the exact bytes this device keeps
//     (the index's copy, kMetaVaultConfig, recorded at init/join and by
//     every sync), after checking that this device's key opens them
//     (PutIfAbsent: a vault.json that reappeared meanwhile is left alone).
//     vault.json is canonical and holds the wrapped master key, so the
//     bytes are the same as the lost ones, byte for byte.
//   - head.json missing while this device has synced a snapshot: publishes
//     the head this device last synced again ({seq, snapshot} of its base,
//     byte-identical to that head; PutIfAbsent under the write lock), once
//     it has checked that the snapshot is still on the store. A device that
//     had seen a newer head then gets the replay error and accepts it with
//     its own repair (below); its next pull merges, nothing is lost.
//   - head.json older than the newest head this device saw (a store
//     restored from a backup, which the replay guard refuses): accepted —
//     the device lowers its replay guard to that head's seq. Nothing else
//     changes: the next pull merges the head like a concurrent change
//     (sync/prepare.h), and the next push re-publishes what it lacks.
//
// A store that needs none of this is reported as such ("ok").
//
// Thread-safety: as every operation of engine.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sync/engine.h"

namespace hx {

struct RepairReport {
  std::string target;
  std::string vault_json;  // "ok", "rewritten"
  // "ok", "empty" (no head and nothing synced here: nothing to vouch for),
  // "republished", "rollback_accepted".
  std::string head;
  std::optional<std::uint64_t> head_seq;     // the head after the repair
  std::optional<std::string> snapshot_id;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Errors: not a vault or the local state's (KC_SYNC_STATE_FAILED); vault.json
// missing and no copy on this device, or a copy of another vault
// (KC_SYNC_STATE_FAILED, not_found / corrupt); a key that does not open the
// copy (KC_SYNC_KEY_MISMATCH); head.json missing and this device's base
// snapshot missing too (KC_SYNC_STATE_FAILED, not_found); store errors.
Result<RepairReport> SyncRepair(const std::filesystem::path& vault, const SyncOptions& options);

}  // namespace hx
