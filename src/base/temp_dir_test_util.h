// For tests: a fresh folder under the system's temporary directory, removed
// with everything in it when the object goes. Header-only, so any test
// binary can use it without a link dependency.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace hx::testing {

class TempDir {
 public:
  // `prefix` names the folder ("<prefix>_XXXXXX") so that a leftover says
  // which test made it.
  explicit TempDir(const std::string& prefix = "hx_test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace hx::testing
