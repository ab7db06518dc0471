// The gear table of the FastCDC rolling hash: 256 pseudo-random 64-bit
// values, one per byte value.
//
// Chunk boundaries are a function of the content *and* of this table. hx
// derives the table from a per-vault secret (FromKey), so that two vaults
// cut the same file at different places and the sizes of the stored chunks
// do not reveal which well-known files a vault contains. Default() is a fixed
// public table for tests and benchmarks; it must never be used for a vault.
//
// Derivation (stable; changing it changes every chunk boundary, so it is
// versioned by its context string):
//   bytes  = BLAKE3 derive_key(context = kGearTableContext,
//                              key material = the 32-byte key), 2048 bytes
//   entry i = little-endian uint64 of bytes[8*i .. 8*i+8), i = 0..255
// Default() is FromKey(32 zero bytes).
//
// Caveat: keying hides boundaries from a passive observer of sizes, but it
// is not a cryptographic guarantee against an attacker who can make the vault
// store chosen files and then observe the chunk sizes; such an attacker can
// learn about the table over many trials.
//
// Thread-safety: a GearTable is an immutable value; share it freely.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "hash/blake3.h"

namespace hx {

inline constexpr std::string_view kGearTableContext =
    "hx 2026-11 fastcdc gear table v1";

class GearTable {
 public:
  static constexpr std::size_t kEntries = 256;
  static constexpr std::size_t kBytes = kEntries * sizeof(std::uint64_t);

  // The table of a vault, derived from its chunker key (see above).
  static GearTable FromKey(const Blake3Key& key);
  // The fixed public table (FromKey of the all-zero key), computed once.
  static const GearTable& Default();
  // The table whose entry i is the little-endian uint64 at bytes[8*i]. Lets
  // tests build tables without BLAKE3; FromKey feeds it the XOF output.
  static GearTable FromBytes(std::span<const std::uint8_t, kBytes> bytes);

  std::uint64_t entry(std::uint8_t byte) const { return entries_[byte]; }
  const std::array<std::uint64_t, kEntries>& entries() const { return entries_; }

  friend bool operator==(const GearTable&, const GearTable&) = default;

 private:
  GearTable() = default;

  std::array<std::uint64_t, kEntries> entries_{};
};

}  // namespace hx
