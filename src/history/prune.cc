// hx sync prune (prune.h).
#include "history/prune.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "base/printable.h"
#include "history/forget.h"
#include "history/store_check.h"
#include "meta/lock.h"
#include "meta/manifest.h"
#include "meta/prune_record.h"
#include "repo/pack.h"
#include "store/store_wrappers.h"
#include "sync/prune_guard.h"
#include "sync/session.h"

namespace hx {
namespace {

using json = nlohmann::json;

// The devices whose manifest lacks kPruneCapability (other than this one),
// and the head seqs the manifests last saw.
struct Devices {
  std::vector<std::string> blocking;
  std::set<std::uint64_t> last_seen;
};

Result<Devices> ReadDevices(Session& s) {
  Devices out;
  HX_ASSIGN_OR_RETURN(const std::vector<std::string> nodes, ListManifests(*s.store));
  for (const std::string& node : nodes) {
    Result<std::optional<DeviceManifest>> manifest = ReadManifest(*s.store, s.ctx, node);
    if (!manifest.ok()) {
      const Category c = manifest.error().category;
      if (c != Category::kCorrupt && c != Category::kUnsupported) return std::move(manifest).error();
      // What it last saw is unknown: nothing can be pruned safely.
      out.blocking.push_back(node + " (its manifest does not read: " + manifest.error().message +
                             ")");
      continue;
    }
    if (!*manifest) continue;
    out.last_seen.insert((*manifest)->last_seen_head_seq);
    if (node == s.node_id()) continue;  // this hx honours prune.json
    const std::vector<std::string>& caps = (*manifest)->device.capabilities;
    if (std::find(caps.begin(), caps.end(), kPruneCapability) == caps.end()) {
      out.blocking.push_back(node + " (hx " + (*manifest)->device.hx_version + ")");
    }
  }
  return out;
}

// The copy of an object a reader takes, by the rules of prune.h step 3.
struct Copies {
  std::uint64_t history_seq = 0, all_seq = 0, stored_seq = 0;
  const ObjectLocation* history = nullptr;
  const ObjectLocation* all = nullptr;
  const ObjectLocation* stored = nullptr;
};

}  // namespace

Result<PruneReport> SyncPrune(const std::filesystem::path& vault, const SyncOptions& options,
                              const PruneOptions& prune) {
  const std::optional<std::int64_t> grace =
      prune.grace == "0" ? std::optional<std::int64_t>(0) : ParseRetentionDuration(prune.grace);
  if (!grace) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "--grace takes a duration such as 0, 1h, 24h or 7d, not '" + prune.grace + "'");
  }
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  const StoreCounts before = s.counts != nullptr ? s.counts->Counts() : StoreCounts{};
  PruneReport r;
  r.target = s.target.ToUri();
  r.dry_run = prune.dry_run;
  r.grace_ms = *grace;

  // 1. Every device honours prune.json.
  HX_ASSIGN_OR_RETURN(const Devices devices, ReadDevices(s));
  if (!devices.blocking.empty()) {
    std::string names;
    for (const std::string& d : devices.blocking) names += (names.empty() ? "" : ", ") + d;
    return Error(SyncCode::kStateFailed, Category::kUnsupported,
                 "prune refused: device(s) " + names +
                     " may not honour a prune (their hx predates it). Update hx there and "
                     "let each sync once (push or pull), then prune again")
        .With("devices", names);
  }

  // 2. Under the write lock, what the retained snapshots reference.
  HX_ASSIGN_OR_RETURN(WriteLock lock, WriteLock::Acquire(*s.store, s.node_id(), options.now_ms));
  HX_ASSIGN_OR_RETURN(const StoredPruneRecord previous, ReadPruneRecord(*s.store, s.ctx));
  StoreCheck check(s);
  check.RetainAlso({}, devices.last_seen);
  VerifyReport verified;
  HX_RETURN_IF_ERROR(check.Run(VerifyOptions{}, options.now_ms, verified));
  bool tree_damaged = false;
  for (const auto& [id, damage] : check.damage()) {
    if (damage.kind == ObjectKind::kTree) tree_damaged = true;
  }
  if (!verified.damaged_snapshots.empty() || tree_damaged) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "prune refused: a snapshot or a tree does not read, so what it references is "
                 "unknown. Run 'hx sync verify' and 'hx sync repair' first");
  }
  for (const auto& [id, damage] : check.damage()) {
    r.warnings.push_back("a referenced chunk is damaged (" + damage.problem +
                         "): run 'hx sync verify'");
    break;
  }
  r.snapshots_retained = verified.snapshots_checked;
  r.snapshots_forgotten = verified.snapshots_forgotten;

  // 3. The packs holding the copies readers take.
  const std::map<std::string, std::uint64_t>& stored = check.blobs();
  std::map<ObjectId, Copies> copies;
  for (const ObjectId& id : check.live_trees()) copies[id];
  for (const ObjectId& id : check.live_chunks()) copies[id];
  for (const StoreCheck::Body& body : check.bodies()) {
    for (const ObjectLocation& loc : body.added) {
      auto it = copies.find(loc.id);
      if (it == copies.end()) continue;
      Copies& c = it->second;
      if (body.in_head_history && (!c.history || body.seq > c.history_seq)) {
        c.history = &loc;
        c.history_seq = body.seq;
      }
      if (!c.all || body.seq > c.all_seq) {
        c.all = &loc;
        c.all_seq = body.seq;
      }
      if (stored.count(loc.blob_id) != 0 && (!c.stored || body.seq > c.stored_seq)) {
        c.stored = &loc;
        c.stored_seq = body.seq;
      }
    }
  }
  std::set<std::string> needed;
  for (const auto& [id, c] : copies) {
    for (const ObjectLocation* loc : {c.history, c.all, c.stored}) {
      if (loc != nullptr && stored.count(loc->blob_id) != 0) needed.insert(loc->blob_id);
    }
    if (c.stored != nullptr) r.bytes_referenced += c.stored->length;
  }
  for (const auto& [blob, size] : stored) {
    r.bytes_listed += size;
    if (needed.count(blob) != 0) r.bytes_needed += size;
  }
  r.packs_listed = stored.size();
  r.packs_needed = needed.size();
  r.garbage_bytes_in_needed_packs =
      r.bytes_needed > r.bytes_referenced ? r.bytes_needed - r.bytes_referenced : 0;

  // 4. Condemn, un-condemn, delete.
  PruneRecord next = previous.record.value_or(PruneRecord{});
  next.author = s.node_id();
  next.epoch = previous.record ? previous.record->epoch + 1 : 1;
  next.updated_ms = options.now_ms;
  std::vector<std::string> to_delete;
  std::map<std::string, std::int64_t> condemned;
  for (const auto& [pack, since] : next.condemned) {
    if (stored.count(pack) == 0) {
      next.deleted[pack] = next.epoch;  // gone already: announce it
    } else if (needed.count(pack) != 0) {
      ++r.packs_uncondemned;
    }
  }
  for (const auto& [pack, size] : stored) {
    if (needed.count(pack) != 0) continue;
    if (auto was = next.deleted.find(pack); was != next.deleted.end()) {
      // Deleted before, packed again by a push that did not publish it:
      // already announced, so deleted again now.
      was->second = next.epoch;
      to_delete.push_back(pack);
      continue;
    }
    auto old = next.condemned.find(pack);
    const std::int64_t since = old != next.condemned.end() ? old->second : options.now_ms;
    if (old == next.condemned.end()) ++r.packs_condemned_now;
    if (since + *grace <= options.now_ms) {
      next.deleted[pack] = next.epoch;
      to_delete.push_back(pack);
    } else {
      condemned[pack] = since;
      r.bytes_condemned += size;
    }
  }
  next.condemned = std::move(condemned);
  r.packs_condemned = next.condemned.size();
  for (const std::string& pack : to_delete) {
    ++r.packs_deleted;
    r.bytes_deleted += stored.at(pack);
  }
  const bool changed = !previous.record || previous.record->condemned != next.condemned ||
                       previous.record->deleted != next.deleted;
  r.epoch = previous.record ? previous.record->epoch : 0;
  if (!prune.dry_run && changed) {
    // Still ours (a lock that expired and was taken over fails here), and
    // announced before anything is deleted: a device that reads the record
    // stops trusting those packs before they go.
    HX_RETURN_IF_ERROR(lock.Renew(options.now_ms));
    if (Result<StoreVersion> wrote = WritePruneRecord(*s.store, s.ctx, previous, next);
        !wrote.ok()) {
      return std::move(wrote).error();
    }
    r.epoch = next.epoch;
    for (const std::string& pack : to_delete) {
      HX_RETURN_IF_ERROR(s.store->Delete(BlobKey(pack)));
    }
  }
  HX_RETURN_IF_ERROR(lock.Release());
  if (s.counts != nullptr) {
    const StoreCounts used = s.counts->Counts() - before;
    for (std::size_t op = 0; op < kStoreOpCount; ++op) {
      if (used.calls[op] != 0) {
        r.requests[std::string(ToString(static_cast<StoreOp>(op)))] = used.calls[op];
      }
    }
  }
  return r;
}

json PruneReport::ToJson() const {
  return {{"bytes_condemned", bytes_condemned},
          {"bytes_deleted", bytes_deleted},
          {"bytes_listed", bytes_listed},
          {"bytes_needed", bytes_needed},
          {"bytes_referenced", bytes_referenced},
          {"dry_run", dry_run},
          {"epoch", epoch},
          {"garbage_bytes_in_needed_packs", garbage_bytes_in_needed_packs},
          {"grace_ms", grace_ms},
          {"packs_condemned", packs_condemned},
          {"packs_condemned_now", packs_condemned_now},
          {"packs_deleted", packs_deleted},
          {"packs_listed", packs_listed},
          {"packs_needed", packs_needed},
          {"packs_uncondemned", packs_uncondemned},
          {"requests", requests},
          {"snapshots_forgotten", snapshots_forgotten},
          {"snapshots_retained", snapshots_retained},
          {"target", target},
          {"warnings", warnings}};
}

std::string PruneReport::ToHuman() const {
  std::ostringstream out;
  out << snapshots_retained << " snapshots retained, " << snapshots_forgotten << " forgotten\n";
  out << packs_listed << " packs (" << bytes_listed << " bytes), " << packs_needed
      << " needed (" << bytes_needed << " bytes, " << garbage_bytes_in_needed_packs
      << " of them unreferenced)\n";
  out << (dry_run ? "would condemn " : "condemned ") << packs_condemned_now << " pack(s) now; "
      << packs_condemned << " condemned in all (" << bytes_condemned
      << " bytes, deleted once the grace period has passed); " << packs_uncondemned
      << " needed again\n";
  out << (dry_run ? "would delete " : "deleted ") << packs_deleted << " pack(s), "
      << bytes_deleted << " bytes freed\n";
  for (const std::string& w : warnings) out << "warning: " << Printable(w) << "\n";
  return out.str();
}

}  // namespace hx
