// The compact column encodings of the local index (docs: index.h, "Schema").
//
// Loading 100,000 entries must take tens of milliseconds, so chunk lists and
// version vectors are stored as packed BLOBs rather than JSON or child rows:
//
//   chunk list      = repeated { id: 32 bytes, size: LEB128 varint }
//   version vector  = repeated { node: 16 bytes (the 32 hex digits of the
//                     node id, decoded), counter: LEB128 varint > 0 },
//                     nodes strictly increasing (the map's order)
//
// LEB128: 7 bits per byte, least significant group first, high bit set on
// every byte but the last; at most 10 bytes for a uint64. The decoders read
// bytes from a file that may be damaged, so they accept nothing else: a
// truncated field, a varint longer than 10 bytes or overflowing 64 bits, a
// zero counter, or unsorted nodes are errors (KC_SYNC_STATE_FAILED,
// category corrupt), never a crash.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "repo/tree.h"

namespace hx {

// Appends the LEB128 encoding of `value`.
void AppendVarint(std::vector<std::uint8_t>& out, std::uint64_t value);
// Reads a varint at in[pos], advancing pos; nullopt if truncated, longer
// than 10 bytes or above 2^64 - 1.
std::optional<std::uint64_t> ReadVarint(std::span<const std::uint8_t> in, std::size_t& pos);

std::vector<std::uint8_t> EncodeChunkList(const std::vector<ChunkRef>& chunks);
Result<std::vector<ChunkRef>> DecodeChunkList(std::span<const std::uint8_t> bytes);

// Fails (KC_SYNC_INTERNAL) if a node id is not 32 lowercase hex digits or a
// counter is 0: the tree codec never produces such a vector, so this is a
// bug in the caller, not a property of the data.
Result<std::vector<std::uint8_t>> EncodeVersionVector(const VersionVector& vv);
Result<VersionVector> DecodeVersionVector(std::span<const std::uint8_t> bytes);

}  // namespace hx
