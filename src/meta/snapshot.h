// Snapshots: one published state of a vault, immutable, one zip file each.
//
// snapshots/<snapshot_id>.zip is a stored zip (meta/stored_zip.h) of exactly
// two entries, in this order:
//   "header.json"  plaintext canonical JSON, readable without the key:
//       {"format_version":1,"kind":"hx-snapshot","snapshot_id":"<64 hex>",
//        "vault_id":"<32 hex>"}
//     It stays the first entry, stored, in every future format, so any hx
//     can tell "made by a newer hx" from damage.
//   "body.bin"  the snapshot body sealed (crypto/aead.h) under keys.content
//     with a synthetic nonce under keys.nonce and associated data
//     EncodeAssociatedData({"hx snapshot v1", vault_id, snapshot_id}); the
//     plaintext is canonical JSON:
//       {"author":"<node id>",
//        "blobs":[{"id":"<blob id>","objects":[["<object id>","chunk"|"tree",
//                  offset,length,raw_length],...]},...],
//        "created_ms":now_ms,"key_fingerprint":"<64 hex>",
//        "parents":["<snapshot id>",...],"root":"<root tree id>","seq":N,
//        "summary":{"added":a,"bytes":b,"deleted":d,"files":f,"modified":m}}
//     "blobs" lists the objects this push added (where each one lives),
//     grouped by pack: blobs sorted by id, each blob's objects sorted by
//     offset and not overlapping; every object appears once.
// snapshot_id = hex(BLAKE3("kc.sync.snapshot.v2\n" + hex(root) + "\n" +
// decimal(created_ms))) (seed 000), so the id is checked against the body.
//
// Everything is deterministic: the same snapshot gives the same zip bytes.
//
// Thread-safety: pure functions and values; the store calls are as
// thread-safe as the Store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "repo/tree.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

// Bounds on what a snapshot file may hold; a zip beyond them is refused
// before it is read. A snapshot lists one location per object its push
// added (~110 bytes each), so 256 MiB allows about two million objects in
// one push; a push that adds more must publish several snapshots.
inline constexpr std::uint64_t kMaxSnapshotZipBytes = std::uint64_t{256} << 20;
inline constexpr std::size_t kMaxSnapshotParents = 64;

// hex(BLAKE3("kc.sync.snapshot.v2\n<hex(root)>\n<decimal created_ms>")).
// Precondition: created_ms >= 0.
std::string SnapshotId(const ObjectId& root, std::int64_t created_ms);

// "snapshots/<snapshot_id>.zip".
std::string SnapshotKey(std::string_view snapshot_id);

struct SnapshotSummary {
  std::uint64_t added = 0;
  std::uint64_t modified = 0;
  std::uint64_t deleted = 0;
  std::uint64_t files = 0;  // files in the snapshot
  std::uint64_t bytes = 0;  // their total size
  friend bool operator==(const SnapshotSummary&, const SnapshotSummary&) = default;
};

struct Snapshot {
  std::string snapshot_id;   // SnapshotId(root, created_ms)
  std::string vault_id;      // 32 lowercase hex
  ObjectId root{};           // the root tree's id
  std::vector<std::string> parents;  // snapshot ids (64 hex), at most kMaxSnapshotParents
  std::string author;        // node id of the publishing device, 32 hex
  std::int64_t created_ms = 0;
  std::uint64_t seq = 0;     // the head seq this snapshot was published as, >= 1
  std::string key_fingerprint;  // of the vault's master key: ctx.key_fingerprint
  SnapshotSummary summary;
  // The locations of the objects this push added. EncodeSnapshotZip accepts
  // any order; DecodeSnapshotZip returns them by blob id, then offset.
  std::vector<ObjectLocation> added;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// The zip bytes of `snapshot` (see above). Deterministic. Fails with
// KC_SYNC_INTERNAL for a snapshot hx would refuse to read: malformed ids, a
// snapshot_id that is not SnapshotId(root, created_ms), a vault id other
// than ctx.vault_id, a key_fingerprint other than ctx.key_fingerprint,
// seq 0, negative created_ms, duplicate objects or
// overlapping ranges, values above 2^63-1, or a zip above
// kMaxSnapshotZipBytes.
Result<Bytes> EncodeSnapshotZip(const VaultContext& ctx, const Snapshot& snapshot);

// Strictly decodes untrusted snapshot zip bytes that were stored under
// SnapshotKey(expected_snapshot_id). Failures, all KC_SYNC_STATE_FAILED:
//   - Category::kUnsupported: header.json has format_version above 1;
//   - Category::kCorrupt, naming the problem: larger than
//     kMaxSnapshotZipBytes, not exactly hx's zip layout with the two
//     entries, a header that is not canonical or names another snapshot or
//     vault, a body that does not authenticate (tampered, another vault, or
//     another snapshot's body), a body whose root and created_ms do not give
//     back the snapshot id, a key_fingerprint other than
//     ctx.key_fingerprint, or any malformed body field.
Result<Snapshot> DecodeSnapshotZip(const VaultContext& ctx, std::span<const std::uint8_t> zip,
                                   std::string_view expected_snapshot_id);

// Stores the snapshot under SnapshotKey (PutIfAbsent). A snapshot file that
// already holds exactly these bytes (a retried push) is success; other
// bytes under the same id fail with Category::kAborted.
Status WriteSnapshot(Store& store, const VaultContext& ctx, const Snapshot& snapshot);

// The most snapshots one history holds: every walk of a head's history
// (pull, link, log, restore, verify) stops there with KC_SYNC_STATE_FAILED
// rather than run without bound on a store that lists more history than
// any vault makes.
inline constexpr std::size_t kMaxHistorySnapshots = 1'000'000;

// Reads and decodes snapshots/<snapshot_id>.zip. Precondition: snapshot_id
// is 64 lowercase hex (else KC_SYNC_INTERNAL). Store errors pass through
// (kNotFound for a missing snapshot); decoding errors carry detail "key".
Result<Snapshot> ReadSnapshot(Store& store, const VaultContext& ctx,
                              std::string_view snapshot_id);

}  // namespace hx
