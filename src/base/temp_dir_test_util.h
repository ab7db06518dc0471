// For tests: a fresh folder, removed with everything in it when the object
// goes. Header-only, so any test binary can use it without a link dependency.
//
// It lives on a tmpfs (/dev/shm) when there is a writable one, where fsync is
// free and the tests keep theirs, else under the system's temporary
// directory; HX_TEST_TMPDIR names another parent.
#pragma once

#include <stdlib.h>
#include <unistd.h>

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
    std::string pattern = (Parent() / (prefix + "_XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    // Give write permission back anywhere a test removed it, so that
    // everything can go.
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  static std::filesystem::path Parent() {
    std::string parent = "/dev/shm";
    if (const char* env = std::getenv("HX_TEST_TMPDIR")) parent = env;
    std::error_code ec;
    if (!std::filesystem::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0) {
      return std::filesystem::temp_directory_path();
    }
    return parent;
  }

  std::filesystem::path path_;
};

}  // namespace hx::testing
