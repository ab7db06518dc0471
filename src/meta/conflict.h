// Conflict artifacts: the record a sync leaves when it refuses to merge (the
// default policy "none", seed 000). One copy goes to the store, for the other
// devices and for the user later, and one stays local, readable.
//
// The store copy conflicts/conflict_<created_ms>_<id16>.json is canonical JSON:
//   {"base_snapshot":"<64 hex>"|null,"created_ms":T,"decision":"refused",
//    "format_version":1,"kind":"push_diverged"|"pull_concurrent",
//    "local":{"changes":{"added":a,"deleted":d,"modified":m},"node_id":"<32 hex>"},
//    "path_ids":["<64 hex>",...],"paths_sealed":"<hex>","policy":"none",
//    "remote":{"head_seq":S,"snapshot_id":"<64 hex>"},"vault_id":"<32 hex>"}
// with
//   path_ids      keyed BLAKE3 of each conflicting path (UTF-8 bytes) under
//                 derive_key("hx 2026-11 conflict path id v1", keys.ids),
//                 sorted, unique (one per path). A device with the key can
//                 match a path to its id; the store cannot.
//   paths_sealed  hex of the paths' canonical JSON array (sorted, unique),
//                 sealed (crypto/aead.h) under keys.content with a synthetic
//                 nonce under keys.nonce and associated data
//                 EncodeAssociatedData({"hx conflict paths v1", vault_id,
//                 <canonical JSON of the artifact without "paths_sealed">}),
//                 so the sealed list is bound to every other field.
//   id16          the first 16 hex digits of BLAKE3 (unkeyed) of the
//                 artifact's bytes.
// The store therefore holds no plaintext path. The local copy
// .hx/conflicts/<same name> is the same object with "paths":[...] (plain
// text) in place of "paths_sealed"; local state is never synced.
//
// Everything is deterministic: the same conflict at the same now_ms gives the
// same name and bytes on every device.
//
// Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

inline constexpr std::uint64_t kMaxConflictArtifactBytes = std::uint64_t{64} << 20;

enum class ConflictKind : std::uint8_t {
  kPushDiverged,    // "push_diverged": the remote head moved on since our base
  kPullConcurrent,  // "pull_concurrent": remote and local changed the same paths
};
std::string_view ToString(ConflictKind kind);

struct ConflictChanges {
  std::uint64_t added = 0;
  std::uint64_t modified = 0;
  std::uint64_t deleted = 0;
  friend bool operator==(const ConflictChanges&, const ConflictChanges&) = default;
};

struct ConflictArtifact {
  std::string vault_id;  // 32 hex
  ConflictKind kind = ConflictKind::kPushDiverged;
  std::int64_t created_ms = 0;  // now_ms of the sync that refused; >= 0
  // The snapshot both sides started from; nullopt if this device never synced.
  std::optional<std::string> base_snapshot;
  std::string local_node_id;  // 32 hex
  ConflictChanges local_changes;
  std::uint64_t remote_head_seq = 0;  // >= 1
  std::string remote_snapshot_id;     // 64 hex
  // The merge policy and what it decided: [a-z0-9_]{1,64}. The default
  // policy "none" always decides "refused".
  std::string policy = "none";
  std::string decision = "refused";
  // The conflicting paths ('/'-separated, relative, UTF-8): any order on
  // input (duplicates dropped); decoders return them sorted.
  std::vector<std::string> paths;
  friend bool operator==(const ConflictArtifact&, const ConflictArtifact&) = default;
};

struct EncodedArtifact {
  std::string name;  // "conflict_<created_ms>_<id16>.json"
  Bytes bytes;
};

// The store copy; its key is "conflicts/" + name. Deterministic.
// KC_SYNC_INTERNAL for an artifact hx would refuse to read (malformed ids,
// a vault other than ctx's, invalid UTF-8 or empty paths, ...).
Result<EncodedArtifact> EncodeStoreArtifact(const VaultContext& ctx,
                                            const ConflictArtifact& artifact);

// The local copy: the same name as the store copy, plaintext paths.
Result<EncodedArtifact> EncodeLocalArtifact(const VaultContext& ctx,
                                            const ConflictArtifact& artifact);

// "conflicts/" + name.
std::string ConflictKey(std::string_view name);

// Strictly decodes a store copy read from ConflictKey(name): the name must
// be conflict_<created_ms>_<id16>.json matching the bytes, the sealed paths
// must open under this vault's key and match path_ids. Failures:
// KC_SYNC_STATE_FAILED, Category::kCorrupt naming the problem, or
// Category::kUnsupported for a newer format_version.
Result<ConflictArtifact> DecodeStoreArtifact(const VaultContext& ctx, std::string_view name,
                                             std::span<const std::uint8_t> bytes);

// Strictly decodes a local copy (the same rules; the name's id16 is that of
// the store copy, re-encoded from what was read).
Result<ConflictArtifact> DecodeLocalArtifact(const VaultContext& ctx, std::string_view name,
                                             std::span<const std::uint8_t> bytes);

}  // namespace hx
