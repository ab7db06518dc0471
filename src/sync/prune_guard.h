// What a push does about prunes (docs/ARCHITECTURE.md, "Retention and
// prune"): a prune condemns packs that nothing retained needs and, after a
// grace period, deletes them, announcing both in prune.json
// (meta/prune_record.h). A push skips every object its local index locates,
// so it must neither skip an object whose pack is gone nor keep a condemned
// pack alive by reusing it:
//  - before packing, ApplyPruneRecord forgets the index's objects in every
//    condemned or deleted pack (once per prune epoch), so the push packs
//    again what it needs of them (a newer snapshot then locates them, and
//    readers take the newest location);
//  - under the write lock, just before publishing, CheckPacksNotDeleted
//    makes sure no pack the snapshot relies on (the packs of objects it
//    skipped as known, and its own) was deleted meanwhile; one that was is
//    forgotten and the push fails with Category::kAborted, detail
//    retry=prune, which SyncPush retries. A condemned pack needs nothing: the
//    prune's second phase re-walks every retained snapshot under the lock
//    and keeps any pack one of them needs.
// Internal to the sync module (push) and the prune (history module).
//
// Thread-safety: as the Session.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "base/error.h"
#include "meta/prune_record.h"
#include "sync/session.h"

namespace hx {

// Index meta: the prune epoch whose packs this device's index has forgotten.
inline constexpr std::string_view kMetaPruneEpoch = "prune_epoch_seen";
// The capability a device's manifest advertises once its hx follows the
// rules above; a prune refuses to run while a device lacks it.
inline constexpr std::string_view kPruneCapability = "prune_v1";
// Advertised once the device's readers (pull, link, log, verify, the trust
// chain) take a missing snapshot that prune.json lists as deleted for the end
// of a branch (meta/prune_record.h, format 2); a prune deletes snapshot
// bodies only while every device advertises it.
inline constexpr std::string_view kPruneSnapshotsCapability = "prune_v2";

// Reads prune.json (one GET) and, if its epoch is newer than the one this
// device applied, forgets the objects and unpublished packs the index holds
// in its condemned and deleted packs, in one index transaction that also
// records the epoch. Returns the record read. A record that does not decode
// fails the push (KC_SYNC_STATE_FAILED, corrupt, detail key): which packs
// are gone cannot be guessed.
Result<StoredPruneRecord> ApplyPruneRecord(Session& s);

// Forgets, in one index transaction, every object and unpublished pack the
// index holds in `packs`.
Status ForgetPacks(Session& s, const std::set<std::string>& packs);

// Under the write lock: re-reads prune.json and, for each of `packs` it
// lists as deleted, asks the store (one List of the pack's key) whether the
// pack exists again (a pack is named by its bytes, so a push that packed the
// same objects re-created it). Missing ones are forgotten (ForgetPacks) and
// the result is KC_SYNC_STATE_FAILED, Category::kAborted, detail
// retry=prune: run the push again.
Status CheckPacksNotDeleted(Session& s, const std::set<std::string>& packs);

// Whether `error` is CheckPacksNotDeleted's "run the push again".
bool IsPruneRetry(const Error& error);

}  // namespace hx
