// An in-memory Store: the fake that the layers above (repo, sync) use in
// their unit tests, so that they run without a disk and fast. It keeps every
// promise of store.h, with the strongest capabilities (atomic create and
// atomic compare-and-swap), and validates keys exactly as the real stores do.
//
// Versions are "m<generation>": a new value on every write, even of the same
// bytes, so a caller that wrongly derives versions from content (instead of
// treating them as opaque) fails its tests here.
//
// Thread-safety: thread-safe; every operation is atomic (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "store/store.h"

namespace hx {

class MemoryStore final : public Store {
 public:
  // `name` appears in Describe() as "memory:<name>".
  explicit MemoryStore(std::string name = "test");

  const StoreCapabilities& capabilities() const override;
  std::string Describe() const override;

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  Result<bool> Exists(std::string_view key) override;
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

  // The number of objects held (for tests).
  std::size_t ObjectCount() const;

 private:
  struct Object {
    Bytes bytes;
    std::uint64_t generation = 0;
  };

  // Stores `bytes` under `key` with a fresh generation; returns its version.
  // Requires mu_ held.
  StoreVersion WriteLocked(std::string_view key, std::span<const std::uint8_t> bytes);

  const std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;  // guarded by mu_
  std::uint64_t next_generation_ = 1;                   // guarded by mu_
};

}  // namespace hx
