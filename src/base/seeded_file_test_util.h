// For tests that move real volumes of data: files of seeded, incompressible
// bytes (no two seeds share a run of bytes, so nothing deduplicates or
// compresses), and the sizes of the packs a folder store holds. Header-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <vector>

namespace hx::testing {

// splitmix64 from a seed's own hash, written in 1 MiB pieces.
inline void WriteSeededFile(const std::filesystem::path& path, std::uint64_t size,
                            std::uint64_t seed) {
  constexpr std::uint64_t kPiece = std::uint64_t{1} << 20;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<std::uint64_t> block(kPiece / 8);
  // Streams of different seeds start far apart in splitmix64's cycle.
  std::uint64_t state = seed;
  for (int i = 0; i < 2; ++i) {
    state ^= state >> 33;
    state *= 0xff51afd7ed558ccdULL;
    state ^= state >> 33;
    state *= 0xc4ceb9fe1a85ec53ULL;
    state ^= state >> 33;
  }
  for (std::uint64_t done = 0; done < size; done += kPiece) {
    for (std::uint64_t& word : block) {
      std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
    const std::uint64_t n = std::min(kPiece, size - done);
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
  }
}

// The sizes of the packs under a folder store's blobs/ (temporary files,
// whose names are not 64 hex digits, left out).
inline std::vector<std::uint64_t> FolderStorePackSizes(const std::filesystem::path& store) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  if (!std::filesystem::exists(store / "blobs", ec)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(store / "blobs")) {
    if (e.is_regular_file() && e.path().filename().string().size() == 64) {
      out.push_back(e.file_size());
    }
  }
  return out;
}

inline std::uint64_t Sum(const std::vector<std::uint64_t>& sizes) {
  return std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0});
}

inline std::uint64_t Largest(const std::vector<std::uint64_t>& sizes) {
  return sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
}

}  // namespace hx::testing
