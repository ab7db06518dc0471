// The AVX2 BLAKE3 backend: eight inputs side by side in 256-bit vectors.
// Single blocks and leftover inputs go to the SSE4.1 code (every AVX2 CPU
// has SSE4.1). Compiled with -mavx2; called only after CPU detection found
// AVX2 and OS support for the AVX state.
#include "hash/blake3_internal.h"

#if defined(__x86_64__)

#include "hash/blake3_x86.h"

namespace hx::blake3_internal {
namespace {

// Byte shuffles for the rotations by 16 and 8, shift pairs for 12 and 7.
struct ShuffleRot256 {
  static HX_BLAKE3_INLINE __m256i Rot16(__m256i x) {
    return _mm256_shuffle_epi8(
        x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7,
                            4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  }
  static HX_BLAKE3_INLINE __m256i Rot12(__m256i x) {
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
  }
  static HX_BLAKE3_INLINE __m256i Rot8(__m256i x) {
    return _mm256_shuffle_epi8(
        x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6,
                            7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
  }
  static HX_BLAKE3_INLINE __m256i Rot7(__m256i x) {
    return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
  }
};

using Avx2Lanes = Lanes8<ShuffleRot256>;

}  // namespace

void Avx2HashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                  const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                  std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                  std::uint8_t* out) {
  HashGroups<Avx2Lanes>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                        flags_start, flags_end, out);
  Sse41HashMany(inputs, num_inputs, blocks, key, counter, increment_counter, flags, flags_start,
                flags_end, out);
}

}  // namespace hx::blake3_internal

#endif  // defined(__x86_64__)
