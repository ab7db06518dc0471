// Helpers shared by the chunk module's tests: deterministic pseudo-random
// input and a deliberately naive byte-at-a-time FindCut to compare against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "chunk/fastcdc.h"
#include "chunk/gear_table.h"

namespace hx::testing {

// splitmix64: a fixed, well-mixed sequence (the golden tests pin its use).
inline std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// `size` pseudo-random bytes: little-endian splitmix64 outputs from `seed`.
inline std::vector<std::uint8_t> RandomBytes(std::uint64_t seed, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < size; i += 8) {
    std::uint64_t word = SplitMix64(state);
    for (std::size_t b = 0; b < 8 && i + b < size; ++b) {
      out[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
    }
  }
  return out;
}

// A gear table from splitmix64, independent of BLAKE3.
inline GearTable SplitMixGearTable(std::uint64_t seed) {
  const std::vector<std::uint8_t> bytes = RandomBytes(seed, GearTable::kBytes);
  return GearTable::FromBytes(std::span<const std::uint8_t, GearTable::kBytes>(bytes.data(),
                                                                                GearTable::kBytes));
}

// The rule of fastcdc.h stated as plainly as possible: hash every byte from
// the chunk start (only the last 64 matter), test from min_size on, one
// byte per step.
inline std::size_t ReferenceFindCut(std::span<const std::uint8_t> window, bool at_eof,
                                    const ChunkerOptions& options, const GearTable& gear,
                                    std::uint64_t mask_small, std::uint64_t mask_large) {
  const std::size_t size = window.size();
  if (size <= options.min_size) {
    return at_eof ? size : 0;
  }
  std::uint64_t fp = 0;
  for (std::size_t i = 0; i < size && i < options.max_size; ++i) {
    fp = (fp << 1) + gear.entry(window[i]);
    if (i < options.min_size) {
      continue;
    }
    const std::uint64_t mask = i < options.avg_size ? mask_small : mask_large;
    if ((fp & mask) == 0) {
      return i + 1;
    }
  }
  if (size >= options.max_size) {
    return options.max_size;
  }
  return at_eof ? size : 0;
}

}  // namespace hx::testing
