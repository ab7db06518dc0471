// Each vault's own store behind the hub: the backing target narrowed to the
// vault (a folder's subfolder "<root>/<vault>", an S3 prefix
// "<prefix>/<vault>"), opened at the vault's first request and kept. A vault
// so gets the whole key space of a store (keys up to kMaxStoreKeyBytes), and
// no key of one vault can name another's object or the hub's own state
// ("<root>/_hub", which no vault name can be).
//
// Bounds: at most max_vaults stores are kept open; a request for one more is
// refused (KC_SYNC_NETWORK_FAILED, Category::kThrottling).
//
// Thread-safety: thread-safe; a returned Store lives as long as this object.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/error.h"
#include "store/store.h"
#include "store/target_uri.h"

namespace hx::hub {

class VaultStores {
 public:
  using Opener = std::function<Result<std::unique_ptr<Store>>(const std::string& vault)>;
  explicit VaultStores(Opener opener, std::size_t max_vaults = 10'000);

  // The store of `vault` (a valid vault name, hub/protocol.h).
  Result<Store*> For(const std::string& vault);

  // The opener of the sub-targets of `backing` (a folder or S3 target): a
  // folder vault's subfolder is created at its first request (CreateStore);
  // an S3 vault needs nothing created.
  static Opener ForTarget(const Target& backing);
  // The sub-target of `backing` for `name` (a vault, or "_hub").
  static Target SubTarget(const Target& backing, const std::string& name);

 private:
  const Opener opener_;
  const std::size_t max_vaults_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Store>, std::less<>> stores_;
};

}  // namespace hx::hub
