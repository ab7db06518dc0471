#include "chunk/gear_table.h"

#include <array>

namespace hx {

GearTable GearTable::FromKey(const Blake3Key& key) {
  std::array<std::uint8_t, kBytes> bytes{};
  // derive_key rather than keyed_hash: the vault key is key *material* and
  // the context string versions the derivation, so a future table (v2) is
  // independent of this one even under the same key.
  Blake3DeriveKey(kGearTableContext, key, bytes);
  return FromBytes(bytes);
}

const GearTable& GearTable::Default() {
  // Function-local static: initialised once, thread-safely, on first use.
  static const GearTable table = FromKey(Blake3Key{});
  return table;
}

GearTable GearTable::FromBytes(std::span<const std::uint8_t, kBytes> bytes) {
  GearTable table;
  for (std::size_t i = 0; i < kEntries; ++i) {
    std::uint64_t value = 0;
    // Explicit little-endian assembly: the table is part of the format and
    // must not depend on the host's byte order.
    for (std::size_t b = 0; b < 8; ++b) {
      value |= static_cast<std::uint64_t>(bytes[8 * i + b]) << (8 * b);
    }
    table.entries_[i] = value;
  }
  return table;
}

}  // namespace hx
