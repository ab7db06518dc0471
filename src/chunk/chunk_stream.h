// Streaming FastCDC over any byte source, with a bounded buffer.
//
// A push reads each changed file once, front to back, and hands every chunk
// to the next stage (hash, compress, seal). ChunkStream pulls bytes through a
// read callback into a buffer of at most 2 x max_size bytes (grown on demand
// from 64 KiB, so small files stay cheap) and yields the chunks one by one as
// views into that buffer. The cut points are exactly those of
// SplitIntoChunks over the whole input, whatever sizes the reads return.
//
//   ChunkStream stream(cdc, FdReader(fd));
//   while (true) {
//     HX_ASSIGN_OR_RETURN(std::optional<Chunk> chunk, stream.Next());
//     if (!chunk) break;  // end of input
//     Consume(chunk->offset, chunk->data);  // copy if it must outlive Next()
//   }
//
// Thread-safety: a ChunkStream is not thread-safe; use one per thread (it is
// cheap to Reset() for the next file and keeps its buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "base/error.h"
#include "chunk/fastcdc.h"

namespace hx {

// Reads up to buffer.size() bytes (buffer.size() > 0) into the front of
// `buffer` and returns how many it wrote; 0 means end of input. Short reads
// are fine. An Error is passed on unchanged to the caller of Next().
using ReadFn = std::function<Result<std::size_t>(std::span<std::uint8_t> buffer)>;

// A ReadFn over a file descriptor (read(2), retried on EINTR). Does not take
// ownership: `fd` must stay open while the ReadFn is used. A failed read is
// KC_SYNC_STATE_FAILED, category io, with details {errno, error}.
ReadFn FdReader(int fd);

// One chunk of the input.
struct Chunk {
  std::uint64_t offset = 0;  // of its first byte in the input
  // Its bytes; valid until the next call to Next() or Reset(), or until the
  // stream is destroyed.
  std::span<const std::uint8_t> data;
};

class ChunkStream {
 public:
  // Borrows `cdc`, which must outlive the stream.
  ChunkStream(const FastCdc& cdc, ReadFn read);

  ChunkStream(const ChunkStream&) = delete;
  ChunkStream& operator=(const ChunkStream&) = delete;
  ChunkStream(ChunkStream&&) = default;
  ChunkStream& operator=(ChunkStream&&) = default;

  // The next chunk, nullopt at the end of input (and on every later call), or
  // the error of a failed read. After an error the stream returns that same
  // error on every call until Reset(). A read callback that claims more bytes
  // than it was offered is a bug: KC_SYNC_INTERNAL.
  Result<std::optional<Chunk>> Next();

  // Starts over on a new input, keeping the buffer.
  void Reset(ReadFn read);

  // Bytes returned as chunks so far (the offset of the next chunk).
  std::uint64_t offset() const { return offset_; }
  // The buffer's current capacity (never above 2 x max_size).
  std::size_t buffer_capacity() const { return capacity_; }

 private:
  // Makes the buffer hold at least max_size unconsumed bytes, or all that is
  // left of the input.
  Status Fill();
  void Grow();

  const FastCdc* cdc_;
  ReadFn read_;
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last byte read
  bool eof_ = false;
  std::uint64_t offset_ = 0;
  std::optional<Error> error_;
};

}  // namespace hx
