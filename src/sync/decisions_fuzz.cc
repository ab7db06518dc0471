// Fuzzes ParseDecisions (the manual_per_item decisions file, untrusted user
// input): it never crashes or throws, every accepted file names only safe
// relative paths with one of the three choices, and parsing is a function of
// the bytes (a second parse gives the same decisions).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sync/resolve.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  hx::Result<hx::Decisions> first = hx::ParseDecisions(bytes);
  hx::Result<hx::Decisions> second = hx::ParseDecisions(bytes);
  Check(first.ok() == second.ok());
  if (!first.ok()) {
    Check(first.error().code == hx::SyncCode::kInputInvalid);
    return 0;
  }
  Check(*first == *second);
  for (const auto& [path, choice] : *first) {
    Check(!path.empty() && path.front() != '/' && path.back() != '/');
    Check(path.find("//") == std::string_view::npos);
    Check(path != ".." && !path.starts_with("../") && path.find("/../") == std::string_view::npos &&
          !path.ends_with("/.."));
    Check(choice == hx::ManualChoice::kLocal || choice == hx::ManualChoice::kRemote ||
          choice == hx::ManualChoice::kBoth);
  }
  return 0;
}
