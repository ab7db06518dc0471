#include "sync/prune_guard.h"

#include <charconv>

#include "repo/pack.h"

namespace hx {

Status ForgetPacks(Session& s, const std::set<std::string>& packs) {
  if (packs.empty()) return OkStatus();
  HX_ASSIGN_OR_RETURN(Index::Transaction txn, s.index->Begin());
  for (const std::string& pack : packs) {
    HX_RETURN_IF_ERROR(txn.ForgetObjectsInPack(pack));
    HX_RETURN_IF_ERROR(txn.ForgetUnpublishedPack(pack));
  }
  return txn.Commit();
}

Result<StoredPruneRecord> ApplyPruneRecord(Session& s) {
  HX_ASSIGN_OR_RETURN(StoredPruneRecord stored, ReadPruneRecord(*s.store, s.ctx));
  if (!stored.record) return stored;
  HX_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> seen,
                      s.index->GetMetaUint64(kMetaPruneEpoch));
  if (seen && *seen >= stored.record->epoch) return stored;
  std::set<std::string> packs;
  for (const auto& [pack, since] : stored.record->condemned) packs.insert(pack);
  for (const auto& [pack, epoch] : stored.record->deleted) packs.insert(pack);
  HX_ASSIGN_OR_RETURN(Index::Transaction txn, s.index->Begin());
  for (const std::string& pack : packs) {
    HX_RETURN_IF_ERROR(txn.ForgetObjectsInPack(pack));
    HX_RETURN_IF_ERROR(txn.ForgetUnpublishedPack(pack));
  }
  HX_RETURN_IF_ERROR(txn.SetMeta(kMetaPruneEpoch, std::to_string(stored.record->epoch)));
  HX_RETURN_IF_ERROR(txn.Commit());
  return stored;
}

Status CheckPacksNotDeleted(Session& s, const std::set<std::string>& packs) {
  HX_ASSIGN_OR_RETURN(const StoredPruneRecord stored, ReadPruneRecord(*s.store, s.ctx));
  if (!stored.record || stored.record->deleted.empty()) return OkStatus();
  std::set<std::string> gone;
  for (const std::string& pack : packs) {
    if (stored.record->deleted.count(pack) == 0) continue;
    const std::string key = BlobKey(pack);
    HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> listed, s.store->List(key));
    bool found = false;
    for (const StoreObjectInfo& info : listed) found = found || info.key == key;
    if (!found) gone.insert(pack);
  }
  if (gone.empty()) return OkStatus();
  HX_RETURN_IF_ERROR(ForgetPacks(s, gone));
  return Error(SyncCode::kStateFailed, Category::kAborted,
               "a prune deleted " + std::to_string(gone.size()) +
                   " pack(s) this push relied on while it ran; nothing was published. Run the "
                   "push again: it packs those objects anew")
      .With("retry", "prune")
      .With("pack", *gone.begin());
}

bool IsPruneRetry(const Error& error) {
  auto it = error.details.find("retry");
  return error.category == Category::kAborted && it != error.details.end() &&
         it->second == "prune";
}

}  // namespace hx
