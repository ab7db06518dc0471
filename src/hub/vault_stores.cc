#include "hub/vault_stores.h"

#include <utility>

namespace hx::hub {

VaultStores::VaultStores(Opener opener, std::size_t max_vaults)
    : opener_(std::move(opener)), max_vaults_(max_vaults) {}

Result<Store*> VaultStores::For(const std::string& vault) {
  std::lock_guard lock(mu_);
  if (const auto it = stores_.find(vault); it != stores_.end()) return it->second.get();
  if (stores_.size() >= max_vaults_) {
    return Error(SyncCode::kNetworkFailed, Category::kThrottling,
                 "the hub serves as many vaults as it may (" + std::to_string(max_vaults_) +
                     "); retry later or run another hub");
  }
  // Opening is cheap (no network for S3; a mkdir at most for a folder), so it
  // happens under the lock: two first requests open one store.
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, opener_(vault));
  Store* raw = store.get();
  stores_.emplace(vault, std::move(store));
  return raw;
}

Target VaultStores::SubTarget(const Target& backing, const std::string& name) {
  Target sub = backing;
  if (backing.kind == TargetKind::kFolder) {
    sub.path = backing.path + "/" + name;
  } else {
    sub.prefix = backing.prefix.empty() ? name : backing.prefix + "/" + name;
  }
  return sub;
}

VaultStores::Opener VaultStores::ForTarget(const Target& backing) {
  return [backing](const std::string& vault) -> Result<std::unique_ptr<Store>> {
    const Target sub = SubTarget(backing, vault);
    if (backing.kind == TargetKind::kFolder) return CreateStore(sub);
    return OpenStore(sub);
  };
}

}  // namespace hx::hub
