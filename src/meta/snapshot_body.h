// Internal to the meta module: the snapshot body, the canonical JSON sealed
// as a snapshot zip's "body.bin" (layout in meta/snapshot.h), written and
// read without a JSON document.
//
// A body lists one location per object its push added: ~110 bytes of text
// each, 100,000 of them after a first push of 100,000 small files. A JSON
// document of that list cost ~28 MiB (nlohmann values and strings) on top of
// the text and the locations, the peak of a first pull; so the encoder
// writes the list straight as text, and the decoder reads the canonical
// layout in one pass, building the locations directly.
//
// The decoder accepts exactly the texts EncodeSnapshotBody writes: one
// snapshot, one text. Everything else is refused, whatever the first
// difference is (whitespace, another key order or spelling, escapes, a
// number in another form, an unknown or missing field, a wrong type, a
// malformed id, a range, an order or a duplicate the encoder would not
// write). It never recurses; its memory is the text's size times a constant
// (the locations, reserved once from a count bounded by the text's size).
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "meta/snapshot.h"

namespace hx::meta_internal {

// The body's canonical JSON (snapshot_id and vault_id are not in it: the
// zip's name and header carry them). `snapshot.added` may be in any order;
// the body lists blobs by id and each blob's objects by offset. Fails with
// KC_SYNC_INTERNAL for added objects hx would refuse to read: a blob id
// that is not 64 lowercase hex, an empty range or one beyond 2^63-1, an
// unknown kind, an object listed twice, overlapping ranges in a blob. The
// other fields are the caller's to check (EncodeSnapshotZip does).
Result<std::string> EncodeSnapshotBody(const Snapshot& snapshot);

// Decodes untrusted body text. On success snapshot_id and vault_id are
// empty (the caller knows them) and `added` is in the body's order (by blob
// id, then offset). Failures are KC_SYNC_STATE_FAILED, Category::kCorrupt,
// "<what>: <problem>" with details {"record": what}, plus "offset" (of the
// first byte that is not what the encoder writes) or "field"; a message
// names fields and shows only validated values (ids, integers, and keys
// made of [a-z0-9_]), never other text of the body.
Result<Snapshot> DecodeSnapshotBody(std::string_view text, const std::string& what);

}  // namespace hx::meta_internal
