// Differential fuzzing of the folder store against the in-memory store: the
// input is a sequence of operations (any of the nine, on a small set of keys
// or on an arbitrary byte string as a key), run on both; every answer must
// agree — success or failure, the failure's category, the bytes read, the
// listing. Also checked: no temporary file survives an input, and an
// arbitrary key either is refused by both as a bug or is never created
// outside the root.
//
// Versions are opaque and differ between the two stores (generations vs
// BLAKE3), so each store's own last-returned version per key is tracked and
// forgotten at the next write to that key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "store/folder_store.h"
#include "store/memory_store.h"
#include "store/store_test_util.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// No key is a directory of another (a folder cannot hold both "b" and
// "b/c"), as in hx's layout.
const char* const kKeys[] = {"a", "b/c", "b/d", "e/f/g", "e/h", "x.y", "-_"};
const char* const kPrefixes[] = {"", "b", "b/", "e/f", "e/", "x", "q/"};

template <typename R>
void CheckSameOutcome(const R& folder, const R& memory) {
  Check(folder.ok() == memory.ok());
  if (!folder.ok()) Check(folder.error().category == memory.error().category);
}

struct Side {
  hx::Store* store;
  std::map<std::string, hx::StoreVersion> versions;

  hx::StoreVersion VersionFor(const std::string& key) const {
    const auto it = versions.find(key);
    return it == versions.end() ? "bogus" : it->second;
  }
};

bool HasTempFiles(const std::string& root) {
  std::error_code ignored;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ignored);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
    if (hx::IsFolderStoreTempName(it->path().filename().string())) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One folder for the whole run (removed at exit), emptied for each input.
  static const hx::store_testing::TempFolder folder;
  static const std::unique_ptr<hx::FolderStore> folder_store = [] {
    auto opened = hx::FolderStore::Open(hx::store_testing::FolderTarget(folder.path()),
                                        hx::FolderStoreOptions{.sync = false});
    Check(opened.ok());
    return std::move(*opened);
  }();
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(folder.path(), ignored)) {
    std::filesystem::remove_all(entry.path(), ignored);
  }
  hx::MemoryStore memory_store;
  Side folder_side{folder_store.get(), {}};
  Side memory_side{&memory_store, {}};

  FuzzedDataProvider provider(data, size);
  for (int step = 0; step < 64 && provider.remaining_bytes() > 0; ++step) {
    const int op = provider.ConsumeIntegralInRange<int>(0, 8);
    std::string key;
    bool arbitrary = false;
    if (provider.ConsumeIntegralInRange<int>(0, 15) == 0) {
      key = provider.ConsumeRandomLengthString(300);
      arbitrary = true;
      // A valid arbitrary key could be a directory of a key of the set:
      // legitimately different between the stores. Only refusals are compared.
      if (hx::IsValidStoreKey(key)) continue;
    } else {
      key = kKeys[provider.ConsumeIntegralInRange<std::size_t>(0, std::size(kKeys) - 1)];
    }
    const std::string bytes_text = provider.ConsumeRandomLengthString(64);
    const hx::Bytes bytes(bytes_text.begin(), bytes_text.end());
    const std::uint64_t a = provider.ConsumeIntegralInRange<std::uint64_t>(0, 80);
    const std::uint64_t b = provider.ConsumeIntegralInRange<std::uint64_t>(0, 80);
    const bool stale = provider.ConsumeBool();

    auto forget = [&] {
      folder_side.versions.erase(key);
      memory_side.versions.erase(key);
    };
    switch (op) {
      case 0: {
        auto f = folder_side.store->Get(key, a);
        auto m = memory_side.store->Get(key, a);
        CheckSameOutcome(f, m);
        if (f.ok()) Check(*f == *m);
        break;
      }
      case 1: {
        auto f = folder_side.store->GetRange(key, hx::ByteRange{a, b});
        auto m = memory_side.store->GetRange(key, hx::ByteRange{a, b});
        CheckSameOutcome(f, m);
        if (f.ok()) Check(*f == *m);
        break;
      }
      case 2: {
        auto f = folder_side.store->GetVersioned(key, a);
        auto m = memory_side.store->GetVersioned(key, a);
        CheckSameOutcome(f, m);
        if (f.ok()) {
          Check(f->first == m->first);
          folder_side.versions[key] = f->second;
          memory_side.versions[key] = m->second;
        }
        break;
      }
      case 3: {
        CheckSameOutcome(folder_side.store->Put(key, bytes), memory_side.store->Put(key, bytes));
        forget();
        break;
      }
      case 4:
      case 5: {
        const bool if_absent = op == 4;
        auto f = if_absent ? folder_side.store->PutIfAbsent(key, bytes)
                           : folder_side.store->PutIfMatch(
                                 key, bytes, stale ? "stale" : folder_side.VersionFor(key));
        auto m = if_absent ? memory_side.store->PutIfAbsent(key, bytes)
                           : memory_side.store->PutIfMatch(
                                 key, bytes, stale ? "stale" : memory_side.VersionFor(key));
        CheckSameOutcome(f, m);
        if (f.ok()) {
          folder_side.versions[key] = *f;
          memory_side.versions[key] = *m;
        }
        break;
      }
      case 6: {
        auto f = folder_side.store->Exists(key);
        auto m = memory_side.store->Exists(key);
        CheckSameOutcome(f, m);
        if (f.ok()) Check(*f == *m);
        break;
      }
      case 7: {
        const std::string prefix = arbitrary
                                       ? key
                                       : kPrefixes[provider.ConsumeIntegralInRange<std::size_t>(
                                             0, std::size(kPrefixes) - 1)];
        auto f = folder_side.store->List(prefix);
        auto m = memory_side.store->List(prefix);
        CheckSameOutcome(f, m);
        if (f.ok()) {
          Check(f->size() == m->size());
          for (std::size_t i = 0; i < f->size(); ++i) {
            Check((*f)[i].key == (*m)[i].key && (*f)[i].size == (*m)[i].size);
          }
        }
        break;
      }
      case 8: {
        CheckSameOutcome(folder_side.store->Delete(key), memory_side.store->Delete(key));
        forget();
        break;
      }
    }
  }
  Check(!HasTempFiles(folder.path()));
  return 0;
}
