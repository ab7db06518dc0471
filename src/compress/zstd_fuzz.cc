// Fuzzes the bounded decompressors with arbitrary bytes. Properties checked
// on every input: no crash, no output beyond the bound, the streaming
// decoder (fed in uneven pieces) and the one-shot decoder return the same
// bytes whenever both accept, and whatever decodes survives a
// compress/decompress round trip. (They may differ in *whether* they accept
// a malformed frame: zstd's streaming decoder tolerates empty compressed
// blocks that its one-shot decoder refuses, and the stream also caps the
// window; see zstd.h.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "compress/zstd.h"

namespace {

constexpr std::size_t kBound = 1 << 20;

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const auto one_shot = hx::ZstdDecompress(input, kBound);
  if (one_shot.ok()) Check(one_shot->size() <= kBound);

  auto stream = hx::ZstdDecompressStream::Create(kBound);
  Check(stream.ok());
  std::vector<std::uint8_t> streamed;
  hx::Status status;
  // Uneven pieces: 1, 2, 3, ... bytes, so every split pattern gets exercised.
  std::size_t pos = 0;
  for (std::size_t piece = 1; pos < size && status.ok(); ++piece) {
    const std::size_t n = piece < size - pos ? piece : size - pos;
    status = stream->Update(input.subspan(pos, n), streamed);
    pos += n;
  }
  if (status.ok()) status = stream->Finish();
  Check(streamed.size() <= kBound);
  if (status.ok() && one_shot.ok()) Check(*one_shot == streamed);

  if (one_shot.ok()) {
    const auto again = hx::ZstdCompress(*one_shot, 1);
    Check(again.ok());
    const auto back = hx::ZstdDecompress(*again, one_shot->size());
    Check(back.ok() && *back == *one_shot);
  }
  return 0;
}
