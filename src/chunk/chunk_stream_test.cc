#include "chunk/chunk_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "chunk/chunk_test_util.h"

namespace hx {
namespace {

using testing::RandomBytes;
using testing::SplitMixGearTable;

constexpr std::size_t kKiB = std::size_t{1} << 10;

ChunkerOptions SmallOptions() {
  ChunkerOptions options;
  options.min_size = 2 * kKiB;
  options.avg_size = 8 * kKiB;
  options.max_size = 32 * kKiB;
  return options;
}

FastCdc MakeCdc(const ChunkerOptions& options) {
  Result<FastCdc> cdc = FastCdc::Create(options, SplitMixGearTable(99));
  EXPECT_TRUE(cdc.ok());
  return std::move(cdc).value();
}

// A ReadFn over memory whose i-th read returns at most sizes[i % n] bytes.
ReadFn MemoryReader(const std::vector<std::uint8_t>& data, std::vector<std::size_t> sizes) {
  return [&data, sizes = std::move(sizes), pos = std::size_t{0},
          call = std::size_t{0}](std::span<std::uint8_t> buffer) mutable -> Result<std::size_t> {
    const std::size_t want = sizes.empty() ? buffer.size() : sizes[call++ % sizes.size()];
    const std::size_t n = std::min({want, buffer.size(), data.size() - pos});
    if (n > 0) {  // memcpy from an empty vector's null data() is undefined
      std::memcpy(buffer.data(), data.data() + pos, n);
    }
    pos += n;
    return n;
  };
}

// Drains the stream, checking each chunk's bytes against `data`.
Result<std::vector<ChunkSpan>> Drain(ChunkStream& stream, const std::vector<std::uint8_t>& data) {
  std::vector<ChunkSpan> chunks;
  while (true) {
    HX_ASSIGN_OR_RETURN(std::optional<Chunk> chunk, stream.Next());
    if (!chunk) {
      return chunks;
    }
    EXPECT_LE(chunk->offset + chunk->data.size(), data.size());
    EXPECT_EQ(std::memcmp(chunk->data.data(), data.data() + chunk->offset, chunk->data.size()), 0)
        << "chunk at " << chunk->offset << " has the wrong bytes";
    chunks.push_back(ChunkSpan{chunk->offset, chunk->data.size()});
  }
}

TEST(ChunkStreamTest, EmptyInputGivesNoChunksAndStaysAtTheEnd) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  const std::vector<std::uint8_t> empty;
  ChunkStream stream(cdc, MemoryReader(empty, {}));
  for (int i = 0; i < 3; ++i) {
    Result<std::optional<Chunk>> next = stream.Next();
    ASSERT_TRUE(next.ok());
    EXPECT_FALSE(next->has_value());
  }
}

TEST(ChunkStreamTest, InputSmallerThanMinIsOneChunkInASmallBuffer) {
  const FastCdc cdc = MakeCdc(ChunkerOptions{});
  const std::vector<std::uint8_t> data = RandomBytes(1, 1000);
  ChunkStream stream(cdc, MemoryReader(data, {}));
  Result<std::vector<ChunkSpan>> chunks = Drain(stream, data);
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ(*chunks, (std::vector<ChunkSpan>{{0, 1000}}));
  EXPECT_LE(stream.buffer_capacity(), 64 * kKiB) << "a small file must not cost 2 x max_size";
}

TEST(ChunkStreamTest, MatchesTheOneShotSplitWithFullReads) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  const std::vector<std::uint8_t> data = RandomBytes(2, 3 * (1 << 20) + 17);
  ChunkStream stream(cdc, MemoryReader(data, {}));
  Result<std::vector<ChunkSpan>> chunks = Drain(stream, data);
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ(*chunks, SplitIntoChunks(cdc, data));
  EXPECT_EQ(stream.offset(), data.size());
  EXPECT_LE(stream.buffer_capacity(), 2 * SmallOptions().max_size);
}

RC_GTEST_PROP(ChunkStreamProperty, MatchesTheOneShotSplitForAnyReadSizes, ()) {
  ChunkerOptions options;
  options.avg_size = std::size_t{1} << *rc::gen::inRange(8, 12);
  options.min_size = *rc::gen::inRange<std::size_t>(kMinMinSize, options.avg_size);
  options.max_size = *rc::gen::inRange<std::size_t>(options.avg_size + 1, 4 * options.avg_size);
  const FastCdc cdc = MakeCdc(options);
  const std::vector<std::uint8_t> data =
      RandomBytes(*rc::gen::arbitrary<std::uint64_t>(),
                  *rc::gen::inRange<std::size_t>(0, 20 * options.max_size));
  // Read sizes from 1 byte up to more than the buffer ever offers.
  const std::vector<std::size_t> sizes = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::size_t>>(
      rc::gen::inRange<std::size_t>(1, 3 * options.max_size)));
  ChunkStream stream(cdc, MemoryReader(data, sizes));
  Result<std::vector<ChunkSpan>> chunks = Drain(stream, data);
  RC_ASSERT(chunks.ok());
  RC_ASSERT(*chunks == SplitIntoChunks(cdc, data));
  RC_ASSERT(stream.buffer_capacity() <= 2 * options.max_size);
}

TEST(ChunkStreamTest, ReadErrorIsReturnedAndSticky) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  const std::vector<std::uint8_t> data = RandomBytes(3, 1 << 20);
  std::size_t delivered = 0;
  ReadFn inner = MemoryReader(data, {4096});
  ChunkStream stream(cdc, [&](std::span<std::uint8_t> buffer) -> Result<std::size_t> {
    if (delivered >= 200 * kKiB) {
      return Error(SyncCode::kStateFailed, Category::kIo, "disk on fire");
    }
    HX_ASSIGN_OR_RETURN(std::size_t n, inner(buffer));
    delivered += n;
    return n;
  });
  // The chunks before the failure come out, then the error, then again.
  std::uint64_t chunked = 0;
  Result<std::optional<Chunk>> next = stream.Next();
  while (next.ok()) {
    ASSERT_TRUE(next->has_value()) << "the input must not look complete";
    chunked += (*next)->data.size();
    next = stream.Next();
  }
  EXPECT_GT(chunked, 0u);
  EXPECT_LT(chunked, data.size());
  EXPECT_EQ(next.error().message, "disk on fire");
  EXPECT_EQ(next.error().category, Category::kIo);
  Result<std::optional<Chunk>> again = stream.Next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), next.error());
}

TEST(ChunkStreamTest, ReaderClaimingMoreThanTheBufferIsAnInternalError) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  ChunkStream stream(cdc, [](std::span<std::uint8_t> buffer) -> Result<std::size_t> {
    return buffer.size() + 1;
  });
  Result<std::optional<Chunk>> next = stream.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, SyncCode::kInternal);
}

TEST(ChunkStreamTest, ResetStartsANewInputAndClearsAnError) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  ChunkStream stream(cdc, [](std::span<std::uint8_t>) -> Result<std::size_t> {
    return Error(SyncCode::kStateFailed, Category::kIo, "gone");
  });
  ASSERT_FALSE(stream.Next().ok());
  const std::vector<std::uint8_t> data = RandomBytes(4, 500 * kKiB);
  stream.Reset(MemoryReader(data, {1000}));
  Result<std::vector<ChunkSpan>> chunks = Drain(stream, data);
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ(*chunks, SplitIntoChunks(cdc, data));
}

class TempFile {
 public:
  explicit TempFile(const std::vector<std::uint8_t>& contents) {
    char path[] = "/tmp/hx_chunk_test_XXXXXX";
    fd_ = ::mkstemp(path);
    path_ = path;
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::write(fd_, contents.data(), contents.size()),
              static_cast<ssize_t>(contents.size()));
    EXPECT_EQ(::lseek(fd_, 0, SEEK_SET), 0);
  }
  ~TempFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string path_;
};

TEST(ChunkStreamTest, FdReaderStreamsAFile) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  const std::vector<std::uint8_t> data = RandomBytes(5, 2 * (1 << 20) + 3);
  TempFile file(data);
  ChunkStream stream(cdc, FdReader(file.fd()));
  Result<std::vector<ChunkSpan>> chunks = Drain(stream, data);
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ(*chunks, SplitIntoChunks(cdc, data));
}

TEST(ChunkStreamTest, FdReaderFailureIsAnIoError) {
  const FastCdc cdc = MakeCdc(SmallOptions());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  // Reading the write end of a pipe fails with EBADF.
  ChunkStream stream(cdc, FdReader(fds[1]));
  Result<std::optional<Chunk>> next = stream.Next();
  ::close(fds[1]);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(next.error().category, Category::kIo);
  EXPECT_EQ(next.error().details.at("errno"), std::to_string(EBADF));
}

}  // namespace
}  // namespace hx
