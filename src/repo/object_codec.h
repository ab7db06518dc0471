// Objects: the immutable, content-addressed, compressed and sealed units a
// vault stores (file chunks and trees).
//
// Id. id = BLAKE3 keyed_hash(K_kind, plaintext), with
//   K_kind = BLAKE3 derive_key("hx 2026-11 object id <kind> v1", keys.ids)
// and <kind> "chunk" or "tree". Keyed by a vault secret, so the store cannot
// confirm a guessed file; per kind, so a chunk and a tree with equal bytes
// have different ids. A chunk's plaintext is the file's bytes, a tree's is
// EncodeTree's bytes.
//
// Sealed object (what a pack holds at an ObjectLocation):
//   crypto/aead.h AeadSealSynthetic(key = keys.content, nonce key =
//   keys.nonce, ad, body), i.e. nonce(24) || ciphertext || tag(16), where
//     body = encoding(1 byte) || payload
//     encoding 0: payload = the plaintext
//     encoding 1: payload = one zstd frame of the plaintext (compress/zstd.h);
//                 used only when it is shorter than the plaintext
//     ad = EncodeAssociatedData({"hx object v1", vault_id, "chunk"|"tree",
//                                hex(id)})
// The same plaintext, kind and vault always give the same bytes (for a given
// zstd version and level). Sealed size = payload + 41 bytes.
//
// Opening authenticates first (another vault, kind or id, or any flipped
// byte: Category::kCorrupt), then decodes the payload with raw_length as a
// hard bound (a longer or shorter result: kCorrupt), then recomputes the id
// (Category::kHashMismatch). Both use code KC_SYNC_APPLY_FAILED, the code of
// a bad object during apply; callers in other contexts may rewrap.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "compress/zstd.h"
#include "repo/tree.h"
#include "repo/vault_context.h"

namespace hx {

// The largest object plaintext hx writes or opens (the largest chunk and the
// largest tree). Bounds decompression of untrusted bytes.
inline constexpr std::uint64_t kMaxObjectSize = std::uint64_t{1} << 26;
// Sealed size = payload size + kSealedObjectOverhead.
inline constexpr std::size_t kSealedObjectOverhead = 1 + 40;

inline constexpr std::uint8_t kObjectEncodingRaw = 0;
inline constexpr std::uint8_t kObjectEncodingZstd = 1;

// The derive_key context of `kind`'s id key, e.g. "hx 2026-11 object id chunk v1".
std::string_view ObjectIdContext(ObjectKind kind);

ObjectId ComputeObjectId(const VaultContext& context, ObjectKind kind,
                         std::span<const std::uint8_t> plaintext);
// The ObjectIdFn for BuildTrees: ComputeObjectId(context, kTree, bytes). It
// keeps its own copy of the derived tree id key (no borrow of `context`).
ObjectIdFn TreeIdFn(const VaultContext& context);

// The associated data of an object (see above).
std::vector<std::uint8_t> ObjectAssociatedData(const VaultContext& context, ObjectKind kind,
                                               const ObjectId& id);

// Seals `plaintext` as object (kind, id). Precondition: id ==
// ComputeObjectId(context, kind, plaintext) (otherwise the object will fail
// to open with kHashMismatch). Fails with KC_SYNC_INPUT_INVALID for a
// plaintext above kMaxObjectSize or a zstd level out of range.
Result<std::vector<std::uint8_t>> SealObject(const VaultContext& context, ObjectKind kind,
                                             const ObjectId& id,
                                             std::span<const std::uint8_t> plaintext,
                                             int zstd_level = kZstdDefaultLevel);

// Opens a sealed object that should be (kind, id) with raw_length plaintext
// bytes; returns the verified plaintext. Errors as in the header comment,
// with details {"object": hex(id), "kind": ...}. raw_length above
// kMaxObjectSize is refused (kCorrupt) before anything is allocated.
Result<std::vector<std::uint8_t>> OpenObject(const VaultContext& context, ObjectKind kind,
                                             const ObjectId& id, std::uint64_t raw_length,
                                             std::span<const std::uint8_t> sealed);
// The same, for the object at `location` (its kind, id and raw_length).
Result<std::vector<std::uint8_t>> OpenObject(const VaultContext& context,
                                             const ObjectLocation& location,
                                             std::span<const std::uint8_t> sealed);

}  // namespace hx
