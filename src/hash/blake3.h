// BLAKE3, implemented from the specification (https://github.com/BLAKE3-team/
// BLAKE3-specs): the three modes (hash, keyed_hash, derive_key), extendable
// output of any length, and incremental update/finalize.
//
// hx uses BLAKE3 for content ids (keyed, so the store cannot confirm a
// guessed file), snapshot ids, key derivation and chunker tables. The work
// is done by one of several backends chosen once at run time by CPU
// detection (portable, SSE4.1, AVX2, AVX-512); every backend gives identical
// output, which the tests check against the official vectors.
//
// Thread-safety: a Blake3Hasher is a value with no shared state; distinct
// hashers may be used from distinct threads. The free functions are
// thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hx {

inline constexpr std::size_t kBlake3OutLen = 32;
inline constexpr std::size_t kBlake3KeyLen = 32;
inline constexpr std::size_t kBlake3BlockLen = 64;
inline constexpr std::size_t kBlake3ChunkLen = 1024;

using Blake3Digest = std::array<std::uint8_t, kBlake3OutLen>;
using Blake3Key = std::array<std::uint8_t, kBlake3KeyLen>;

// The compression backends. kPortable is always available.
enum class Blake3Backend { kPortable, kSse41, kAvx2, kAvx512 };

// "portable", "sse41", "avx2", "avx512".
std::string_view ToString(Blake3Backend backend);
// The backends this CPU (and this build) can run, portable first.
std::vector<Blake3Backend> AvailableBlake3Backends();
// The backend chosen for this process (the fastest available).
Blake3Backend DefaultBlake3Backend();

class Blake3Hasher {
 public:
  // Plain hash mode, using DefaultBlake3Backend().
  Blake3Hasher();
  // Keyed hash mode (a MAC / PRF keyed by `key`).
  static Blake3Hasher Keyed(const Blake3Key& key);
  // Key derivation mode: `context` should be a hardcoded, globally unique,
  // application-specific string; the key material is then fed with Update().
  static Blake3Hasher DeriveKey(std::string_view context);

  // Chooses the backend explicitly (tests and benchmarks). A backend not in
  // AvailableBlake3Backends() is ignored. May be called at any time: every
  // backend keeps the same state and gives the same output.
  void SetBackendForTesting(Blake3Backend backend);

  // Appends input. May be called any number of times with any split of the
  // input; the result depends only on the concatenation. Long inputs are
  // hashed many chunks at a time straight from `input`; a call uses about
  // 14 KiB of stack and allocates nothing.
  void Update(std::span<const std::uint8_t> input);
  void Update(std::string_view input);

  // Writes out.size() bytes of output (any length; the first 32 bytes are the
  // default digest). Does not change the hasher: more input may follow.
  void Finalize(std::span<std::uint8_t> out) const;
  // Output starting at byte `seek` of the output stream.
  void FinalizeSeek(std::uint64_t seek, std::span<std::uint8_t> out) const;
  Blake3Digest Finalize() const;

  // Back to the state right after construction (same mode, key and backend).
  void Reset();

 private:
  // The chunk being filled: up to 1024 bytes, of which the last (possibly
  // partial) block is kept in `block` until we know whether it ends the
  // chunk.
  struct ChunkState {
    std::array<std::uint32_t, 8> cv{};
    std::uint64_t chunk_counter = 0;
    std::array<std::uint8_t, kBlake3BlockLen> block{};
    std::uint8_t block_len = 0;
    std::uint8_t blocks_compressed = 0;
  };
  // The inputs of one compression whose output is not yet used: a chunk's
  // last block or a parent node. Defined in blake3.cc.
  struct Output;
  using CvBytes = std::array<std::uint8_t, kBlake3OutLen>;

  Blake3Hasher(const std::array<std::uint32_t, 8>& key, std::uint8_t flags);

  std::size_t ChunkLen() const;
  void StartChunk(std::uint64_t chunk_counter);
  void FeedChunk(std::span<const std::uint8_t> input);
  void PushFullChunk();
  void HashSubtree(const std::uint8_t* input, std::uint64_t chunks, std::uint64_t first_chunk,
                   std::uint8_t out[2 * kBlake3OutLen]) const;
  void MergeCvStack(std::uint64_t total_chunks);
  void PushCv(const std::uint8_t* cv, std::uint64_t chunk_index);
  Output ChunkOutput() const;
  Output ParentOutput(const std::uint8_t* left, const std::uint8_t* right) const;
  CvBytes ChainingValue(const Output& output) const;
  Output RootOutput() const;

  std::array<std::uint32_t, 8> key_{};
  ChunkState chunk_;
  // Chaining values of completed subtrees, oldest (largest) first. Merging
  // is lazy: the newest two entries may stay unmerged until more input shows
  // they are not the root, hence one entry beyond the 54 levels of a tree of
  // 2^54 chunks.
  std::array<CvBytes, 55> cv_stack_{};
  std::uint8_t cv_stack_len_ = 0;
  std::uint8_t flags_ = 0;
  Blake3Backend backend_;
};

// One-shot helpers.
Blake3Digest Blake3Hash(std::span<const std::uint8_t> input);
Blake3Digest Blake3Hash(std::string_view input);
Blake3Digest Blake3KeyedHash(const Blake3Key& key, std::span<const std::uint8_t> input);
// derive_key(context, key_material) with out.size() bytes of output.
void Blake3DeriveKey(std::string_view context, std::span<const std::uint8_t> key_material,
                     std::span<std::uint8_t> out);
// Lowercase hex of the 32-byte default hash.
std::string Blake3Hex(std::string_view input);

}  // namespace hx
