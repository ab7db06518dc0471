// libFuzzer target: the strict envelope reader on arbitrary bytes. It must
// never crash; whatever it accepts must encode canonically and read back as
// the same envelope; every error is KC_SYNC_INPUT_INVALID with a valid UTF-8
// message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "envelope/envelope.h"
#include "json/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const hx::Result<hx::Envelope> parsed = hx::ParseEnvelope(text);
  if (!parsed.ok()) {
    if (parsed.error().code != hx::SyncCode::kInputInvalid ||
        hx::FindInvalidUtf8(parsed.error().message)) {
      __builtin_trap();
    }
    return 0;
  }
  for (const hx::EnvelopeItem& item : parsed->items) {
    if (!hx::IsValidItemId(item.item_id) || !hx::IsValidUtc(item.updated_utc)) __builtin_trap();
    (void)hx::VerifyContentHash(item);
  }
  const hx::Result<std::string> encoded = hx::EncodeEnvelope(*parsed);
  if (!encoded.ok()) return 0;  // may exceed the size bound after re-encoding escapes
  const hx::Result<hx::Envelope> again = hx::ParseEnvelope(*encoded);
  if (!again.ok() || !(*again == *parsed)) __builtin_trap();
  return 0;
}
