#include "compress/zstd.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace hx {
namespace {

// The first four bytes of every zstd frame (RFC 8878 section 3.1.1), little
// endian 0xFD2FB528. Checked by hand so that skippable frames, which zstd
// would silently skip, are refused like any other foreign bytes.
constexpr std::array<std::uint8_t, 4> kZstdMagic = {0x28, 0xb5, 0x2f, 0xfd};

// zstd's default streaming window limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, which
// zstd.h only exposes to static linking): 2^27 = 128 MiB.
constexpr int kMaxWindowLog = 27;

// First output buffer for frames that do not declare their size.
constexpr std::size_t kUnknownSizeFirstGuess = 64 * 1024;

Error CorruptFrame(std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt, std::move(message));
}

Error CorruptFrame(std::string message, std::size_t zstd_code) {
  return CorruptFrame(std::move(message)).With("zstd_error", ZSTD_getErrorName(zstd_code));
}

Error OverBound(std::size_t max_output) {
  return CorruptFrame("zstd frame decompresses to more than the limit of " +
                      std::to_string(max_output) + " bytes")
      .With("max_output", std::to_string(max_output));
}

bool IsDstTooSmall(std::size_t code) {
  return ZSTD_isError(code) && ZSTD_getErrorCode(code) == ZSTD_error_dstSize_tooSmall;
}

// The streaming decoder keeps a window buffer of the frame's window size (or
// its content size if smaller). Limit it to the bound rounded up to a power
// of two, so that a frame cannot make us hold more than ~2x the output we
// are willing to produce; but never below 2^21 (2 MiB), the window zstd's
// levels 1-3 choose for streams of unknown length, so that legitimate small
// streamed frames are not refused. Capped at zstd's default limit (128 MiB).
int WindowLogLimit(std::size_t max_output) {
  int log = 0;
  while (log < 63 && (std::uint64_t{1} << log) < max_output) ++log;
  return std::clamp(log, 21, kMaxWindowLog);
}

struct CCtxFree {
  void operator()(ZSTD_CCtx* cctx) const { ZSTD_freeCCtx(cctx); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
};

// One context of each kind per thread: creating a compression context costs
// an allocation of up to a few MiB of tables, which would dominate the cost
// of compressing a small object.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  return cctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  return dctx.get();
}

Status CheckLevel(int level) {
  if (level < ZstdMinLevel() || level > kZstdMaxLevel || level == 0) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "zstd level " + std::to_string(level) + " is outside [" +
                            std::to_string(ZstdMinLevel()) + ", " +
                            std::to_string(kZstdMaxLevel) + "] (0 is not a level)");
  }
  return OkStatus();
}

// Sets the parameters every hx frame uses. Level 0 would mean "zstd's
// default" and is refused by CheckLevel so a level always means one thing.
Status ConfigureCCtx(ZSTD_CCtx* cctx, int level) {
  const std::size_t results[] = {
      ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters),
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level),
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0),
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1),
  };
  for (std::size_t r : results) {
    if (ZSTD_isError(r)) return InternalError(std::string("zstd: ") + ZSTD_getErrorName(r));
  }
  return OkStatus();
}

// Checks that `input` is exactly one complete zstd frame (not skippable, no
// trailing bytes) by walking its block headers, which costs no decoding.
Status CheckSingleFrame(std::span<const std::uint8_t> input) {
  if (input.size() < kZstdMagic.size() ||
      !std::equal(kZstdMagic.begin(), kZstdMagic.end(), input.begin())) {
    return CorruptFrame("not a zstd frame (bad magic number)");
  }
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(input.data(), input.size());
  if (ZSTD_isError(frame_size)) {
    return CorruptFrame("malformed or truncated zstd frame", frame_size);
  }
  if (frame_size != input.size()) {
    return CorruptFrame("unexpected bytes after the end of the zstd frame")
        .With("trailing_bytes", std::to_string(input.size() - frame_size));
  }
  return OkStatus();
}

}  // namespace

int ZstdMinLevel() { return ZSTD_minCLevel(); }

Result<std::vector<std::uint8_t>> ZstdCompress(std::span<const std::uint8_t> input, int level) {
  HX_RETURN_IF_ERROR(CheckLevel(level));
  ZSTD_CCtx* cctx = ThreadCCtx();
  if (cctx == nullptr) return InternalError("zstd: cannot allocate a compression context");
  HX_RETURN_IF_ERROR(ConfigureCCtx(cctx, level));
  std::vector<std::uint8_t> out(ZSTD_compressBound(input.size()));
  const std::size_t n =
      ZSTD_compress2(cctx, out.data(), out.size(), input.data(), input.size());
  if (ZSTD_isError(n)) return InternalError(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::vector<std::uint8_t>> ZstdDecompress(std::span<const std::uint8_t> input,
                                                 std::size_t max_output) {
  HX_RETURN_IF_ERROR(CheckSingleFrame(input));
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return InternalError("zstd: cannot allocate a decompression context");
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);

  const unsigned long long declared = ZSTD_getFrameContentSize(input.data(), input.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return CorruptFrame("malformed zstd frame header");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (declared > max_output) {
      return OverBound(max_output).With("declared_size", std::to_string(declared));
    }
    // The declared size is now known to be within the bound, so it is safe to
    // allocate; one-shot decoding needs no window buffer.
    std::vector<std::uint8_t> out(static_cast<std::size_t>(declared));
    std::uint8_t dummy = 0;
    std::uint8_t* dst = out.empty() ? &dummy : out.data();
    const std::size_t n = ZSTD_decompressDCtx(dctx, dst, out.size(), input.data(), input.size());
    if (ZSTD_isError(n)) return CorruptFrame("corrupt zstd frame", n);
    if (n != out.size()) return CorruptFrame("zstd frame content does not match its declared size");
    return out;
  }

  // No declared size (a streamed frame): decode one-shot into a buffer that
  // doubles up to the bound. Re-decoding on each doubling costs at most 2x
  // the output work, in exchange for never holding more than the bound and
  // never needing a window buffer. hx itself always writes declared sizes.
  std::size_t capacity = std::min(max_output, std::max(kUnknownSizeFirstGuess, input.size() * 4));
  while (true) {
    std::vector<std::uint8_t> out(capacity);
    std::uint8_t dummy = 0;
    std::uint8_t* dst = out.empty() ? &dummy : out.data();
    const std::size_t n = ZSTD_decompressDCtx(dctx, dst, out.size(), input.data(), input.size());
    if (!ZSTD_isError(n)) {
      out.resize(n);
      out.shrink_to_fit();
      return out;
    }
    if (!IsDstTooSmall(n)) return CorruptFrame("corrupt zstd frame", n);
    if (capacity >= max_output) return OverBound(max_output);
    capacity = capacity > max_output / 2 ? max_output : capacity * 2;
  }
}

// ---------------------------------------------------------------------------
// ZstdCompressStream

void ZstdCompressStream::CCtxDeleter::operator()(ZSTD_CCtx_s* cctx) const { ZSTD_freeCCtx(cctx); }

ZstdCompressStream::ZstdCompressStream(std::unique_ptr<ZSTD_CCtx_s, CCtxDeleter> cctx)
    : cctx_(std::move(cctx)) {}
ZstdCompressStream::ZstdCompressStream(ZstdCompressStream&&) noexcept = default;
ZstdCompressStream& ZstdCompressStream::operator=(ZstdCompressStream&&) noexcept = default;
ZstdCompressStream::~ZstdCompressStream() = default;

Result<ZstdCompressStream> ZstdCompressStream::Create(int level,
                                                      std::optional<std::uint64_t> pledged_size) {
  HX_RETURN_IF_ERROR(CheckLevel(level));
  std::unique_ptr<ZSTD_CCtx_s, CCtxDeleter> cctx(ZSTD_createCCtx());
  if (cctx == nullptr) return InternalError("zstd: cannot allocate a compression context");
  HX_RETURN_IF_ERROR(ConfigureCCtx(cctx.get(), level));
  if (pledged_size.has_value()) {
    const std::size_t r = ZSTD_CCtx_setPledgedSrcSize(cctx.get(), *pledged_size);
    if (ZSTD_isError(r)) return InternalError(std::string("zstd: ") + ZSTD_getErrorName(r));
  }
  return ZstdCompressStream(std::move(cctx));
}

Status ZstdCompressStream::Update(std::span<const std::uint8_t> input,
                                  std::vector<std::uint8_t>& out) {
  if (finished_ || failed_) return InternalError("ZstdCompressStream used after Finish or failure");
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  const std::size_t step = ZSTD_CStreamOutSize();
  while (in.pos < in.size) {
    const std::size_t old_size = out.size();
    out.resize(old_size + step);
    ZSTD_outBuffer o{out.data() + old_size, step, 0};
    const std::size_t r = ZSTD_compressStream2(cctx_.get(), &o, &in, ZSTD_e_continue);
    out.resize(old_size + o.pos);
    if (ZSTD_isError(r)) {
      failed_ = true;
      return InvalidInput(SyncCode::kInputInvalid,
                          std::string("zstd compression failed: ") + ZSTD_getErrorName(r));
    }
  }
  return OkStatus();
}

Status ZstdCompressStream::Finish(std::vector<std::uint8_t>& out) {
  if (finished_ || failed_) return InternalError("ZstdCompressStream used after Finish or failure");
  finished_ = true;
  ZSTD_inBuffer in{nullptr, 0, 0};
  const std::size_t step = ZSTD_CStreamOutSize();
  while (true) {
    const std::size_t old_size = out.size();
    out.resize(old_size + step);
    ZSTD_outBuffer o{out.data() + old_size, step, 0};
    const std::size_t remaining = ZSTD_compressStream2(cctx_.get(), &o, &in, ZSTD_e_end);
    out.resize(old_size + o.pos);
    if (ZSTD_isError(remaining)) {
      failed_ = true;
      // The only input-dependent failure here is a pledged size not met.
      return InvalidInput(SyncCode::kInputInvalid,
                          std::string("zstd compression failed: ") + ZSTD_getErrorName(remaining));
    }
    if (remaining == 0) return OkStatus();
  }
}

// ---------------------------------------------------------------------------
// ZstdDecompressStream

void ZstdDecompressStream::DCtxDeleter::operator()(ZSTD_DCtx_s* dctx) const {
  ZSTD_freeDCtx(dctx);
}

ZstdDecompressStream::ZstdDecompressStream(std::unique_ptr<ZSTD_DCtx_s, DCtxDeleter> dctx,
                                           std::size_t max_output)
    : dctx_(std::move(dctx)), max_output_(max_output) {}
ZstdDecompressStream::ZstdDecompressStream(ZstdDecompressStream&&) noexcept = default;
ZstdDecompressStream& ZstdDecompressStream::operator=(ZstdDecompressStream&&) noexcept = default;
ZstdDecompressStream::~ZstdDecompressStream() = default;

Result<ZstdDecompressStream> ZstdDecompressStream::Create(std::size_t max_output) {
  std::unique_ptr<ZSTD_DCtx_s, DCtxDeleter> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) return InternalError("zstd: cannot allocate a decompression context");
  const std::size_t r =
      ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, WindowLogLimit(max_output));
  if (ZSTD_isError(r)) return InternalError(std::string("zstd: ") + ZSTD_getErrorName(r));
  return ZstdDecompressStream(std::move(dctx), max_output);
}

std::size_t ZstdDecompressStream::ContextMemory() const { return ZSTD_sizeof_DCtx(dctx_.get()); }

Status ZstdDecompressStream::Fail(Error error) {
  error_ = error;
  return error;
}

Status ZstdDecompressStream::Update(std::span<const std::uint8_t> input,
                                    std::vector<std::uint8_t>& out) {
  if (error_.has_value()) return *error_;
  if (input.empty()) return OkStatus();
  if (frame_complete_) return Fail(CorruptFrame("unexpected bytes after the end of the zstd frame"));

  // Look at the frame header ourselves before zstd sees it: the magic number
  // (zstd would skip a skippable frame and accept the next one), and the
  // declared content size, refused early if above the bound and compared
  // with the actual size at the end (zstd 1.5.4's streaming decoder accepts
  // a frame that declares more bytes than its blocks hold).
  if (header_size_ < header_.size()) {
    const std::size_t n = std::min(header_.size() - header_size_, input.size());
    std::copy(input.begin(), input.begin() + n, header_.begin() + header_size_);
    header_size_ += n;
    const std::size_t magic = std::min(header_size_, kZstdMagic.size());
    if (!std::equal(kZstdMagic.begin(), kZstdMagic.begin() + magic, header_.begin())) {
      return Fail(CorruptFrame("not a zstd frame (bad magic number)"));
    }
    // ERROR here means "header incomplete" until all 18 bytes are in; zstd
    // itself rejects a malformed header.
    const unsigned long long declared = ZSTD_getFrameContentSize(header_.data(), header_size_);
    if (declared != ZSTD_CONTENTSIZE_ERROR && declared != ZSTD_CONTENTSIZE_UNKNOWN &&
        declared > max_output_) {
      return Fail(OverBound(max_output_).With("declared_size", std::to_string(declared)));
    }
  }

  const std::size_t step = ZSTD_DStreamOutSize();
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  // Keep calling while there is input, or while the last call filled its
  // output buffer (zstd may hold more decoded bytes to flush).
  bool output_full = false;
  while (in.pos < in.size || output_full) {
    const std::size_t room = max_output_ - total_out_;
    std::uint8_t probe = 0;
    ZSTD_outBuffer o{};
    const std::size_t old_size = out.size();
    if (room == 0) {
      // At the bound: any further output byte is a violation, detected with
      // a one-byte probe rather than by growing `out`.
      o = {&probe, 1, 0};
    } else {
      const std::size_t want = std::min(step, room);
      if (out.capacity() < old_size + want) {
        // Grow geometrically but never past what the bound still allows.
        out.reserve(std::min(old_size + room, std::max(old_size + want, out.capacity() * 2)));
      }
      out.resize(old_size + want);
      o = {out.data() + old_size, want, 0};
    }
    const std::size_t in_before = in.pos;
    const std::size_t r = ZSTD_decompressStream(dctx_.get(), &o, &in);
    if (room != 0) out.resize(old_size + o.pos);
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge) {
        return Fail(CorruptFrame("zstd frame needs a window larger than its output limit", r));
      }
      return Fail(CorruptFrame("corrupt zstd frame", r));
    }
    if (room == 0 && o.pos > 0) return Fail(OverBound(max_output_));
    total_out_ += o.pos;
    output_full = o.pos == o.size;
    if (r == 0) {
      // The frame is complete and fully flushed.
      frame_complete_ = true;
      // The whole header has been seen by now, so this cannot be ERROR.
      const unsigned long long declared = ZSTD_getFrameContentSize(header_.data(), header_size_);
      if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != total_out_) {
        return Fail(CorruptFrame("zstd frame content does not match its declared size"));
      }
      if (in.pos < in.size) {
        return Fail(CorruptFrame("unexpected bytes after the end of the zstd frame"));
      }
      return OkStatus();
    }
    if (in_before < in.size && in.pos == in_before && o.pos == 0) {
      // Given input and room, zstd always consumes or produces something;
      // this guards the loop against a library bug turning into a hang.
      return Fail(InternalError("zstd made no progress"));
    }
  }
  return OkStatus();
}

Status ZstdDecompressStream::Finish() {
  if (error_.has_value()) return *error_;
  if (!frame_complete_) return Fail(CorruptFrame("truncated zstd frame"));
  return OkStatus();
}

}  // namespace hx
