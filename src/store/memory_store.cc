#include "store/memory_store.h"

#include <utility>

namespace hx {
namespace {

std::string VersionFor(std::uint64_t generation) { return "m" + std::to_string(generation); }

Error NotFound(std::string_view key) { return StoreObjectNotFound(key); }
Error Corrupt(std::string_view key, std::string message) {
  return StoreObjectCorrupt(key, std::move(message));
}
Error Aborted(std::string_view key, std::string message) {
  return StoreObjectAborted(key, std::move(message));
}

Error TooLarge(std::string_view key, std::size_t size, std::uint64_t max_size) {
  return Corrupt(key, "is " + std::to_string(size) + " bytes, more than the limit of " +
                          std::to_string(max_size));
}

}  // namespace

MemoryStore::MemoryStore(std::string name) : name_(std::move(name)) {}

const StoreCapabilities& MemoryStore::capabilities() const {
  static const StoreCapabilities kCapabilities{
      .atomic_create = true, .atomic_compare_and_swap = true, .ranged_reads = true};
  return kCapabilities;
}

std::string MemoryStore::Describe() const { return "memory:" + name_; }

StoreVersion MemoryStore::WriteLocked(std::string_view key, std::span<const std::uint8_t> bytes) {
  const std::uint64_t generation = next_generation_++;
  auto it = objects_.find(key);
  if (it == objects_.end()) it = objects_.emplace(std::string(key), Object{}).first;
  it->second.bytes.assign(bytes.begin(), bytes.end());
  it->second.generation = generation;
  return VersionFor(generation);
}

Result<Bytes> MemoryStore::Get(std::string_view key, std::uint64_t max_size) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  const auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(key);
  if (it->second.bytes.size() > max_size) return TooLarge(key, it->second.bytes.size(), max_size);
  return it->second.bytes;
}

Result<Bytes> MemoryStore::GetRange(std::string_view key, ByteRange range) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  const auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(key);
  const Bytes& bytes = it->second.bytes;
  if (range.offset > bytes.size() || range.length > bytes.size() - range.offset) {
    return Corrupt(key, "is " + std::to_string(bytes.size()) + " bytes, too short for the range " +
                            std::to_string(range.offset) + "+" + std::to_string(range.length));
  }
  const auto first = bytes.begin() + static_cast<std::ptrdiff_t>(range.offset);
  return Bytes(first, first + static_cast<std::ptrdiff_t>(range.length));
}

Result<std::pair<Bytes, StoreVersion>> MemoryStore::GetVersioned(std::string_view key,
                                                                 std::uint64_t max_size) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  const auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(key);
  if (it->second.bytes.size() > max_size) return TooLarge(key, it->second.bytes.size(), max_size);
  return std::make_pair(it->second.bytes, VersionFor(it->second.generation));
}

Status MemoryStore::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  WriteLocked(key, bytes);
  return OkStatus();
}

Result<StoreVersion> MemoryStore::PutIfAbsent(std::string_view key,
                                              std::span<const std::uint8_t> bytes) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  if (objects_.contains(key)) return Aborted(key, "already exists");
  return WriteLocked(key, bytes);
}

Result<StoreVersion> MemoryStore::PutIfMatch(std::string_view key,
                                             std::span<const std::uint8_t> bytes,
                                             const StoreVersion& expected) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  const auto it = objects_.find(key);
  if (it == objects_.end()) {
    return Aborted(key, "does not exist (expected version " + expected + ")");
  }
  const StoreVersion current = VersionFor(it->second.generation);
  if (current != expected) {
    return Aborted(key, "changed: its version is " + current + ", expected " + expected);
  }
  return WriteLocked(key, bytes);
}

Result<bool> MemoryStore::Exists(std::string_view key) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  return objects_.contains(key);
}

Result<std::vector<StoreObjectInfo>> MemoryStore::List(std::string_view prefix) {
  HX_RETURN_IF_ERROR(ValidateStorePrefix(prefix));
  std::lock_guard lock(mu_);
  std::vector<StoreObjectInfo> out;
  // std::map is sorted bytewise, so the matches are one contiguous run.
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(StoreObjectInfo{it->first, it->second.bytes.size()});
  }
  return out;
}

Status MemoryStore::Delete(std::string_view key) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  std::lock_guard lock(mu_);
  const auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return OkStatus();
}

std::size_t MemoryStore::ObjectCount() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

}  // namespace hx
