// The SSE4.1 BLAKE3 backend: single-block compression on 128-bit rows and
// four inputs side by side. Compiled with -msse4.1; called only after CPU
// detection found SSE4.1.
#include "hash/blake3_internal.h"

#if defined(__x86_64__)

#include "hash/blake3_x86.h"

namespace hx::blake3_internal {
namespace {

// Rotations without a rotate instruction: byte shuffles for the multiples
// of 8, shift pairs for 12 and 7.
struct ShuffleRot128 {
  static HX_BLAKE3_INLINE __m128i Rot16(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  }
  static HX_BLAKE3_INLINE __m128i Rot12(__m128i x) {
    return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
  }
  static HX_BLAKE3_INLINE __m128i Rot8(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
  }
  static HX_BLAKE3_INLINE __m128i Rot7(__m128i x) {
    return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
  }
};

using Sse41Lanes = Lanes4<ShuffleRot128>;

}  // namespace

void Sse41CompressInPlace(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                          std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags) {
  CompressInPlaceRows<ShuffleRot128>(cv, block, block_len, counter, flags);
}

void Sse41CompressXof(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                      std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                      std::uint8_t out[kBlake3BlockLen]) {
  CompressXofRows<ShuffleRot128>(cv, block, block_len, counter, flags, out);
}

void Sse41HashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                   const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                   std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                   std::uint8_t* out) {
  HashGroups<Sse41Lanes>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                         flags_start, flags_end, out);
  HashEachRows<ShuffleRot128>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                              flags_start, flags_end, out);
}

}  // namespace hx::blake3_internal

#endif  // defined(__x86_64__)
