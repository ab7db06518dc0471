// Bounded zstd compression for hx objects.
//
// hx compresses every object (file chunk, tree, snapshot body) before it is
// encrypted. Compression is the one place where a few bytes from the store
// can ask for a lot of memory (a "zstd bomb": 1 GiB of zeros compresses to
// ~40 KiB), so every decompressor here takes a hard output bound and never
// allocates from the frame's own claims:
//
//   - ZstdDecompress() refuses, with Category::kCorrupt, anything that is not
//     exactly one complete zstd frame: a wrong magic number (this includes
//     skippable frames), malformed or truncated blocks, bytes after the frame,
//     a declared content size above the bound, and actual output above the
//     bound. It allocates at most `max_output` bytes for output plus zstd's
//     fixed decoding context (~100 KiB); a declared size is used for
//     allocation only after it has been checked against the bound.
//   - ZstdDecompressStream applies the same rules to input that arrives in
//     pieces; a declared size above the bound is refused as soon as the
//     frame header is complete, before zstd allocates anything for it. Its
//     window buffer is capped (see WindowLogLimit in zstd.cc): at most
//     max(2 MiB, the bound rounded up to a power of two).
//   The two decoders return the same bytes for every frame both accept, and
//   both accept every frame hx writes. On malformed frames they may differ
//   in whether they refuse (zstd's streaming decoder skips empty compressed
//   blocks that its one-shot decoder refuses; the stream also caps the
//   window); objects are authenticated before they are decompressed, so
//   such frames never reach them from a store.
//
// Format: one standard zstd frame (RFC 8878), no dictionary, no checksum
// (objects are authenticated by the AEAD, so zstd's XXH64 would only cost
// time and 4 bytes). ZstdCompress() always records the content size in the
// frame header. Frames are deterministic for a given zstd version and level
// (hx pins zstd 1.5.4 in its golden tests); a different zstd version may
// produce different (still compatible) bytes, which changes object bytes but
// not object ids (ids are computed from the plaintext).
//
// Incompressible data: zstd stores incompressible blocks raw, so a frame is
// at most a few bytes per 128 KiB block larger than its input. This module
// has no "stored" marker of its own: the caller (the object format) compares
// sizes and stores the raw bytes with its own flag when compression does not
// pay, because it already has a kind/flags byte to spend.
//
// Thread-safety: the free functions are thread-safe (each thread reuses its
// own zstd contexts). A ZstdCompressStream or ZstdDecompressStream is owned
// by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace hx {

// Level 1, chosen by measurement on the reference machine (2-core EPYC,
// zstd 1.5.4, Release; hx_bench --benchmark_filter=Zstd and `zstd -b` on
// 7.3 MB of C headers): level 3 compresses text only ~10% smaller (ratio
// 5.4 vs 4.9 on the headers, 3.46 vs 3.33 on the benchmark's text) but runs
// ~1.6x slower (~200 vs ~310-350 MB/s per core). Compression is the slowest
// stage of a first push (BLAKE3 and the AEAD run at 4+ GB/s), so the faster
// level wins; incompressible data costs almost nothing at either level
// (zstd passes it through at 5-8 GB/s of CPU).
inline constexpr int kZstdDefaultLevel = 1;

// The levels ZstdCompress accepts: zstd's negative "fast" levels up to 19.
// (Levels 20-22 need windows of up to 128 MiB to decompress; hx never wants
// them, and refusing them keeps every hx frame cheap to decode.)
int ZstdMinLevel();
inline constexpr int kZstdMaxLevel = 19;

// Compresses `input` into one zstd frame that records the content size.
// Fails (Category::kInvalidInput) only for a level outside
// [ZstdMinLevel(), kZstdMaxLevel]; an allocation failure inside zstd is
// Category::kInternal.
Result<std::vector<std::uint8_t>> ZstdCompress(std::span<const std::uint8_t> input,
                                               int level = kZstdDefaultLevel);

// Decompresses exactly one zstd frame whose content is at most `max_output`
// bytes. See the header comment for what is refused; every refusal is
// Category::kCorrupt with SyncCode::kStateFailed (callers remap the code to
// their context) and never returns partial output.
Result<std::vector<std::uint8_t>> ZstdDecompress(std::span<const std::uint8_t> input,
                                                 std::size_t max_output);

// Streaming compression of one frame whose input arrives in pieces.
// If the total size is known, pass it as `pledged_size`: the frame then
// records it (so it decodes with the cheap one-shot path and a window no
// larger than the content) and Finish() fails if the total differs.
class ZstdCompressStream {
 public:
  static Result<ZstdCompressStream> Create(int level = kZstdDefaultLevel,
                                           std::optional<std::uint64_t> pledged_size = {});
  ZstdCompressStream(ZstdCompressStream&&) noexcept;
  ZstdCompressStream& operator=(ZstdCompressStream&&) noexcept;
  ~ZstdCompressStream();

  // Compresses `input`, appending whatever compressed bytes are ready to
  // `out`. Fails after Finish() or after an earlier failure.
  Status Update(std::span<const std::uint8_t> input, std::vector<std::uint8_t>& out);
  // Ends the frame, appending the remaining bytes to `out`. Fails if a
  // pledged size was not met. After Finish() the stream is spent.
  Status Finish(std::vector<std::uint8_t>& out);

 private:
  struct CCtxDeleter {
    void operator()(ZSTD_CCtx_s* cctx) const;
  };
  explicit ZstdCompressStream(std::unique_ptr<ZSTD_CCtx_s, CCtxDeleter> cctx);

  std::unique_ptr<ZSTD_CCtx_s, CCtxDeleter> cctx_;
  bool finished_ = false;
  bool failed_ = false;
};

// Streaming decompression of exactly one frame with an output bound. Feed
// the frame in pieces of any size with Update(), then call Finish().
class ZstdDecompressStream {
 public:
  // Fails only if zstd cannot allocate its context (Category::kInternal).
  static Result<ZstdDecompressStream> Create(std::size_t max_output);
  ZstdDecompressStream(ZstdDecompressStream&&) noexcept;
  ZstdDecompressStream& operator=(ZstdDecompressStream&&) noexcept;
  ~ZstdDecompressStream();

  // Decodes `input`, appending the output to `out`. Fails (kCorrupt) on a
  // malformed frame, on output beyond the bound, and on any byte after the
  // end of the frame; once failed, every later call returns the same error.
  // `out` grows by at most the bound over the life of the stream (its
  // capacity is grown in steps capped by the bound, not by doubling).
  Status Update(std::span<const std::uint8_t> input, std::vector<std::uint8_t>& out);
  // Succeeds only if a complete frame was decoded (else: truncated).
  Status Finish();

  bool frame_complete() const { return frame_complete_; }
  std::uint64_t total_out() const { return total_out_; }
  // Bytes zstd currently holds for this stream (context + window buffer);
  // tests use it to check the window cap.
  std::size_t ContextMemory() const;

 private:
  struct DCtxDeleter {
    void operator()(ZSTD_DCtx_s* dctx) const;
  };
  ZstdDecompressStream(std::unique_ptr<ZSTD_DCtx_s, DCtxDeleter> dctx, std::size_t max_output);
  Status Fail(Error error);

  std::unique_ptr<ZSTD_DCtx_s, DCtxDeleter> dctx_;
  std::size_t max_output_ = 0;
  std::uint64_t total_out_ = 0;
  // The first bytes of the frame (a header is at most 18 bytes), kept to
  // check the magic number and the declared content size ourselves.
  std::array<std::uint8_t, 18> header_{};
  std::size_t header_size_ = 0;
  bool frame_complete_ = false;
  std::optional<Error> error_;
};

}  // namespace hx
