#include "store/store_test_util.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

#include "store/store_wrappers.h"

namespace hx::store_testing {
namespace {

std::string TempBase() {
  if (const char* dir = std::getenv("HX_TEST_TMPDIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  if (const char* dir = std::getenv("TMPDIR"); dir != nullptr && *dir != '\0') return dir;
  return "/tmp";
}

// Owns the temporary folder of a FolderStore it wraps. The folder is removed
// in the destructor, before the wrapped store (which holds no open files).
class TempFolderStore final : public StoreWrapper {
 public:
  TempFolderStore(std::unique_ptr<TempFolder> folder, std::unique_ptr<Store> store)
      : StoreWrapper(std::move(store)), folder_(std::move(folder)) {}
  // The folder store's own (streamed) writes: this wrapper only owns.
  Result<std::unique_ptr<StoreWriter>> StartWrite() override { return inner().StartWrite(); }
  bool streams_writes() const override { return inner().streams_writes(); }

 private:
  std::unique_ptr<TempFolder> folder_;
};

}  // namespace

TempFolder::TempFolder() {
  std::string pattern = TempBase() + "/hx-store-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = pattern;
}

TempFolder::~TempFolder() {
  std::error_code ignored;
  // Tests take permissions away (read-only folders); give them back so that
  // the folder can be removed.
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ignored);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
    if (it->is_directory(ignored) && !it->is_symlink(ignored)) {
      ::chmod(it->path().c_str(), 0700);
    }
  }
  ::chmod(path_.c_str(), 0700);
  std::filesystem::remove_all(path_, ignored);
}

std::string TempFolder::Join(std::string_view relative) const {
  return path_ + "/" + std::string(relative);
}

Target FolderTarget(const std::string& path) {
  auto target = ParseTargetUri(path, {}, "/");
  if (!target.ok()) {
    std::fprintf(stderr, "bad folder target %s: %s\n", path.c_str(),
                 target.error().ToShortString().c_str());
    std::abort();
  }
  return *target;
}

std::unique_ptr<Store> MakeTempFolderStore(FolderStoreOptions options) {
  auto folder = std::make_unique<TempFolder>();
  auto store = FolderStore::Open(FolderTarget(folder->path()), options);
  if (!store.ok()) {
    std::fprintf(stderr, "FolderStore::Open: %s\n", store.error().ToShortString().c_str());
    std::abort();
  }
  return std::make_unique<TempFolderStore>(std::move(folder), std::move(*store));
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileOrDie(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

std::vector<std::string> DirectoryNames(const std::string& path) {
  std::vector<std::string> names;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(path, ignored)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Bytes ToBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes PatternBytes(std::size_t size, std::uint8_t seed) {
  Bytes out(size);
  std::uint32_t x = 0x9e3779b9u * (seed + 1u);
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

}  // namespace hx::store_testing
