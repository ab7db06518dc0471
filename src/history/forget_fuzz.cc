// Fuzzes the forget record decoder (forgets/<id>.json comes from other
// devices and may be hostile) and the retention duration parser. The first
// byte selects the target; the rest is the input:
//   0 a forget record stored under the key its bytes hash to (so that the
//     fuzzer gets past the name check into the JSON, the fields and the MAC)
//   1 a forget record under a fixed, wrong key
//   2 a --keep-within duration ("1y2m3d4h")
// Every input must give a value or an error, never a crash; a record's
// errors are KC_SYNC_STATE_FAILED with category corrupt or unsupported
// (never internal); a record that decodes encodes back to exactly its bytes;
// a duration is never negative (no overflow).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "base/hex.h"
#include "hash/blake3.h"
#include "history/forget.h"
#include "meta/meta_test_util.h"

namespace {

std::string KeyFor(std::span<const std::uint8_t> bytes) {
  hx::Blake3Hasher hasher;
  hasher.Update(bytes);
  hx::Blake3Digest digest;
  hasher.Finalize(digest);
  return std::string(hx::kForgetPrefix) + hx::ToHex(digest) + ".json";
}

void CheckRecord(const hx::VaultContext& ctx, std::string_view key,
                 std::span<const std::uint8_t> bytes) {
  hx::Result<hx::ForgetRecord> record = hx::DecodeForgetRecord(ctx, key, bytes);
  if (!record.ok()) {
    const hx::Error& e = record.error();
    if (e.code != hx::SyncCode::kStateFailed ||
        (e.category != hx::Category::kCorrupt && e.category != hx::Category::kUnsupported)) {
      std::abort();
    }
    return;
  }
  hx::Result<hx::EncodedForget> again = hx::EncodeForgetRecord(ctx, *record);
  if (!again.ok() || again->key != key ||
      std::string_view(reinterpret_cast<const char*>(again->bytes.data()), again->bytes.size()) !=
          std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const hx::VaultContext ctx = hx::TestContext();
  const std::span<const std::uint8_t> input(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckRecord(ctx, KeyFor(input), input);
      break;
    case 1:
      CheckRecord(ctx, "forgets/not-this-one.json", input);
      break;
    case 2: {
      const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
      if (const std::optional<std::int64_t> ms = hx::ParseRetentionDuration(text); ms && *ms < 0) {
        std::abort();
      }
      break;
    }
  }
  return 0;
}
