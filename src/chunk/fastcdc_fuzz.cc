// Fuzzes FastCdc::FindCut's invariants: for any options the fuzzer picks
// (validated first) and any bytes, the cut is within bounds, equals the
// byte-at-a-time reference, does not depend on bytes after it, and a split
// covers the input exactly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "chunk/chunk_test_util.h"
#include "chunk/fastcdc.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  // Header: avg bits (8..11), min, max, level, eof, gear seed.
  hx::ChunkerOptions options;
  options.avg_size = std::size_t{1} << (8 + data[0] % 4);
  options.min_size = 64 + (static_cast<std::size_t>(data[1]) << 4);
  options.max_size = options.avg_size + 1 + (static_cast<std::size_t>(data[2]) << 5);
  options.normalization_level = data[3] % 5;  // 4 is invalid on purpose
  const bool at_eof = data[4] & 1;
  const std::uint64_t seed = data[5] | (std::uint64_t{data[6]} << 8);
  const std::span<const std::uint8_t> input(data + 8, size - 8);

  const hx::GearTable gear = hx::testing::SplitMixGearTable(seed);
  hx::Result<hx::FastCdc> created = hx::FastCdc::Create(options, gear);
  Check(created.ok() == hx::ValidateChunkerOptions(options).ok());
  if (!created.ok()) {
    Check(created.error().code == hx::SyncCode::kInputInvalid);
    return 0;
  }
  const hx::FastCdc& cdc = *created;

  const std::size_t cut = cdc.FindCut(input, at_eof);
  Check(cut <= input.size());
  Check(cut <= options.max_size);
  Check(cut == hx::testing::ReferenceFindCut(input, at_eof, options, gear, cdc.mask_small(),
                                             cdc.mask_large()));
  if (cut > options.min_size) {
    // Decided by the bytes up to the cut alone (unless it is the EOF rest).
    Check(cdc.FindCut(input.first(cut), false) == cut || (at_eof && cut == input.size()));
    Check(cdc.FindCut(input.first(cut), true) == cut);
  } else {
    Check(cut == 0 || (at_eof && cut == input.size()));
  }
  std::size_t covered = 0;
  for (const hx::ChunkSpan& chunk : hx::SplitIntoChunks(cdc, input)) {
    Check(chunk.offset == covered && chunk.length > 0 && chunk.length <= options.max_size);
    covered += chunk.length;
    Check(covered == input.size() || chunk.length > options.min_size);
  }
  Check(covered == input.size());
  return 0;
}
