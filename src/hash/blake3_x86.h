// The x86 SIMD building blocks of the BLAKE3 backends, written once and
// instantiated by each backend file with its own vector width and rotation
// instructions:
//
//  - CompressRows: one block, the 4x4 state held as four 128-bit rows (the
//    "single compress" that speeds up small inputs and the chunk tail);
//  - HashLanes: N independent inputs side by side, one 32-bit lane per input,
//    with the message words transposed so that vector i holds word i of every
//    input (the "hash many" that makes long inputs fast).
//
// Everything here lives in an unnamed namespace on purpose: each backend
// file is compiled with its own -m flags, so each must get its own copy of
// these functions. Shared (external-linkage) inline code would let the
// linker keep, say, the AVX-512 build of a helper for the SSE4.1 backend and
// crash on CPUs without AVX-512.
//
// Include only from blake3_sse41.cc, blake3_avx2.cc and blake3_avx512.cc;
// the parts are present only when the file's flags enable them (SSE4.1 for
// the 128-bit code, AVX2 for the 256-bit code).
#pragma once

#if defined(__x86_64__) && defined(__SSE4_1__)

#include <cstddef>
#include <cstdint>

#include <immintrin.h>

#include "hash/blake3_internal.h"

#define HX_BLAKE3_INLINE __attribute__((always_inline)) inline
// Fixed-count loops over vectors must be unrolled so that the vectors stay
// in registers; GCC does not do it by itself at -O2.
#define HX_BLAKE3_UNROLL _Pragma("GCC unroll 16")

namespace hx::blake3_internal {
namespace {

// ---------------------------------------------------------------------------
// Single block, row layout.
//
// R supplies Rot16/Rot12/Rot8/Rot7 on __m128i (right rotations of each lane).

template <class R>
HX_BLAKE3_INLINE void GRows(__m128i& row0, __m128i& row1, __m128i& row2, __m128i& row3, __m128i mx,
                            __m128i my) {
  row0 = _mm_add_epi32(_mm_add_epi32(row0, row1), mx);
  row3 = R::Rot16(_mm_xor_si128(row3, row0));
  row2 = _mm_add_epi32(row2, row3);
  row1 = R::Rot12(_mm_xor_si128(row1, row2));
  row0 = _mm_add_epi32(_mm_add_epi32(row0, row1), my);
  row3 = R::Rot8(_mm_xor_si128(row3, row0));
  row2 = _mm_add_epi32(row2, row3);
  row1 = R::Rot7(_mm_xor_si128(row1, row2));
}

// Rotates the rows so that the diagonals (0,5,10,15), (1,6,11,12),
// (2,7,8,13), (3,4,9,14) become columns, and back.
HX_BLAKE3_INLINE void Diagonalize(__m128i& row1, __m128i& row2, __m128i& row3) {
  row1 = _mm_shuffle_epi32(row1, _MM_SHUFFLE(0, 3, 2, 1));
  row2 = _mm_shuffle_epi32(row2, _MM_SHUFFLE(1, 0, 3, 2));
  row3 = _mm_shuffle_epi32(row3, _MM_SHUFFLE(2, 1, 0, 3));
}
HX_BLAKE3_INLINE void Undiagonalize(__m128i& row1, __m128i& row2, __m128i& row3) {
  row1 = _mm_shuffle_epi32(row1, _MM_SHUFFLE(2, 1, 0, 3));
  row2 = _mm_shuffle_epi32(row2, _MM_SHUFFLE(1, 0, 3, 2));
  row3 = _mm_shuffle_epi32(row3, _MM_SHUFFLE(0, 3, 2, 1));
}

// Runs the seven rounds and leaves the final state in the four rows.
//
// The message is kept as four vectors in the order the round consumes them:
// x = words at schedule positions 0,2,4,6 (first G input of each column),
// y = 1,3,5,7, z = 8,10,12,14 (diagonals), w = 9,11,13,15. Between rounds
// the permutation s'[i] = s[P[i]] with P = 2,6,3,10,7,0,4,13,1,11,12,5,9,14,
// 15,8 works out to
//   x' = (x1, y1, y3, x2)   y' = (x3, z1, x0, w2)
//   z' = (y0, z2, w0, w3)   w' = (w1, y2, z3, z0)
// which a few shuffles compute in registers.
template <class R>
HX_BLAKE3_INLINE void CompressRows(const std::uint32_t cv[8], const std::uint8_t* block,
                                   std::uint8_t block_len, std::uint64_t counter,
                                   std::uint8_t flags, __m128i& row0, __m128i& row1, __m128i& row2,
                                   __m128i& row3) {
  row0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  row1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  row2 = _mm_setr_epi32(static_cast<int>(kIv[0]), static_cast<int>(kIv[1]),
                        static_cast<int>(kIv[2]), static_cast<int>(kIv[3]));
  row3 = _mm_setr_epi32(static_cast<int>(CounterLow(counter)),
                        static_cast<int>(CounterHigh(counter)), block_len, flags);
  const __m128 m0 = _mm_loadu_ps(reinterpret_cast<const float*>(block));
  const __m128 m1 = _mm_loadu_ps(reinterpret_cast<const float*>(block + 16));
  const __m128 m2 = _mm_loadu_ps(reinterpret_cast<const float*>(block + 32));
  const __m128 m3 = _mm_loadu_ps(reinterpret_cast<const float*>(block + 48));
  __m128 x = _mm_shuffle_ps(m0, m1, _MM_SHUFFLE(2, 0, 2, 0));
  __m128 y = _mm_shuffle_ps(m0, m1, _MM_SHUFFLE(3, 1, 3, 1));
  __m128 z = _mm_shuffle_ps(m2, m3, _MM_SHUFFLE(2, 0, 2, 0));
  __m128 w = _mm_shuffle_ps(m2, m3, _MM_SHUFFLE(3, 1, 3, 1));
  for (int r = 0; r < kRounds; ++r) {
    GRows<R>(row0, row1, row2, row3, _mm_castps_si128(x), _mm_castps_si128(y));
    Diagonalize(row1, row2, row3);
    GRows<R>(row0, row1, row2, row3, _mm_castps_si128(z), _mm_castps_si128(w));
    Undiagonalize(row1, row2, row3);
    if (r + 1 == kRounds) break;
    const __m128 x_next = _mm_castsi128_ps(_mm_shuffle_epi32(
        _mm_castps_si128(_mm_shuffle_ps(x, y, _MM_SHUFFLE(3, 1, 2, 1))), _MM_SHUFFLE(1, 3, 2, 0)));
    const __m128 zw = _mm_shuffle_ps(z, w, _MM_SHUFFLE(2, 2, 1, 1));  // z1 z1 w2 w2
    const __m128 y_next = _mm_castsi128_ps(_mm_shuffle_epi32(
        _mm_castps_si128(_mm_shuffle_ps(x, zw, _MM_SHUFFLE(2, 0, 0, 3))),  // x3 x0 z1 w2
        _MM_SHUFFLE(3, 1, 2, 0)));
    const __m128 yz = _mm_shuffle_ps(y, z, _MM_SHUFFLE(2, 2, 0, 0));  // y0 y0 z2 z2
    const __m128 z_next = _mm_shuffle_ps(yz, w, _MM_SHUFFLE(3, 0, 2, 0));
    const __m128 wy = _mm_shuffle_ps(w, y, _MM_SHUFFLE(2, 2, 1, 1));  // w1 w1 y2 y2
    const __m128 w_next = _mm_shuffle_ps(wy, z, _MM_SHUFFLE(0, 3, 2, 0));
    x = x_next;
    y = y_next;
    z = z_next;
    w = w_next;
  }
}

template <class R>
HX_BLAKE3_INLINE void CompressInPlaceRows(std::uint32_t cv[8], const std::uint8_t* block,
                                          std::uint8_t block_len, std::uint64_t counter,
                                          std::uint8_t flags) {
  __m128i row0, row1, row2, row3;
  CompressRows<R>(cv, block, block_len, counter, flags, row0, row1, row2, row3);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv), _mm_xor_si128(row0, row2));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv + 4), _mm_xor_si128(row1, row3));
}

template <class R>
HX_BLAKE3_INLINE void CompressXofRows(const std::uint32_t cv[8], const std::uint8_t* block,
                                      std::uint8_t block_len, std::uint64_t counter,
                                      std::uint8_t flags, std::uint8_t* out) {
  __m128i row0, row1, row2, row3;
  CompressRows<R>(cv, block, block_len, counter, flags, row0, row1, row2, row3);
  const __m128i cv0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  const __m128i cv1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(row0, row2));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_xor_si128(row1, row3));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32), _mm_xor_si128(row2, cv0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48), _mm_xor_si128(row3, cv1));
}

// ---------------------------------------------------------------------------
// Many inputs, one lane each.
//
// V is a lane traits type: Vec, kLanes, Add, Xor, Set1, LoadWords (kLanes
// words), Rot16/Rot12/Rot8/Rot7, LoadMessage (block at `offset` of every
// input, transposed into 16 vectors) and StoreCvs (8 vectors transposed back
// into kLanes consecutive 32-byte chaining values).

// The quarter-round G on four state vectors with message vectors mx, my.
template <class V, class Vec = typename V::Vec>
HX_BLAKE3_INLINE void G(Vec& a, Vec& b, Vec& c, Vec& d, Vec mx, Vec my) {
  a = V::Add(V::Add(a, b), mx);
  d = V::Rot16(V::Xor(d, a));
  c = V::Add(c, d);
  b = V::Rot12(V::Xor(b, c));
  a = V::Add(V::Add(a, b), my);
  d = V::Rot8(V::Xor(d, a));
  c = V::Add(c, d);
  b = V::Rot7(V::Xor(b, c));
}

// One round; s is the round's message schedule. The four G's of each half
// are independent and written one after the other rather than interleaved:
// out-of-order cores interleave them anyway, and GCC allocates registers
// much better this way (10-15% faster with SSE4.1 and AVX2).
template <class V, class Vec = typename V::Vec>
HX_BLAKE3_INLINE void RoundLanes(Vec v[16], const Vec m[16], const std::uint8_t* s) {
  G<V>(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
  G<V>(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
  G<V>(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
  G<V>(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
  G<V>(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
  G<V>(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
  G<V>(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
  G<V>(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
}

// Hashes exactly V::kLanes inputs (see HashManyFn for the parameters).
template <class V>
void HashLanes(const std::uint8_t* const* inputs, std::size_t blocks, const std::uint32_t key[8],
               std::uint64_t counter, bool increment_counter, std::uint8_t flags,
               std::uint8_t flags_start, std::uint8_t flags_end, std::uint8_t* out) {
  using Vec = typename V::Vec;
  Vec h[8];
  HX_BLAKE3_UNROLL
  for (std::size_t i = 0; i < 8; ++i) h[i] = V::Set1(key[i]);
  alignas(64) std::uint32_t counter_low[V::kLanes];
  alignas(64) std::uint32_t counter_high[V::kLanes];
  HX_BLAKE3_UNROLL
  for (std::size_t i = 0; i < V::kLanes; ++i) {
    const std::uint64_t lane_counter = increment_counter ? counter + i : counter;
    counter_low[i] = CounterLow(lane_counter);
    counter_high[i] = CounterHigh(lane_counter);
  }
  const Vec counter_low_vec = V::LoadWords(counter_low);
  const Vec counter_high_vec = V::LoadWords(counter_high);
  std::uint8_t block_flags = flags | flags_start;
  for (std::size_t b = 0; b < blocks; ++b) {
    if (b + 1 == blocks) block_flags |= flags_end;
    Vec m[16];
    V::LoadMessage(inputs, b * kBlake3BlockLen, m);
    Vec v[16] = {h[0],
                 h[1],
                 h[2],
                 h[3],
                 h[4],
                 h[5],
                 h[6],
                 h[7],
                 V::Set1(kIv[0]),
                 V::Set1(kIv[1]),
                 V::Set1(kIv[2]),
                 V::Set1(kIv[3]),
                 counter_low_vec,
                 counter_high_vec,
                 V::Set1(kBlake3BlockLen),
                 V::Set1(block_flags)};
    RoundLanes<V>(v, m, kSchedule[0].data());
    RoundLanes<V>(v, m, kSchedule[1].data());
    RoundLanes<V>(v, m, kSchedule[2].data());
    RoundLanes<V>(v, m, kSchedule[3].data());
    RoundLanes<V>(v, m, kSchedule[4].data());
    RoundLanes<V>(v, m, kSchedule[5].data());
    RoundLanes<V>(v, m, kSchedule[6].data());
    HX_BLAKE3_UNROLL
    for (std::size_t i = 0; i < 8; ++i) h[i] = V::Xor(v[i], v[i + 8]);
    block_flags = flags;
  }
  V::StoreCvs(h, out);
}

// Hashes every whole group of V::kLanes inputs and advances `inputs`,
// `num_inputs`, `counter` and `out` past them; the rest is left for a
// narrower width.
template <class V>
HX_BLAKE3_INLINE void HashGroups(const std::uint8_t* const*& inputs, std::size_t& num_inputs,
                                 std::size_t blocks, const std::uint32_t key[8],
                                 std::uint64_t& counter, bool increment_counter, std::uint8_t flags,
                                 std::uint8_t flags_start, std::uint8_t flags_end,
                                 std::uint8_t*& out) {
  while (num_inputs >= V::kLanes) {
    HashLanes<V>(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end,
                 out);
    inputs += V::kLanes;
    num_inputs -= V::kLanes;
    if (increment_counter) counter += V::kLanes;
    out += V::kLanes * kBlake3OutLen;
  }
}

// Hashes the inputs one at a time with the row compression.
template <class R>
HX_BLAKE3_INLINE void HashEachRows(const std::uint8_t* const* inputs, std::size_t num_inputs,
                                   std::size_t blocks, const std::uint32_t key[8],
                                   std::uint64_t counter, bool increment_counter,
                                   std::uint8_t flags, std::uint8_t flags_start,
                                   std::uint8_t flags_end, std::uint8_t* out) {
  for (std::size_t i = 0; i < num_inputs; ++i) {
    alignas(16) std::uint32_t cv[8];
    HX_BLAKE3_UNROLL
    for (std::size_t w = 0; w < 8; ++w) cv[w] = key[w];
    std::uint8_t block_flags = flags | flags_start;
    for (std::size_t b = 0; b < blocks; ++b) {
      if (b + 1 == blocks) block_flags |= flags_end;
      CompressInPlaceRows<R>(cv, inputs[i] + b * kBlake3BlockLen, kBlake3BlockLen, counter,
                             block_flags);
      block_flags = flags;
    }
    // Chaining values are little-endian words, which on x86 is their memory
    // layout.
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_load_si128(reinterpret_cast<const __m128i*>(cv)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16),
                     _mm_load_si128(reinterpret_cast<const __m128i*>(cv + 4)));
    if (increment_counter) ++counter;
    out += kBlake3OutLen;
  }
}

// ---------------------------------------------------------------------------
// Lane traits for 4 and 8 lanes; R supplies the rotations for the width.

// Prefetches input data a few blocks ahead of `offset`. With many lanes the
// data comes from as many separate 1 KiB streams, more than the hardware
// prefetchers follow well, and memory latency would stall every batch.
// Past the end of a chunk it guesses the layout the hasher uses (each call
// gets kLanes consecutive chunks and the next call the chunks right after)
// and fetches from this lane's next chunk. Prefetches never fault, so a
// wrong guess only costs a little bandwidth.
inline constexpr std::size_t kPrefetchAhead = 256;

template <std::size_t kLanes>
HX_BLAKE3_INLINE void PrefetchAhead(const std::uint8_t* input, std::size_t offset) {
  std::size_t ahead = offset + kPrefetchAhead;
  if (ahead >= kBlake3ChunkLen) ahead += (kLanes - 1) * kBlake3ChunkLen;
  _mm_prefetch(reinterpret_cast<const char*>(input + ahead), _MM_HINT_T0);
}

HX_BLAKE3_INLINE void Transpose4x4(__m128i& r0, __m128i& r1, __m128i& r2, __m128i& r3) {
  const __m128i t0 = _mm_unpacklo_epi32(r0, r1);  // r0[0] r1[0] r0[1] r1[1]
  const __m128i t1 = _mm_unpacklo_epi32(r2, r3);
  const __m128i t2 = _mm_unpackhi_epi32(r0, r1);  // r0[2] r1[2] r0[3] r1[3]
  const __m128i t3 = _mm_unpackhi_epi32(r2, r3);
  r0 = _mm_unpacklo_epi64(t0, t1);
  r1 = _mm_unpackhi_epi64(t0, t1);
  r2 = _mm_unpacklo_epi64(t2, t3);
  r3 = _mm_unpackhi_epi64(t2, t3);
}

template <class R>
struct Lanes4 {
  using Vec = __m128i;
  static constexpr std::size_t kLanes = 4;
  static HX_BLAKE3_INLINE Vec Add(Vec a, Vec b) { return _mm_add_epi32(a, b); }
  static HX_BLAKE3_INLINE Vec Xor(Vec a, Vec b) { return _mm_xor_si128(a, b); }
  static HX_BLAKE3_INLINE Vec Set1(std::uint32_t w) { return _mm_set1_epi32(static_cast<int>(w)); }
  static HX_BLAKE3_INLINE Vec LoadWords(const std::uint32_t* w) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
  }
  static HX_BLAKE3_INLINE Vec Rot16(Vec x) { return R::Rot16(x); }
  static HX_BLAKE3_INLINE Vec Rot12(Vec x) { return R::Rot12(x); }
  static HX_BLAKE3_INLINE Vec Rot8(Vec x) { return R::Rot8(x); }
  static HX_BLAKE3_INLINE Vec Rot7(Vec x) { return R::Rot7(x); }

  static HX_BLAKE3_INLINE void LoadMessage(const std::uint8_t* const* inputs, std::size_t offset,
                                           Vec m[16]) {
    HX_BLAKE3_UNROLL
    for (std::size_t q = 0; q < 4; ++q) {
      HX_BLAKE3_UNROLL
      for (std::size_t i = 0; i < 4; ++i) {
        m[4 * q + i] =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(inputs[i] + offset + 16 * q));
      }
      if (q == 0) {
        HX_BLAKE3_UNROLL
        for (std::size_t i = 0; i < 4; ++i) PrefetchAhead<kLanes>(inputs[i], offset);
      }
      Transpose4x4(m[4 * q], m[4 * q + 1], m[4 * q + 2], m[4 * q + 3]);
    }
  }

  static HX_BLAKE3_INLINE void StoreCvs(const Vec h[8], std::uint8_t* out) {
    HX_BLAKE3_UNROLL
    for (std::size_t half = 0; half < 2; ++half) {
      __m128i r0 = h[4 * half], r1 = h[4 * half + 1], r2 = h[4 * half + 2], r3 = h[4 * half + 3];
      Transpose4x4(r0, r1, r2, r3);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * half), r0);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 + 16 * half), r1);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 64 + 16 * half), r2);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 96 + 16 * half), r3);
    }
  }
};

#if defined(__AVX2__)
// Transposes 8 vectors of 8 words: afterwards r[j] holds word j of every
// original vector.
HX_BLAKE3_INLINE void Transpose8x8(__m256i r[8]) {
  // Within each 128-bit half, interleave words, then pairs of words.
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
  const __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
  const __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  // u0: words 0 | 4 of r0..r3; u1: 1 | 5; u2: 2 | 6; u3: 3 | 7; u4..u7 the
  // same for r4..r7.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
  const __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  const __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  // Join the halves.
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

template <class R>
struct Lanes8 {
  using Vec = __m256i;
  static constexpr std::size_t kLanes = 8;
  static HX_BLAKE3_INLINE Vec Add(Vec a, Vec b) { return _mm256_add_epi32(a, b); }
  static HX_BLAKE3_INLINE Vec Xor(Vec a, Vec b) { return _mm256_xor_si256(a, b); }
  static HX_BLAKE3_INLINE Vec Set1(std::uint32_t w) {
    return _mm256_set1_epi32(static_cast<int>(w));
  }
  static HX_BLAKE3_INLINE Vec LoadWords(const std::uint32_t* w) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  }
  static HX_BLAKE3_INLINE Vec Rot16(Vec x) { return R::Rot16(x); }
  static HX_BLAKE3_INLINE Vec Rot12(Vec x) { return R::Rot12(x); }
  static HX_BLAKE3_INLINE Vec Rot8(Vec x) { return R::Rot8(x); }
  static HX_BLAKE3_INLINE Vec Rot7(Vec x) { return R::Rot7(x); }

  static HX_BLAKE3_INLINE void LoadMessage(const std::uint8_t* const* inputs, std::size_t offset,
                                           Vec m[16]) {
    HX_BLAKE3_UNROLL
    for (std::size_t half = 0; half < 2; ++half) {
      HX_BLAKE3_UNROLL
      for (std::size_t i = 0; i < 8; ++i) {
        m[8 * half + i] =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(inputs[i] + offset + 32 * half));
      }
      if (half == 0) {
        HX_BLAKE3_UNROLL
        for (std::size_t i = 0; i < 8; ++i) PrefetchAhead<kLanes>(inputs[i], offset);
      }
      Transpose8x8(m + 8 * half);
    }
  }

  static HX_BLAKE3_INLINE void StoreCvs(const Vec h[8], std::uint8_t* out) {
    __m256i r[8] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]};
    Transpose8x8(r);
    HX_BLAKE3_UNROLL
    for (std::size_t i = 0; i < 8; ++i) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), r[i]);
    }
  }
};

#endif  // defined(__AVX2__)

}  // namespace
}  // namespace hx::blake3_internal

#endif  // defined(__x86_64__) && defined(__SSE4_1__)
