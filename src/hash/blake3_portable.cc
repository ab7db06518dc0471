// The portable BLAKE3 backend: the compression function written directly
// from the specification, on plain 32-bit words. It runs everywhere and is
// the reference the SIMD backends are tested against.
#include <cstring>

#include "hash/blake3_internal.h"

namespace hx::blake3_internal {
namespace {

inline std::uint32_t RotateRight(std::uint32_t w, int c) { return (w >> c) | (w << (32 - c)); }

// The quarter-round G (spec 2.2) on state words a, b, c, d with message
// words x and y.
inline void G(std::uint32_t* v, int a, int b, int c, int d, std::uint32_t x, std::uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = RotateRight(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = RotateRight(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = RotateRight(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = RotateRight(v[b] ^ v[c], 7);
}

// Runs the seven rounds on the 16-word state `v`. The state starts as
// cv[0..7], IV[0..3], counter (low, high), block length, flags.
void Permute(std::uint32_t v[16], const std::uint32_t cv[8], const std::uint8_t* block,
             std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags) {
  std::uint32_t m[16];
  for (std::size_t i = 0; i < 16; ++i) m[i] = LoadLe32(block + 4 * i);
  for (std::size_t i = 0; i < 8; ++i) v[i] = cv[i];
  for (std::size_t i = 0; i < 4; ++i) v[8 + i] = kIv[i];
  v[12] = CounterLow(counter);
  v[13] = CounterHigh(counter);
  v[14] = block_len;
  v[15] = flags;
  for (const auto& s : kSchedule) {
    // Columns, then diagonals.
    G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
}

}  // namespace

void PortableCompressInPlace(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                             std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags) {
  std::uint32_t v[16];
  Permute(v, cv, block, block_len, counter, flags);
  for (std::size_t i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void PortableCompressXof(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                         std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                         std::uint8_t out[kBlake3BlockLen]) {
  std::uint32_t v[16];
  Permute(v, cv, block, block_len, counter, flags);
  for (std::size_t i = 0; i < 8; ++i) {
    StoreLe32(out + 4 * i, v[i] ^ v[i + 8]);
    StoreLe32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
  }
}

void PortableHashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                      const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                      std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                      std::uint8_t* out) {
  for (std::size_t i = 0; i < num_inputs; ++i) {
    std::uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    const std::uint64_t input_counter = increment_counter ? counter + i : counter;
    for (std::size_t b = 0; b < blocks; ++b) {
      std::uint8_t block_flags = flags;
      if (b == 0) block_flags |= flags_start;
      if (b + 1 == blocks) block_flags |= flags_end;
      PortableCompressInPlace(cv, inputs[i] + b * kBlake3BlockLen, kBlake3BlockLen, input_counter,
                              block_flags);
    }
    for (std::size_t w = 0; w < 8; ++w) StoreLe32(out + 32 * i + 4 * w, cv[w]);
  }
}

}  // namespace hx::blake3_internal
