// Internals shared by the BLAKE3 hasher (blake3.cc) and its compression
// backends (blake3_portable.cc, blake3_sse41.cc, blake3_avx2.cc,
// blake3_avx512.cc): the constants of the specification and the kernel
// table through which the hasher calls the backend chosen at run time.
//
// Not part of the public API; include only from src/hash/.
//
// Thread-safety: everything here is constant data or a pure function.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hash/blake3.h"

namespace hx::blake3_internal {

// Domain-separation flags (spec section 2.1, table 3).
inline constexpr std::uint8_t kChunkStart = 1 << 0;
inline constexpr std::uint8_t kChunkEnd = 1 << 1;
inline constexpr std::uint8_t kParent = 1 << 2;
inline constexpr std::uint8_t kRoot = 1 << 3;
inline constexpr std::uint8_t kKeyedHash = 1 << 4;
inline constexpr std::uint8_t kDeriveKeyContext = 1 << 5;
inline constexpr std::uint8_t kDeriveKeyMaterial = 1 << 6;

inline constexpr std::size_t kBlocksPerChunk = kBlake3ChunkLen / kBlake3BlockLen;

// The initialisation vector: the same eight words as SHA-256's.
inline constexpr std::array<std::uint32_t, 8> kIv = {
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// The permutation applied to the message words between rounds (spec 2.2).
inline constexpr std::array<std::uint8_t, 16> kMessagePermutation = {2, 6,  3,  10, 7, 0,  4,  13,
                                                                     1, 11, 12, 5,  9, 14, 15, 8};

inline constexpr int kRounds = 7;

// kSchedule[r][i] is the index of the original message word that the round
// `r` uses in position i. Composing the permutation once here lets every
// backend read its message words directly instead of permuting them.
inline constexpr auto kSchedule = [] {
  std::array<std::array<std::uint8_t, 16>, kRounds> schedule{};
  for (std::uint8_t i = 0; i < 16; ++i) schedule[0][i] = i;
  for (int r = 1; r < kRounds; ++r) {
    for (int i = 0; i < 16; ++i) {
      schedule[r][i] = schedule[r - 1][kMessagePermutation[i]];
    }
  }
  return schedule;
}();

inline std::uint32_t LoadLe32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

inline void StoreLe32(std::uint8_t* p, std::uint32_t w) {
  p[0] = static_cast<std::uint8_t>(w);
  p[1] = static_cast<std::uint8_t>(w >> 8);
  p[2] = static_cast<std::uint8_t>(w >> 16);
  p[3] = static_cast<std::uint8_t>(w >> 24);
}

inline std::uint32_t CounterLow(std::uint64_t counter) {
  return static_cast<std::uint32_t>(counter);
}
inline std::uint32_t CounterHigh(std::uint64_t counter) {
  return static_cast<std::uint32_t>(counter >> 32);
}

// Compresses one block into the chaining value `cv` (8 words), keeping the
// first half of the output: the step inside a chunk and for parent nodes.
using CompressInPlaceFn = void (*)(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                                   std::uint8_t block_len, std::uint64_t counter,
                                   std::uint8_t flags);

// Compresses one block and writes the full 64-byte output (both halves):
// the root node's extendable output.
using CompressXofFn = void (*)(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                               std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                               std::uint8_t out[kBlake3BlockLen]);

// Hashes `num_inputs` independent inputs of `blocks` whole blocks each and
// writes their 32-byte chaining values one after another to `out`
// (num_inputs * 32 bytes). Every input starts from `key`. Input i uses the
// counter `counter + i` if `increment_counter`, else `counter`. Every block
// gets `flags`; the first block also `flags_start`, the last `flags_end`.
// Hashing whole chunks: blocks = 16, incrementing chunk counters, CHUNK_START
// and CHUNK_END. Hashing parents: blocks = 1, counter 0, flags | PARENT.
// `out` must not overlap the inputs.
using HashManyFn = void (*)(const std::uint8_t* const* inputs, std::size_t num_inputs,
                            std::size_t blocks, const std::uint32_t key[8], std::uint64_t counter,
                            bool increment_counter, std::uint8_t flags, std::uint8_t flags_start,
                            std::uint8_t flags_end, std::uint8_t* out);

struct Kernels {
  CompressInPlaceFn compress_in_place;
  CompressXofFn compress_xof;
  HashManyFn hash_many;
  // How many inputs hash_many processes side by side; callers batch at
  // least this many to keep every lane busy.
  std::size_t degree;
};

// The kernel table of `backend`, which must be available on this CPU.
const Kernels& KernelsFor(Blake3Backend backend);
// Whether this CPU and build can run `backend`.
bool IsBackendAvailable(Blake3Backend backend);

// The backends' entry points, defined in their own files (compiled with
// their own instruction-set flags) and only called after CPU detection.
void PortableCompressInPlace(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                             std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags);
void PortableCompressXof(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                         std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                         std::uint8_t out[kBlake3BlockLen]);
void PortableHashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                      const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                      std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                      std::uint8_t* out);

#if defined(__x86_64__)
void Sse41CompressInPlace(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                          std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags);
void Sse41CompressXof(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                      std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                      std::uint8_t out[kBlake3BlockLen]);
void Sse41HashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                   const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                   std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                   std::uint8_t* out);
void Avx2HashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                  const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                  std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                  std::uint8_t* out);
void Avx512CompressInPlace(std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                           std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags);
void Avx512CompressXof(const std::uint32_t cv[8], const std::uint8_t block[kBlake3BlockLen],
                       std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                       std::uint8_t out[kBlake3BlockLen]);
void Avx512HashMany(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                    const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                    std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                    std::uint8_t* out);
#endif

}  // namespace hx::blake3_internal
