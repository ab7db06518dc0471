// Fuzzes the AWS credentials/config file parser with arbitrary bytes.
// Contract checked: no crash; a failure is KC_SYNC_INPUT_INVALID naming a
// line, and its message and details never contain the file's bytes (which
// may hold secrets); an accepted file has trimmed, lowercase keys.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/s3/credentials.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = hx::s3::ParseAwsIni(input, "credentials");
  if (!parsed.ok()) {
    Check(parsed.error().code == hx::SyncCode::kInputInvalid);
    Check(parsed.error().details.count("line") == 1);
    const std::string json = parsed.error().ToJson();
    Check(!json.empty());
    // The message is built from the path, a line number and fixed words.
    for (const char c : parsed.error().message) Check(c >= 0x20 && c < 0x7f);
    return 0;
  }
  for (const auto& [section, keys] : *parsed) {
    for (const auto& [key, value] : keys) {
      for (const char c : key) Check(!(c >= 'A' && c <= 'Z'));
      Check(value.empty() || (value.front() != ' ' && value.back() != ' '));
    }
  }
  return 0;
}
