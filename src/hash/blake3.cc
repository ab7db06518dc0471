// The BLAKE3 tree (spec section 2.5 and 5.1) on top of a compression
// backend.
//
// The input is split into 1 KiB chunks, the leaves of a binary tree whose
// left subtrees are always complete: a subtree of 2^k chunks starts at a
// multiple of 2^k. The hasher keeps the chunk being filled and a stack of
// the chaining values of completed subtrees. The root node (the one that
// gets the ROOT flag and produces the output) is only known at Finalize, so
// the last chunk and the last two subtrees are never compressed into a
// parent before more input arrives.
//
// Speed comes from hashing many chunks at once: a long Update() hashes
// aligned runs of up to kMaxSubtreeChunks chunks straight from the caller's
// buffer with hash_many (one SIMD lane per chunk), then hashes each level
// of parent nodes of that run with hash_many as well, and pushes the run's
// two top chaining values onto the stack.
#include "hash/blake3.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/hex.h"
#include "hash/blake3_internal.h"

namespace hx {
namespace {

using blake3_internal::kChunkEnd;
using blake3_internal::kChunkStart;
using blake3_internal::kDeriveKeyContext;
using blake3_internal::kDeriveKeyMaterial;
using blake3_internal::KernelsFor;
using blake3_internal::kIv;
using blake3_internal::kKeyedHash;
using blake3_internal::kParent;
using blake3_internal::kRoot;

// The largest run of chunks hashed as one subtree. Larger runs only save
// one serial parent compression per run, but cost stack space (about 14 KiB
// at 256 chunks).
constexpr std::uint64_t kMaxSubtreeChunks = 256;

std::array<std::uint32_t, 8> KeyWords(const std::uint8_t* key) {
  std::array<std::uint32_t, 8> words{};
  for (std::size_t i = 0; i < 8; ++i) words[i] = blake3_internal::LoadLe32(key + 4 * i);
  return words;
}

}  // namespace

struct Blake3Hasher::Output {
  std::array<std::uint32_t, 8> cv{};
  std::array<std::uint8_t, kBlake3BlockLen> block{};
  std::uint8_t block_len = 0;
  std::uint64_t counter = 0;
  std::uint8_t flags = 0;
};

Blake3Hasher::Blake3Hasher() : Blake3Hasher(kIv, 0) {}

Blake3Hasher::Blake3Hasher(const std::array<std::uint32_t, 8>& key, std::uint8_t flags)
    : key_(key), flags_(flags), backend_(DefaultBlake3Backend()) {
  StartChunk(0);
}

Blake3Hasher Blake3Hasher::Keyed(const Blake3Key& key) {
  return Blake3Hasher(KeyWords(key.data()), kKeyedHash);
}

Blake3Hasher Blake3Hasher::DeriveKey(std::string_view context) {
  // The context string is hashed on its own (with the IV as key) into the
  // key for the key material.
  Blake3Hasher context_hasher(kIv, kDeriveKeyContext);
  context_hasher.Update(context);
  const Blake3Digest context_key = context_hasher.Finalize();
  return Blake3Hasher(KeyWords(context_key.data()), kDeriveKeyMaterial);
}

void Blake3Hasher::SetBackendForTesting(Blake3Backend backend) {
  if (blake3_internal::IsBackendAvailable(backend)) backend_ = backend;
}

void Blake3Hasher::Reset() {
  StartChunk(0);
  cv_stack_len_ = 0;
}

std::size_t Blake3Hasher::ChunkLen() const {
  return std::size_t{chunk_.blocks_compressed} * kBlake3BlockLen + chunk_.block_len;
}

void Blake3Hasher::StartChunk(std::uint64_t chunk_counter) {
  chunk_ = ChunkState{};
  chunk_.cv = key_;
  chunk_.chunk_counter = chunk_counter;
}

// Appends to the current chunk; the caller keeps ChunkLen() + input.size()
// within one chunk. A block is compressed only once a byte after it arrives,
// because the chunk's last block needs the CHUNK_END flag (and maybe ROOT).
void Blake3Hasher::FeedChunk(std::span<const std::uint8_t> input) {
  const auto compress = KernelsFor(backend_).compress_in_place;
  auto start_flag = [this] {
    return chunk_.blocks_compressed == 0 ? kChunkStart : std::uint8_t{0};
  };
  while (!input.empty()) {
    if (chunk_.block_len == kBlake3BlockLen) {
      compress(chunk_.cv.data(), chunk_.block.data(), kBlake3BlockLen, chunk_.chunk_counter,
               flags_ | start_flag());
      ++chunk_.blocks_compressed;
      chunk_.block_len = 0;
    }
    // Whole blocks with more input after them go straight from the input.
    while (chunk_.block_len == 0 && input.size() > kBlake3BlockLen) {
      compress(chunk_.cv.data(), input.data(), kBlake3BlockLen, chunk_.chunk_counter,
               flags_ | start_flag());
      ++chunk_.blocks_compressed;
      input = input.subspan(kBlake3BlockLen);
    }
    const std::size_t take = std::min(kBlake3BlockLen - chunk_.block_len, input.size());
    std::memcpy(chunk_.block.data() + chunk_.block_len, input.data(), take);
    chunk_.block_len = static_cast<std::uint8_t>(chunk_.block_len + take);
    input = input.subspan(take);
  }
}

Blake3Hasher::Output Blake3Hasher::ChunkOutput() const {
  Output output;
  output.cv = chunk_.cv;
  // The last block is zero-padded; bytes past block_len may be stale.
  std::memcpy(output.block.data(), chunk_.block.data(), chunk_.block_len);
  output.block_len = chunk_.block_len;
  output.counter = chunk_.chunk_counter;
  output.flags = flags_ | kChunkEnd | (chunk_.blocks_compressed == 0 ? kChunkStart : 0);
  return output;
}

Blake3Hasher::Output Blake3Hasher::ParentOutput(const std::uint8_t* left,
                                                const std::uint8_t* right) const {
  Output output;
  output.cv = key_;
  std::memcpy(output.block.data(), left, kBlake3OutLen);
  std::memcpy(output.block.data() + kBlake3OutLen, right, kBlake3OutLen);
  output.block_len = kBlake3BlockLen;
  output.counter = 0;
  output.flags = flags_ | kParent;
  return output;
}

Blake3Hasher::CvBytes Blake3Hasher::ChainingValue(const Output& output) const {
  std::array<std::uint32_t, 8> cv = output.cv;
  KernelsFor(backend_).compress_in_place(cv.data(), output.block.data(), output.block_len,
                                         output.counter, output.flags);
  CvBytes bytes;
  for (std::size_t i = 0; i < 8; ++i) blake3_internal::StoreLe32(bytes.data() + 4 * i, cv[i]);
  return bytes;
}

// Merges the newest stack entries pairwise until the stack holds one entry
// per 1 bit of `total_chunks`: the complete subtrees of a tree of that many
// chunks. Called only when input is known to follow them, so none of the
// merged parents can be the root.
void Blake3Hasher::MergeCvStack(std::uint64_t total_chunks) {
  const auto target = static_cast<std::size_t>(std::popcount(total_chunks));
  while (cv_stack_len_ > target) {
    const CvBytes parent = ChainingValue(
        ParentOutput(cv_stack_[cv_stack_len_ - 2].data(), cv_stack_[cv_stack_len_ - 1].data()));
    cv_stack_[cv_stack_len_ - 2] = parent;
    --cv_stack_len_;
  }
}

// Pushes the chaining value of a subtree that starts at chunk `chunk_index`.
void Blake3Hasher::PushCv(const std::uint8_t* cv, std::uint64_t chunk_index) {
  MergeCvStack(chunk_index);
  std::memcpy(cv_stack_[cv_stack_len_].data(), cv, kBlake3OutLen);
  ++cv_stack_len_;
}

// The current chunk is full and more input follows, so it is not the root.
void Blake3Hasher::PushFullChunk() {
  const CvBytes cv = ChainingValue(ChunkOutput());
  PushCv(cv.data(), chunk_.chunk_counter);
  StartChunk(chunk_.chunk_counter + 1);
}

// Hashes `chunks` (a power of two, at least 2) whole chunks starting at
// chunk number `first_chunk` and writes the chaining values of the
// subtree's two halves to `out`. The subtree's own root is left to the
// caller, since it may be the root of the whole input.
void Blake3Hasher::HashSubtree(const std::uint8_t* input, std::uint64_t chunks,
                               std::uint64_t first_chunk,
                               std::uint8_t out[2 * kBlake3OutLen]) const {
  const blake3_internal::Kernels& kernels = KernelsFor(backend_);
  std::array<const std::uint8_t*, kMaxSubtreeChunks> inputs;
  alignas(64) std::uint8_t level_a[kMaxSubtreeChunks * kBlake3OutLen];
  alignas(64) std::uint8_t level_b[kMaxSubtreeChunks / 2 * kBlake3OutLen];
  for (std::uint64_t i = 0; i < chunks; ++i) inputs[i] = input + i * kBlake3ChunkLen;
  kernels.hash_many(inputs.data(), chunks, blake3_internal::kBlocksPerChunk, key_.data(),
                    first_chunk, true, flags_, kChunkStart, kChunkEnd, level_a);
  // Each level's chaining values, taken two by two, are the next level's
  // parent blocks; they are already contiguous.
  std::uint8_t* level = level_a;
  std::uint8_t* next = level_b;
  for (std::uint64_t count = chunks; count > 2; count /= 2) {
    for (std::uint64_t i = 0; i < count / 2; ++i) inputs[i] = level + i * kBlake3BlockLen;
    kernels.hash_many(inputs.data(), count / 2, 1, key_.data(), 0, false, flags_ | kParent, 0, 0,
                      next);
    std::swap(level, next);
  }
  std::memcpy(out, level, 2 * kBlake3OutLen);
}

void Blake3Hasher::Update(std::span<const std::uint8_t> input) {
  // Complete the chunk in progress. Its chaining value is pushed only when
  // input follows it.
  if (ChunkLen() > 0) {
    const std::size_t take = std::min(kBlake3ChunkLen - ChunkLen(), input.size());
    FeedChunk(input.first(take));
    input = input.subspan(take);
    if (input.empty()) return;
    PushFullChunk();
  }
  // The chunk is empty here. While more than one chunk of input remains,
  // hash the largest aligned run of whole chunks that leaves input behind
  // or ends exactly at the input's end (then its two halves stay unmerged
  // on the stack until Finalize or more input).
  while (input.size() > kBlake3ChunkLen) {
    const std::uint64_t done = chunk_.chunk_counter;
    std::uint64_t chunks =
        std::min(std::bit_floor(std::uint64_t{input.size()} / kBlake3ChunkLen), kMaxSubtreeChunks);
    while ((done & (chunks - 1)) != 0) chunks /= 2;
    if (chunks == 1) {
      FeedChunk(input.first(kBlake3ChunkLen));
      PushFullChunk();
    } else {
      std::uint8_t halves[2 * kBlake3OutLen];
      HashSubtree(input.data(), chunks, done, halves);
      PushCv(halves, done);
      PushCv(halves + kBlake3OutLen, done + chunks / 2);
      StartChunk(done + chunks);
    }
    input = input.subspan(chunks * kBlake3ChunkLen);
  }
  if (!input.empty()) {
    FeedChunk(input);
    // Input now follows everything on the stack: merge it down.
    MergeCvStack(chunk_.chunk_counter);
  }
}

void Blake3Hasher::Update(std::string_view input) {
  Update(std::span(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()));
}

Blake3Hasher::Output Blake3Hasher::RootOutput() const {
  // The whole input is one chunk (possibly empty).
  if (cv_stack_len_ == 0) return ChunkOutput();
  std::size_t remaining = cv_stack_len_;
  Output output;
  if (ChunkLen() > 0) {
    output = ChunkOutput();
  } else {
    // The input ended with a subtree; its two halves are the top entries.
    output = ParentOutput(cv_stack_[remaining - 2].data(), cv_stack_[remaining - 1].data());
    remaining -= 2;
  }
  while (remaining > 0) {
    const CvBytes right = ChainingValue(output);
    output = ParentOutput(cv_stack_[remaining - 1].data(), right.data());
    --remaining;
  }
  return output;
}

void Blake3Hasher::FinalizeSeek(std::uint64_t seek, std::span<std::uint8_t> out) const {
  const Output root = RootOutput();
  const auto compress_xof = KernelsFor(backend_).compress_xof;
  // Output block i is the root compression with counter i.
  std::uint64_t block_counter = seek / kBlake3BlockLen;
  std::size_t offset = static_cast<std::size_t>(seek % kBlake3BlockLen);
  while (!out.empty()) {
    std::uint8_t block[kBlake3BlockLen];
    compress_xof(root.cv.data(), root.block.data(), root.block_len, block_counter,
                 root.flags | kRoot, block);
    const std::size_t take = std::min(kBlake3BlockLen - offset, out.size());
    std::memcpy(out.data(), block + offset, take);
    out = out.subspan(take);
    offset = 0;
    ++block_counter;
  }
}

void Blake3Hasher::Finalize(std::span<std::uint8_t> out) const { FinalizeSeek(0, out); }

Blake3Digest Blake3Hasher::Finalize() const {
  Blake3Digest digest;
  Finalize(digest);
  return digest;
}

Blake3Digest Blake3Hash(std::span<const std::uint8_t> input) {
  Blake3Hasher hasher;
  hasher.Update(input);
  return hasher.Finalize();
}

Blake3Digest Blake3Hash(std::string_view input) {
  Blake3Hasher hasher;
  hasher.Update(input);
  return hasher.Finalize();
}

Blake3Digest Blake3KeyedHash(const Blake3Key& key, std::span<const std::uint8_t> input) {
  Blake3Hasher hasher = Blake3Hasher::Keyed(key);
  hasher.Update(input);
  return hasher.Finalize();
}

void Blake3DeriveKey(std::string_view context, std::span<const std::uint8_t> key_material,
                     std::span<std::uint8_t> out) {
  Blake3Hasher hasher = Blake3Hasher::DeriveKey(context);
  hasher.Update(key_material);
  hasher.Finalize(out);
}

std::string Blake3Hex(std::string_view input) { return ToHex(Blake3Hash(input)); }

}  // namespace hx
