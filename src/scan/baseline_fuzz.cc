// Fuzzes the scan baseline parser (.hx/baseline is read back from disk, so
// it is untrusted bytes). The input is taken twice:
//   - as a whole file: it must be refused or parsed, never crash;
//   - as a file body, with the right checksum appended (random bytes never
//     pass the checksum, so this is what reaches the structure checks). If
//     it parses, the format is canonical: re-encoding what was parsed must
//     give the same bytes, and every directory must be found by its path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hash/blake3.h"
#include "scan/baseline.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)hx::ParseBaseline(input);

  std::string file(input);
  const hx::Blake3Digest sum = hx::Blake3Hash(input);
  file.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  hx::Result<hx::BaselineView> view = hx::ParseBaseline(file);
  if (!view.ok()) {
    return 0;
  }
  std::vector<std::pair<std::string, std::vector<hx::BaselineChild>>> dirs;
  for (const hx::BaselineView::Dir& dir : view->dirs()) {
    if (view->FindDir(dir.path) != &dir) {
      __builtin_trap();
    }
    std::vector<hx::BaselineChild> children = view->Children(dir);
    if (children.size() != dir.child_count) {
      __builtin_trap();
    }
    dirs.emplace_back(std::string(dir.path), std::move(children));
  }
  const std::string again = hx::EncodeBaselineFile(
      hx::MakeScanBaseline(view->ignore_digest(), std::move(dirs)), view->token());
  if (again != file) {
    __builtin_trap();
  }
  return 0;
}
