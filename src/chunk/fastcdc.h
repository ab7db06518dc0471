// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016 and IEEE
// TPDS 2020), written for hx from the published description.
//
// hx splits every file into chunks whose boundaries depend on the content,
// so inserting a byte near the start of a large file changes one or two
// chunks and the rest deduplicate against what the store already has.
//
// The rule, for one chunk starting at byte 0 of `window`:
//  - The gear rolling hash fp = (fp << 1) + gear[b] (64-bit, wrapping) is
//    evaluated at every byte; after 64 steps a byte has shifted out, so fp at
//    byte i is a function of bytes i-63..i only. hx warms the hash up on the
//    64 bytes just before min_size, so this holds at every tested position
//    (a candidate is a property of the content, not of where the chunk began).
//  - Bytes before min_size are never tested (sub-minimum skipping).
//  - Normalized chunking: at positions i < avg_size the test is
//    (fp & mask_small) == 0, a mask with log2(avg)+level bits (harder); at
//    i >= avg_size it is (fp & mask_large) == 0 with log2(avg)-level bits.
//    This narrows the size distribution around avg_size.
//  - The first hit at byte i ends the chunk after that byte: length i+1.
//  - Without a hit the chunk is cut at max_size; at end of input the rest is
//    the last chunk (which may be shorter than min_size).
// Masks: ChunkerMask(n) spreads n one-bits evenly over bits 62..15 (the
// paper's "zero padding": high bits depend on a longer stretch of input, so
// cuts are less sensitive to short repeats). Bit 63 is left out so that the
// two-bytes-per-step loop, which tests fp << 1 against mask << 1, loses no
// bit. For the defaults (avg 1 MiB, level 2):
//   mask_small = ChunkerMask(22) = 0x5552aa5552aa0000
//   mask_large = ChunkerMask(18) = 0x5252525252520000
// (level 1 would use ChunkerMask(21) = 0x552a552a552a0000 and
// ChunkerMask(19) = 0x5294a5294a520000; fastcdc_test.cc pins these values).
//
// Thread-safety: a FastCdc is immutable after Create; FindCut may be called
// from any number of threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "chunk/gear_table.h"

namespace hx {

// The chunker's knobs. All sizes are in bytes. The defaults suit hx's unit of
// upload (one chunk = one object = one hash, one zstd frame, one AEAD seal):
// chunks near 1 MiB keep per-object overhead (ids in trees, index rows, pack
// index entries) small for large vaults while an edit still re-uploads only
// ~1 MiB. The parameters of a vault must be the same on every device, or
// chunks stop deduplicating across devices.
struct ChunkerOptions {
  // Expected chunk size. A power of two in [kMinAvgSize, kMaxAvgSize]. Change
  // it for vaults of mostly small, often-edited files (smaller) or for very
  // large media (larger).
  std::size_t avg_size = std::size_t{1} << 20;
  // No cut before this many bytes. At least kMinMinSize, less than avg_size.
  // avg/4: skipping saves hashing work (about a fifth of all bytes here)
  // while a boundary shifted by an edit still resynchronises within a chunk
  // or two; a larger minimum makes edits cascade over more chunks.
  std::size_t min_size = std::size_t{256} << 10;
  // Forced cut. Greater than avg_size, at most kMaxMaxSize. 4x avg: with
  // level 2 fewer than 1 chunk in 10^5 of random data reaches it, and it
  // bounds the memory of one chunk in flight (the stream buffers 2 x max).
  std::size_t max_size = std::size_t{4} << 20;
  // Normalized chunking level, 0..kMaxNormalizationLevel (0 = one mask).
  // Level 2, chosen over 1 by measurement (chunk_bench.cc,
  // BM_DedupAfterEdits: 64 MiB random data, random small edits, Default
  // table). At avg 1 MiB: mean size 1.21 MiB (level 1: 1.17), stddev 400 KiB
  // (483), expected upload per small edit E[L^2]/E[L] 1346 KiB (1369), and
  // level 1 has the max_size cut within reach (e^-6 = 0.25% of chunks; level
  // 2: e^-12); dedup after edits is equal within noise (71-72%). At avg 8 KiB
  // with 4,000 edits: 85.3% of bytes dedup against 83.3%. Speed is the same.
  // Level 3 did better still on random data (76%), but concentrates nearly
  // every cut just after avg_size, and published comparisons on real data
  // (github.com/melgenek/cdc-comparison) find level 2 dedups best; level 3
  // is left as an option.
  int normalization_level = 2;
};

inline constexpr std::size_t kMinMinSize = 64;  // the gear hash's window
inline constexpr std::size_t kMinAvgSize = std::size_t{1} << 8;
inline constexpr std::size_t kMaxAvgSize = std::size_t{1} << 24;
inline constexpr std::size_t kMaxMaxSize = std::size_t{1} << 26;
inline constexpr int kMaxNormalizationLevel = 3;

// OK if the options satisfy every constraint above; otherwise an Error with
// code KC_SYNC_INPUT_INVALID, category invalid_input, naming the field.
Status ValidateChunkerOptions(const ChunkerOptions& options);

// The cut mask with `bits` one-bits: bit 62 - floor(48 * t / bits) is set for
// t = 0..bits-1. Precondition: 1 <= bits <= 48.
std::uint64_t ChunkerMask(int bits);

// One chunk's extent within the input.
struct ChunkSpan {
  std::uint64_t offset = 0;
  std::size_t length = 0;
  friend bool operator==(const ChunkSpan&, const ChunkSpan&) = default;
};

class FastCdc {
 public:
  // A chunker with validated options and its own copy of `gear`. Fails with
  // the error of ValidateChunkerOptions.
  static Result<FastCdc> Create(const ChunkerOptions& options, const GearTable& gear);

  // The length of the chunk that starts at window[0]. Pure: the result
  // depends only on the bytes, `at_eof` and the configuration.
  //  - A hit within the window (or window.size() >= max_size) gives a length
  //    in [min_size + 1, max_size], whatever `at_eof` says.
  //  - Otherwise, if `at_eof` (the window holds all the remaining input), the
  //    whole window: window.size() (0 for an empty window: no chunk).
  //  - Otherwise 0: more input is needed to decide. Callers that pass at
  //    least max_size bytes whenever they are not at the end never see this.
  std::size_t FindCut(std::span<const std::uint8_t> window, bool at_eof) const;

  const ChunkerOptions& options() const { return options_; }
  std::uint64_t mask_small() const { return mask_small_; }
  std::uint64_t mask_large() const { return mask_large_; }

 private:
  FastCdc() = default;

  // Index of the first hit at a position in [begin, end), or end. Without a
  // hit, fp is advanced over the whole range (the next range continues it).
  std::size_t Scan(const std::uint8_t* data, std::size_t begin, std::size_t end,
                   std::uint64_t mask, std::uint64_t& fp) const;

  ChunkerOptions options_;
  std::uint64_t mask_small_ = 0;
  std::uint64_t mask_large_ = 0;
  std::array<std::uint64_t, GearTable::kEntries> gear_{};
  // gear_[b] << 1, for the even byte of the two-bytes-per-step loop.
  std::array<std::uint64_t, GearTable::kEntries> gear_shifted_{};
};

// Every chunk of an in-memory input, in order. The lengths sum to
// data.size(); empty input gives no chunks. For small inputs and tests; large
// files go through ChunkStream, which never holds more than 2 x max_size.
std::vector<ChunkSpan> SplitIntoChunks(const FastCdc& cdc, std::span<const std::uint8_t> data);

}  // namespace hx
