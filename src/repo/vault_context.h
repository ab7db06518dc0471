// What every reader and writer of a vault's store objects needs: the vault id
// and the vault's subkeys. Built once when a vault is opened (repo/vault.h).
//
// Thread-safety: immutable after construction; share by const reference.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "chunk/fastcdc.h"
#include "crypto/keys.h"
#include "repo/tree.h"

namespace hx {

struct VaultContext {
  // 32 lowercase hex digits (16 random bytes chosen at init). Associated
  // data binds sealed things to this string (its 32 ASCII characters).
  std::string vault_id;
  std::array<std::uint8_t, 16> vault_id_bytes{};
  VaultKeys keys;
  // The public fingerprint of the master key (64 hex, crypto/keys.h).
  std::string key_fingerprint;
  // The vault's chunker parameters (from vault.json; the same on every
  // device). Build the chunker with MakeVaultChunker (repo/vault.h), which
  // also keys its gear table with keys.chunker.
  ChunkerOptions chunker;
};

enum class ObjectKind : std::uint8_t { kChunk = 1, kTree = 2 };
// "chunk", "tree".
std::string_view ToString(ObjectKind kind);

// Where an object lives on the store: a byte range of a pack.
struct ObjectLocation {
  ObjectId id{};
  ObjectKind kind = ObjectKind::kChunk;
  std::string blob_id;         // 64 lowercase hex; key "blobs/<aa>/<bb>/<blob_id>"
  std::uint64_t offset = 0;    // of the sealed object within the pack
  std::uint64_t length = 0;    // sealed bytes
  std::uint64_t raw_length = 0;  // plaintext bytes (bounds decompression)
  friend bool operator==(const ObjectLocation&, const ObjectLocation&) = default;
};

// An object's place in a pack whose id is kept once, elsewhere: an
// ObjectLocation without its blob_id (a 64-character string per object is
// most of a location's memory: 64 bytes here against ~176). What a push
// holds of the objects it packed.
struct PackedObject {
  ObjectId id{};
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t raw_length = 0;
  ObjectKind kind = ObjectKind::kChunk;

  static PackedObject Of(const ObjectLocation& loc) {
    return {loc.id, loc.offset, loc.length, loc.raw_length, loc.kind};
  }
  ObjectLocation In(const std::string& blob_id) const {
    return {id, kind, blob_id, offset, length, raw_length};
  }
  friend bool operator==(const PackedObject&, const PackedObject&) = default;
};

}  // namespace hx
