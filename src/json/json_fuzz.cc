// libFuzzer target: the strict reader on arbitrary bytes. Whatever it
// accepts must be writable, the canonical text must read back (canonically)
// as the same value, and nlohmann's own lenient parser must agree on the
// value. Any violation traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/canonical_json.h"
#include "json/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const hx::Result<nlohmann::json> parsed = hx::ParseJson(text);
  if (!parsed.ok()) {
    // Errors are well-formed: an offset inside (or at the end of) the input,
    // and a short message that is itself valid UTF-8 whatever the input was.
    const hx::Error& error = parsed.error();
    const auto it = error.details.find("offset");
    if (it == error.details.end() || std::stoull(it->second) > size) __builtin_trap();
    if (error.code != hx::SyncCode::kInputInvalid || hx::FindInvalidUtf8(error.message) ||
        error.message.size() > 300) {
      __builtin_trap();
    }
    return 0;
  }
  const hx::Result<std::string> canonical = hx::WriteCanonicalJson(*parsed);
  if (!canonical.ok()) __builtin_trap();
  const hx::Result<nlohmann::json> reparsed = hx::ParseCanonicalJson(*canonical);
  if (!reparsed.ok() || *reparsed != *parsed) __builtin_trap();
  // The canonical text is a fixed point.
  const hx::Result<std::string> again = hx::WriteCanonicalJson(*reparsed);
  if (!again.ok() || *again != *canonical) __builtin_trap();
  // An independent parser reads the input as the same value.
  const nlohmann::json lenient = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (lenient.is_discarded() || lenient != *parsed) __builtin_trap();
  return 0;
}
