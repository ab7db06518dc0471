// The AVX-512 BLAKE3 backend: sixteen inputs side by side in 512-bit
// vectors, and the narrower widths (8, 4, single block) redone with the
// AVX-512VL rotate instruction, which replaces the shuffle or shift pairs
// the older backends need. Compiled with -mavx512f -mavx512vl; called only
// after CPU detection found both and OS support for the AVX-512 state.
#include "hash/blake3_internal.h"

#if defined(__x86_64__)

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 flags the deliberately undefined vectors inside its own AVX-512
// intrinsics (_mm512_undefined_epi32) as uninitialized (GCC bug 105593).
// Set before the intrinsics headers so it covers them.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "hash/blake3_x86.h"

namespace hx::blake3_internal {
namespace {

struct VlRot128 {
  static HX_BLAKE3_INLINE __m128i Rot16(__m128i x) { return _mm_ror_epi32(x, 16); }
  static HX_BLAKE3_INLINE __m128i Rot12(__m128i x) { return _mm_ror_epi32(x, 12); }
  static HX_BLAKE3_INLINE __m128i Rot8(__m128i x) { return _mm_ror_epi32(x, 8); }
  static HX_BLAKE3_INLINE __m128i Rot7(__m128i x) { return _mm_ror_epi32(x, 7); }
};

struct VlRot256 {
  static HX_BLAKE3_INLINE __m256i Rot16(__m256i x) { return _mm256_ror_epi32(x, 16); }
  static HX_BLAKE3_INLINE __m256i Rot12(__m256i x) { return _mm256_ror_epi32(x, 12); }
  static HX_BLAKE3_INLINE __m256i Rot8(__m256i x) { return _mm256_ror_epi32(x, 8); }
  static HX_BLAKE3_INLINE __m256i Rot7(__m256i x) { return _mm256_ror_epi32(x, 7); }
};

// Transposes 16 vectors of 16 words: afterwards r[j] holds word j of every
// original vector. Words are interleaved within 128-bit lanes first (as in
// the 4x4 transpose), then whole 128-bit lanes are transposed across
// vectors.
HX_BLAKE3_INLINE void Transpose16x16(__m512i r[16]) {
  __m512i a[16];
  HX_BLAKE3_UNROLL
  for (std::size_t k = 0; k < 8; ++k) {
    a[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  // b[4g + j], 128-bit lane L: word 4L + j of r[4g..4g+3].
  __m512i b[16];
  HX_BLAKE3_UNROLL
  for (std::size_t g = 0; g < 4; ++g) {
    b[4 * g] = _mm512_unpacklo_epi64(a[4 * g], a[4 * g + 2]);
    b[4 * g + 1] = _mm512_unpackhi_epi64(a[4 * g], a[4 * g + 2]);
    b[4 * g + 2] = _mm512_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
    b[4 * g + 3] = _mm512_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
  }
  HX_BLAKE3_UNROLL
  for (std::size_t j = 0; j < 4; ++j) {
    const __m512i c0 = _mm512_shuffle_i32x4(b[j], b[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i c1 = _mm512_shuffle_i32x4(b[8 + j], b[12 + j], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i c2 = _mm512_shuffle_i32x4(b[j], b[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
    const __m512i c3 = _mm512_shuffle_i32x4(b[8 + j], b[12 + j], _MM_SHUFFLE(3, 2, 3, 2));
    r[j] = _mm512_shuffle_i32x4(c0, c1, _MM_SHUFFLE(2, 0, 2, 0));
    r[4 + j] = _mm512_shuffle_i32x4(c0, c1, _MM_SHUFFLE(3, 1, 3, 1));
    r[8 + j] = _mm512_shuffle_i32x4(c2, c3, _MM_SHUFFLE(2, 0, 2, 0));
    r[12 + j] = _mm512_shuffle_i32x4(c2, c3, _MM_SHUFFLE(3, 1, 3, 1));
  }
}

struct Lanes16 {
  using Vec = __m512i;
  static constexpr std::size_t kLanes = 16;
  static HX_BLAKE3_INLINE Vec Add(Vec a, Vec b) { return _mm512_add_epi32(a, b); }
  static HX_BLAKE3_INLINE Vec Xor(Vec a, Vec b) { return _mm512_xor_si512(a, b); }
  static HX_BLAKE3_INLINE Vec Set1(std::uint32_t w) {
    return _mm512_set1_epi32(static_cast<int>(w));
  }
  static HX_BLAKE3_INLINE Vec LoadWords(const std::uint32_t* w) { return _mm512_loadu_si512(w); }
  static HX_BLAKE3_INLINE Vec Rot16(Vec x) { return _mm512_ror_epi32(x, 16); }
  static HX_BLAKE3_INLINE Vec Rot12(Vec x) { return _mm512_ror_epi32(x, 12); }
  static HX_BLAKE3_INLINE Vec Rot8(Vec x) { return _mm512_ror_epi32(x, 8); }
  static HX_BLAKE3_INLINE Vec Rot7(Vec x) { return _mm512_ror_epi32(x, 7); }

  static HX_BLAKE3_INLINE void LoadMessage(const std::uint8_t* const* inputs, std::size_t offset,
                                           Vec m[16]) {
    HX_BLAKE3_UNROLL
    for (std::size_t i = 0; i < 16; ++i) {
      m[i] = _mm512_loadu_si512(inputs[i] + offset);
      PrefetchAhead<kLanes>(inputs[i], offset);
    }
    Transpose16x16(m);
  }

  // Only 8 words per lane go back out, so this is half a transpose: after
  // the in-lane interleave, b[j] (lane L) holds words 0..3 and b[4 + j]
  // (lane L) words 4..7 of input 4L + j.
  static HX_BLAKE3_INLINE void StoreCvs(const Vec h[8], std::uint8_t* out) {
    __m512i a[8];
    HX_BLAKE3_UNROLL
    for (std::size_t k = 0; k < 4; ++k) {
      a[2 * k] = _mm512_unpacklo_epi32(h[2 * k], h[2 * k + 1]);
      a[2 * k + 1] = _mm512_unpackhi_epi32(h[2 * k], h[2 * k + 1]);
    }
    __m512i b[8];
    HX_BLAKE3_UNROLL
    for (std::size_t g = 0; g < 2; ++g) {
      b[4 * g] = _mm512_unpacklo_epi64(a[4 * g], a[4 * g + 2]);
      b[4 * g + 1] = _mm512_unpackhi_epi64(a[4 * g], a[4 * g + 2]);
      b[4 * g + 2] = _mm512_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
      b[4 * g + 3] = _mm512_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
    }
    HX_BLAKE3_UNROLL
    for (std::size_t j = 0; j < 4; ++j) {
      // (b[j].L0, b[4+j].L0, b[j].L1, b[4+j].L1): inputs j and 4 + j.
      const __m512i low = _mm512_shuffle_i32x4(b[j], b[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
      const __m512i out01 = _mm512_shuffle_i32x4(low, low, _MM_SHUFFLE(3, 1, 2, 0));
      // The same for lanes 2 and 3: inputs 8 + j and 12 + j.
      const __m512i high = _mm512_shuffle_i32x4(b[j], b[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
      const __m512i out23 = _mm512_shuffle_i32x4(high, high, _MM_SHUFFLE(3, 1, 2, 0));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * j), _mm512_castsi512_si256(out01));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (4 + j)),
                          _mm512_extracti64x4_epi64(out01, 1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (8 + j)),
                          _mm512_castsi512_si256(out23));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (12 + j)),
                          _mm512_extracti64x4_epi64(out23, 1));
    }
  }
};

}  // namespace

void Avx512CompressInPlace(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                           std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags) {
  CompressInPlaceRows<VlRot128>(cv, block, block_len, counter, flags);
}

void Avx512CompressXof(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                       std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                       std::uint8_t out[kBlake3BlockLen]) {
  CompressXofRows<VlRot128>(cv, block, block_len, counter, flags, out);
}

void Avx512HashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                    const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                    std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                    std::uint8_t* out) {
  HashGroups<Lanes16>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                      flags_start, flags_end, out);
  HashGroups<Lanes8<VlRot256>>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                               flags_start, flags_end, out);
  HashGroups<Lanes4<VlRot128>>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                               flags_start, flags_end, out);
  HashEachRows<VlRot128>(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                         flags_start, flags_end, out);
}

}  // namespace hx::blake3_internal

#endif  // defined(__x86_64__)
