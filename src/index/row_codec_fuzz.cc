// Fuzzes the index's row decoders with arbitrary bytes (a damaged index
// file): they must fail cleanly or decode to values that re-encode and
// decode to the same values. The first byte picks the decoder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "index/row_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    hx::Result<std::vector<hx::ChunkRef>> chunks = hx::DecodeChunkList(bytes);
    if (chunks.ok()) {
      hx::Result<std::vector<hx::ChunkRef>> again =
          hx::DecodeChunkList(hx::EncodeChunkList(*chunks));
      if (!again.ok() || *again != *chunks) {
        std::abort();
      }
    }
  } else {
    hx::Result<hx::VersionVector> vv = hx::DecodeVersionVector(bytes);
    if (vv.ok()) {
      hx::Result<std::vector<std::uint8_t>> encoded = hx::EncodeVersionVector(*vv);
      if (!encoded.ok()) {
        std::abort();
      }
      hx::Result<hx::VersionVector> again = hx::DecodeVersionVector(*encoded);
      if (!again.ok() || !(*again == *vv)) {
        std::abort();
      }
    }
  }
  return 0;
}
