// Helpers shared by the store tests: a temporary folder that removes itself,
// and folder stores in one.
//
// Temporary folders go to $HX_TEST_TMPDIR if set, else /dev/shm when it is a
// writable directory (a tmpfs: fsync costs nothing there, so the tests keep
// their fsyncs and still run in milliseconds), else the system temp dir.
//
// Thread-safety: a TempFolder is used by one test at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/folder_store.h"
#include "store/store.h"

namespace hx::store_testing {

class TempFolder {
 public:
  // Creates a fresh folder; aborts the test binary if it cannot (a test
  // environment problem, not a test failure).
  TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  // Removes the folder and everything in it (restoring permissions first).
  ~TempFolder();

  const std::string& path() const { return path_; }
  // path() + "/" + relative.
  std::string Join(std::string_view relative) const;

 private:
  std::string path_;
};

// The folder target for an absolute path.
Target FolderTarget(const std::string& path);

// A FolderStore in a fresh TempFolder that it owns: the folder is removed
// when the store is destroyed.
std::unique_ptr<Store> MakeTempFolderStore(FolderStoreOptions options = {});

// Reads a whole file ("" if it cannot be read); writes a file (creating it).
std::string ReadFileOrEmpty(const std::string& path);
void WriteFileOrDie(const std::string& path, std::string_view contents);
// The names in a directory (not "." and ".."), sorted.
std::vector<std::string> DirectoryNames(const std::string& path);

// Bytes of a string, and `size` bytes of a pattern that differs by `seed`.
Bytes ToBytes(std::string_view text);
Bytes PatternBytes(std::size_t size, std::uint8_t seed);

}  // namespace hx::store_testing
