// RetryingStore (declared in store_wrappers.h); the policy is retry_policy.h.
#include <algorithm>
#include <utility>

#include "store/store_wrappers.h"

namespace hx {

RetryingStore::RetryingStore(std::unique_ptr<Store> inner, RetryOptions options)
    : StoreWrapper(std::move(inner)), policy_(std::move(options)) {}

Result<Bytes> RetryingStore::Get(std::string_view key, std::uint64_t max_size) {
  return policy_.Run([&] { return StoreWrapper::Get(key, max_size); });
}

Result<Bytes> RetryingStore::GetRange(std::string_view key, ByteRange range) {
  return policy_.Run([&] { return StoreWrapper::GetRange(key, range); });
}

Result<std::pair<Bytes, StoreVersion>> RetryingStore::GetVersioned(std::string_view key,
                                                                   std::uint64_t max_size) {
  return policy_.Run([&] { return StoreWrapper::GetVersioned(key, max_size); });
}

Result<std::optional<std::pair<Bytes, StoreVersion>>> RetryingStore::GetIfNoneMatch(
    std::string_view key, const StoreVersion& version, std::uint64_t max_size) {
  return policy_.Run([&] { return StoreWrapper::GetIfNoneMatch(key, version, max_size); });
}

// Repeating a Put stores the same bytes again: harmless.
Status RetryingStore::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  return policy_.Run([&] { return StoreWrapper::Put(key, bytes); });
}

Result<StoreVersion> RetryingStore::ConfirmOwnWrite(std::string_view key,
                                                    std::span<const std::uint8_t> bytes,
                                                    Error aborted) {
  // Bounded by our own size: anything larger is not our write, and a hostile
  // store cannot make us read more.
  auto current = policy_.Run([&] { return StoreWrapper::GetVersioned(key, bytes.size()); });
  if (current.ok()) {
    if (std::ranges::equal(current->first, bytes)) return std::move(current->second);
    return aborted;
  }
  const Category category = current.error().category;
  // Gone again, or larger than ours: either way not our write.
  if (category == Category::kNotFound || category == Category::kCorrupt) return aborted;
  return std::move(current).error();
}

template <typename Call>
Result<StoreVersion> RetryingStore::ConditionalWrite(std::string_view key,
                                                     std::span<const std::uint8_t> bytes,
                                                     Call call) {
  auto result = policy_.Run(call);
  if (!result.ok() && result.error().category == Category::kAborted) {
    // A refused conditional write may be the echo of our own: an attempt
    // that took effect but whose reply was lost, resent by us or by the
    // HTTP layer itself (libcurl resends on a reused connection that died
    // before any reply byte, unseen here). Never blindly: look at the
    // object. A real conflict costs one read.
    return ConfirmOwnWrite(key, bytes, std::move(result).error());
  }
  return result;
}

Result<StoreVersion> RetryingStore::PutIfAbsent(std::string_view key,
                                                std::span<const std::uint8_t> bytes) {
  return ConditionalWrite(key, bytes, [&] { return StoreWrapper::PutIfAbsent(key, bytes); });
}

Result<StoreVersion> RetryingStore::PutIfMatch(std::string_view key,
                                               std::span<const std::uint8_t> bytes,
                                               const StoreVersion& expected) {
  return ConditionalWrite(key, bytes,
                          [&] { return StoreWrapper::PutIfMatch(key, bytes, expected); });
}

Result<bool> RetryingStore::Exists(std::string_view key) {
  return policy_.Run([&] { return StoreWrapper::Exists(key); });
}

Result<std::vector<StoreObjectInfo>> RetryingStore::List(std::string_view prefix) {
  return policy_.Run([&] { return StoreWrapper::List(prefix); });
}

// Deleting twice is deleting once: an absent object is not an error.
Status RetryingStore::Delete(std::string_view key) {
  return policy_.Run([&] { return StoreWrapper::Delete(key); });
}

}  // namespace hx
