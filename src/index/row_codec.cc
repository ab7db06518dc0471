#include "index/row_codec.h"

#include <cstring>
#include <map>
#include <utility>

#include "base/hex.h"

namespace hx {
namespace {

constexpr std::size_t kIdBytes = 32;
constexpr std::size_t kNodeBytes = 16;
constexpr std::size_t kMaxVarintBytes = 10;

Error Corrupt(std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt, std::move(message));
}

}  // namespace

void AppendVarint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

std::optional<std::uint64_t> ReadVarint(std::span<const std::uint8_t> in, std::size_t& pos) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (pos >= in.size()) {
      return std::nullopt;
    }
    const std::uint8_t byte = in[pos++];
    const std::uint64_t group = byte & 0x7f;
    // The tenth byte holds bit 63 only; anything above it overflows.
    if (i == kMaxVarintBytes - 1 && group > 1) {
      return std::nullopt;
    }
    value |= group << (7 * i);
    if ((byte & 0x80) == 0) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::uint8_t> EncodeChunkList(const std::vector<ChunkRef>& chunks) {
  std::vector<std::uint8_t> out;
  out.reserve(chunks.size() * (kIdBytes + 4));
  for (const ChunkRef& chunk : chunks) {
    out.insert(out.end(), chunk.id.begin(), chunk.id.end());
    AppendVarint(out, chunk.size);
  }
  return out;
}

Result<std::vector<ChunkRef>> DecodeChunkList(std::span<const std::uint8_t> bytes) {
  std::vector<ChunkRef> chunks;
  // Each chunk takes at least 33 bytes, so this bounds the reservation by
  // the input's size.
  chunks.reserve(bytes.size() / (kIdBytes + 1));
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < kIdBytes) {
      return Corrupt("chunk list: truncated chunk id at byte " + std::to_string(pos));
    }
    ChunkRef chunk;
    std::memcpy(chunk.id.data(), bytes.data() + pos, kIdBytes);
    pos += kIdBytes;
    const std::optional<std::uint64_t> size = ReadVarint(bytes, pos);
    if (!size) {
      return Corrupt("chunk list: bad chunk size at byte " + std::to_string(pos));
    }
    chunk.size = *size;
    chunks.push_back(chunk);
  }
  return chunks;
}

Result<std::vector<std::uint8_t>> EncodeVersionVector(const VersionVector& vv) {
  std::vector<std::uint8_t> out;
  out.reserve(vv.counters().size() * (kNodeBytes + 2));
  for (const auto& [node, counter] : vv.counters()) {
    if (!IsLowerHex(node, 2 * kNodeBytes) || counter == 0) {
      return InternalError("version vector entry {" + node + ": " + std::to_string(counter) +
                           "} is not a 32-hex node id with a positive counter");
    }
    const std::optional<std::vector<std::uint8_t>> raw = FromHex(node);
    out.insert(out.end(), raw->begin(), raw->end());
    AppendVarint(out, counter);
  }
  return out;
}

Result<VersionVector> DecodeVersionVector(std::span<const std::uint8_t> bytes) {
  std::map<std::string, std::uint64_t> counters;
  std::span<const std::uint8_t> previous;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < kNodeBytes) {
      return Corrupt("version vector: truncated node id at byte " + std::to_string(pos));
    }
    const std::span<const std::uint8_t> node = bytes.subspan(pos, kNodeBytes);
    pos += kNodeBytes;
    const std::optional<std::uint64_t> counter = ReadVarint(bytes, pos);
    if (!counter || *counter == 0) {
      return Corrupt("version vector: bad counter at byte " + std::to_string(pos));
    }
    if (!previous.empty() && std::memcmp(previous.data(), node.data(), kNodeBytes) >= 0) {
      return Corrupt("version vector: node ids out of order");
    }
    previous = node;
    // Hex preserves byte order, so the map's order is the stored order and
    // every insertion is at the end.
    counters.emplace_hint(counters.end(), ToHex(node), *counter);
  }
  return VersionVector(std::move(counters));
}

}  // namespace hx
