// Test-only: BLAKE3 computed the way the specification defines the tree
// (section 2.5), by recursion over the whole input in memory, on the
// portable compression function. It shares no tree code with Blake3Hasher
// (no chaining-value stack, no lazy merging, no batching), so comparing the
// two checks the hasher's streaming tree logic on inputs beyond the
// official vectors. Slow and simple on purpose.
//
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "hash/blake3.h"
#include "hash/blake3_internal.h"

namespace hx::blake3_reference {

enum class Mode { kHash, kKeyedHash, kDeriveKey };

struct Node {
  std::array<std::uint32_t, 8> cv{};
  std::array<std::uint8_t, kBlake3BlockLen> block{};
  std::uint8_t block_len = 0;
  std::uint64_t counter = 0;
  std::uint8_t flags = 0;
};

inline std::array<std::uint8_t, kBlake3OutLen> NodeCv(const Node& node) {
  std::array<std::uint8_t, kBlake3BlockLen> full{};
  blake3_internal::PortableCompressXof(node.cv.data(), node.block.data(), node.block_len,
                                       node.counter, node.flags, full.data());
  std::array<std::uint8_t, kBlake3OutLen> cv{};
  std::copy_n(full.begin(), kBlake3OutLen, cv.begin());
  return cv;
}

// The node whose compression is still to be done: a chunk's last block, or
// a parent.
inline Node TreeNode(std::span<const std::uint8_t> input, std::uint64_t chunk_index,
                     const std::array<std::uint32_t, 8>& key, std::uint8_t flags) {
  if (input.size() <= kBlake3ChunkLen) {
    Node node;
    node.cv = key;
    node.counter = chunk_index;
    std::uint8_t start = blake3_internal::kChunkStart;
    while (input.size() > kBlake3BlockLen) {
      blake3_internal::PortableCompressInPlace(node.cv.data(), input.data(), kBlake3BlockLen,
                                               chunk_index, flags | start);
      start = 0;
      input = input.subspan(kBlake3BlockLen);
    }
    std::copy(input.begin(), input.end(), node.block.begin());
    node.block_len = static_cast<std::uint8_t>(input.size());
    node.flags = flags | start | blake3_internal::kChunkEnd;
    return node;
  }
  // The left subtree holds the largest power of two of whole chunks that
  // leaves at least one byte for the right.
  const std::uint64_t left_chunks = std::bit_floor((input.size() - 1) / kBlake3ChunkLen);
  const std::size_t left_len = left_chunks * kBlake3ChunkLen;
  const auto left = NodeCv(TreeNode(input.first(left_len), chunk_index, key, flags));
  const auto right =
      NodeCv(TreeNode(input.subspan(left_len), chunk_index + left_chunks, key, flags));
  Node node;
  node.cv = key;
  std::copy(left.begin(), left.end(), node.block.begin());
  std::copy(right.begin(), right.end(), node.block.begin() + kBlake3OutLen);
  node.block_len = kBlake3BlockLen;
  node.flags = flags | blake3_internal::kParent;
  return node;
}

inline std::vector<std::uint8_t> RootBytes(const Node& root, std::size_t out_len) {
  std::vector<std::uint8_t> out;
  for (std::uint64_t counter = 0; out.size() < out_len; ++counter) {
    std::array<std::uint8_t, kBlake3BlockLen> block{};
    blake3_internal::PortableCompressXof(root.cv.data(), root.block.data(), root.block_len, counter,
                                         root.flags | blake3_internal::kRoot, block.data());
    const std::size_t take = std::min(kBlake3BlockLen, out_len - out.size());
    out.insert(out.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(take));
  }
  return out;
}

inline std::array<std::uint32_t, 8> Words(std::span<const std::uint8_t> bytes) {
  std::array<std::uint32_t, 8> words{};
  for (std::size_t i = 0; i < 8; ++i) words[i] = blake3_internal::LoadLe32(bytes.data() + 4 * i);
  return words;
}

// out_len bytes of BLAKE3 output. `key` is used in kKeyedHash mode (32
// bytes); `context` in kDeriveKey mode.
inline std::vector<std::uint8_t> Blake3(Mode mode, std::span<const std::uint8_t> input,
                                        std::span<const std::uint8_t> key,
                                        std::span<const std::uint8_t> context,
                                        std::size_t out_len) {
  std::array<std::uint32_t, 8> key_words = blake3_internal::kIv;
  std::uint8_t flags = 0;
  if (mode == Mode::kKeyedHash) {
    key_words = Words(key);
    flags = blake3_internal::kKeyedHash;
  } else if (mode == Mode::kDeriveKey) {
    const Node context_root =
        TreeNode(context, 0, blake3_internal::kIv, blake3_internal::kDeriveKeyContext);
    key_words = Words(RootBytes(context_root, kBlake3KeyLen));
    flags = blake3_internal::kDeriveKeyMaterial;
  }
  return RootBytes(TreeNode(input, 0, key_words, flags), out_len);
}

}  // namespace hx::blake3_reference
