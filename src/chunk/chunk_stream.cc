#include "chunk/chunk_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace hx {
namespace {

// Small enough that chunking a tiny file costs a tiny allocation; the buffer
// doubles from here up to 2 x max_size as the input proves long.
constexpr std::size_t kInitialCapacity = std::size_t{64} << 10;

}  // namespace

ReadFn FdReader(int fd) {
  return [fd](std::span<std::uint8_t> buffer) -> Result<std::size_t> {
    while (true) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n >= 0) {
        return static_cast<std::size_t>(n);
      }
      if (errno == EINTR) {
        continue;
      }
      const int error = errno;
      return Error(SyncCode::kStateFailed, Category::kIo,
                   std::string("reading a file failed: ") + std::strerror(error))
          .With("errno", std::to_string(error))
          .With("error", std::strerror(error));
    }
  };
}

ChunkStream::ChunkStream(const FastCdc& cdc, ReadFn read) : cdc_(&cdc), read_(std::move(read)) {}

void ChunkStream::Reset(ReadFn read) {
  read_ = std::move(read);
  begin_ = 0;
  end_ = 0;
  eof_ = false;
  offset_ = 0;
  error_.reset();
}

void ChunkStream::Grow() {
  const std::size_t limit = 2 * cdc_->options().max_size;
  const std::size_t capacity =
      capacity_ == 0 ? std::min(kInitialCapacity, limit) : std::min(2 * capacity_, limit);
  // for_overwrite: no zero-fill, so a large buffer costs no page touches
  // until the bytes are actually read into it.
  auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
  if (end_ > begin_) {
    std::memcpy(buffer.get(), buffer_.get() + begin_, end_ - begin_);
  }
  end_ -= begin_;
  begin_ = 0;
  buffer_ = std::move(buffer);
  capacity_ = capacity;
}

Status ChunkStream::Fill() {
  const std::size_t max_size = cdc_->options().max_size;
  if (eof_ || end_ - begin_ >= max_size) {
    return OkStatus();
  }
  // Compact only when the window [begin_, begin_ + max) no longer fits: with
  // a 2 x max buffer that happens once per >= max consumed bytes, and it
  // moves fewer than max bytes, so copying costs at most one pass.
  // While the buffer is below its final size, growing does the same move.
  if (capacity_ - begin_ < max_size) {
    if (capacity_ < 2 * max_size) {
      Grow();
    } else {
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
  }
  while (!eof_ && end_ - begin_ < max_size) {
    if (end_ == capacity_) {
      Grow();
    }
    const std::size_t room = capacity_ - end_;
    HX_ASSIGN_OR_RETURN(const std::size_t n, read_(std::span(buffer_.get() + end_, room)));
    if (n > room) {
      return InternalError("chunk stream: read callback returned " + std::to_string(n) +
                           " bytes for a buffer of " + std::to_string(room));
    }
    if (n == 0) {
      eof_ = true;
    }
    end_ += n;
  }
  return OkStatus();
}

Result<std::optional<Chunk>> ChunkStream::Next() {
  if (error_) {
    return *error_;
  }
  if (Status filled = Fill(); !filled.ok()) {
    error_ = filled.error();
    return std::move(filled).error();
  }
  const std::span<const std::uint8_t> window(buffer_.get() + begin_, end_ - begin_);
  // Fill() guarantees window.size() >= max_size unless at EOF, so FindCut
  // always decides (never returns 0 for a non-empty window).
  const std::size_t length = cdc_->FindCut(window, eof_);
  if (length == 0) {
    return std::optional<Chunk>();
  }
  Chunk chunk{offset_, window.first(length)};
  begin_ += length;
  offset_ += length;
  return std::optional<Chunk>(chunk);
}

}  // namespace hx
