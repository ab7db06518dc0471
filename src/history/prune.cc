// hx sync prune (prune.h).
#include "history/prune.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "base/printable.h"
#include "history/forget.h"
#include "history/repack.h"
#include "history/store_check.h"
#include "meta/head.h"
#include "meta/lock.h"
#include "meta/manifest.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"
#include "repo/pack.h"
#include "store/store_wrappers.h"
#include "sync/prune_guard.h"
#include "sync/session.h"

namespace hx {
namespace {

using json = nlohmann::json;

// The devices whose manifest lacks kPruneCapability (other than this one),
// those lacking kPruneSnapshotsCapability, and the head seqs the manifests
// last saw.
struct Devices {
  std::vector<std::string> blocking;
  std::vector<std::string> blocking_snapshots;
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
    const std::string name = node + " (hx " + (*manifest)->device.hx_version + ")";
    if (std::find(caps.begin(), caps.end(), kPruneCapability) == caps.end()) {
      out.blocking.push_back(name);
    }
    if (std::find(caps.begin(), caps.end(), kPruneSnapshotsCapability) == caps.end()) {
      out.blocking_snapshots.push_back(name);
    }
  }
  return out;
}

// The copy of an object a reader takes, by the rules of prune.h step 3, and
// the snapshot bodies (indexes into StoreCheck::bodies()) that list them.
struct Copies {
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::uint64_t history_seq = 0, all_seq = 0, stored_seq = 0;
  const ObjectLocation* history = nullptr;
  const ObjectLocation* all = nullptr;
  const ObjectLocation* stored = nullptr;
  std::size_t history_body = kNone, all_body = kNone, stored_body = kNone;
};

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Result<PruneReport> SyncPrune(const std::filesystem::path& vault, const SyncOptions& options,
                              const PruneOptions& prune) {
  const std::optional<std::int64_t> grace =
      prune.grace == "0" ? std::optional<std::int64_t>(0) : ParseRetentionDuration(prune.grace);
  if (!grace) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "--grace takes a duration such as 0, 1h, 24h or 7d, not '" + prune.grace + "'");
  }
  if (prune.repack_below_percent > 100) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "--repack-below takes a percentage from 0 (never repack) to 100, not " +
                     std::to_string(prune.repack_below_percent));
  }
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  const StoreCounts before = s.counts != nullptr ? s.counts->Counts() : StoreCounts{};
  PruneReport r;
  r.target = s.target.ToUri();
  r.dry_run = prune.dry_run;
  r.grace_ms = *grace;
  r.repack_below_percent = prune.repack_below_percent;

  // 1. Every device honours prune.json.
  HX_ASSIGN_OR_RETURN(const Devices devices, ReadDevices(s));
  if (!devices.blocking.empty()) {
    const std::string names = Join(devices.blocking);
    return Error(SyncCode::kStateFailed, Category::kUnsupported,
                 "prune refused: device(s) " + names +
                     " may not honour a prune (their hx predates it). Update hx there and "
                     "let each sync once (push or pull), then prune again")
        .With("devices", names);
  }

  // 2. Under the write lock, what the retained snapshots reference.
  HX_ASSIGN_OR_RETURN(WriteLock lock, WriteLock::Acquire(*s.store, s.node_id(), options.now_ms));
  HX_ASSIGN_OR_RETURN(const StoredPruneRecord previous, ReadPruneRecord(*s.store, s.ctx));
  HX_ASSIGN_OR_RETURN(const HeadState head, ReadHead(*s.store, s.ctx));
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
  std::map<std::string, std::uint64_t> stored = check.blobs();
  const std::vector<StoreCheck::Body>& bodies = check.bodies();
  std::map<ObjectId, Copies> copies;
  for (const ObjectId& id : check.live_trees()) copies[id];
  for (const ObjectId& id : check.live_chunks()) copies[id];
  for (std::size_t b = 0; b < bodies.size(); ++b) {
    const StoreCheck::Body& body = bodies[b];
    for (const ObjectLocation& loc : body.added) {
      auto it = copies.find(loc.id);
      if (it == copies.end()) continue;
      Copies& c = it->second;
      if (body.in_head_history && (!c.history || body.seq > c.history_seq)) {
        c.history = &loc;
        c.history_seq = body.seq;
        c.history_body = b;
      }
      if (!c.all || body.seq > c.all_seq) {
        c.all = &loc;
        c.all_seq = body.seq;
        c.all_body = b;
      }
      if (stored.count(loc.blob_id) != 0 && (!c.stored || body.seq > c.stored_seq)) {
        c.stored = &loc;
        c.stored_seq = body.seq;
        c.stored_body = b;
      }
    }
  }
  // The live bytes of each pack: one copy readers take of each object in it.
  std::map<std::string, std::uint64_t> live;
  for (const auto& [id, c] : copies) {
    std::set<std::string> in;
    for (const ObjectLocation* loc : {c.history, c.all, c.stored}) {
      if (loc != nullptr && stored.count(loc->blob_id) != 0 && in.insert(loc->blob_id).second) {
        live[loc->blob_id] += loc->length;
      }
    }
  }

  // 3a. Forgotten snapshot bodies that may go (prune.h step 3a): forgotten
  // (not retained: not the head, not a device's base), older than every
  // device's base, and every device reads a deleted parent as the end of a
  // branch.
  std::optional<std::uint64_t> below;  // bodies with a smaller seq may go
  if (!devices.last_seen.empty()) below = *devices.last_seen.begin();
  if (!devices.blocking_snapshots.empty()) {
    below.reset();
    r.warnings.push_back("forgotten snapshots are kept: device(s) " +
                         Join(devices.blocking_snapshots) +
                         " would not read past a deleted one (update hx there and let it sync)");
  }
  const std::string head_id = head.head ? head.head->snapshot_id : "";
  std::set<std::string> dropping;  // to condemn, keep condemned, or delete now
  std::map<std::string, std::size_t> body_of;
  for (std::size_t b = 0; b < bodies.size(); ++b) {
    body_of[bodies[b].id] = b;
    const StoreCheck::Body& body = bodies[b];
    if (below && !body.retained && body.seq < *below && body.id != head_id) {
      dropping.insert(body.id);
    }
  }
  // What a walk from the head still reaches once they are gone.
  std::set<std::string> walkable;
  if (!head_id.empty()) {
    std::vector<std::string> todo = {head_id};
    while (!todo.empty()) {
      const std::string id = std::move(todo.back());
      todo.pop_back();
      auto it = body_of.find(id);
      if (it == body_of.end() || dropping.count(id) != 0 || !walkable.insert(id).second) continue;
      for (const std::string& parent : bodies[it->second].parents) todo.push_back(parent);
    }
  }

  // 3b. Packs that are mostly garbage (needed, live bytes below the
  // threshold) are repacked. A pack's objects are contiguous from offset 0
  // (repo/pack.h), so the end of the last one any body lists bounds its
  // object bytes; the index and trailer are not garbage (else a pack of one
  // small live object, and the new pack a repack writes for it, would be
  // repacked at every run).
  std::map<std::string, std::uint64_t> objects_end;
  for (const StoreCheck::Body& body : bodies) {
    for (const ObjectLocation& loc : body.added) {
      std::uint64_t& end = objects_end[loc.blob_id];
      end = std::max(end, loc.offset + loc.length);
    }
  }
  std::set<std::string> repack;
  for (const auto& [pack, bytes] : live) {
    const std::uint64_t size = std::min(stored.at(pack), objects_end[pack]);
    if (bytes * 100 < size * prune.repack_below_percent) repack.insert(pack);
  }

  // 3c. The relocation (prune.h): the objects whose copy readers take would
  // be lost (in a pack being repacked, or listed only by a body that goes or
  // that a walk from the head no longer reaches) are listed again by a
  // snapshot on top of the head with the same root.
  const auto body_ok = [&](std::size_t b) {
    return b == Copies::kNone ||
           (dropping.count(bodies[b].id) == 0 && walkable.count(bodies[b].id) != 0);
  };
  bool relocate = !repack.empty();
  for (const auto& [id, c] : copies) {
    if (relocate) break;
    if (c.stored == nullptr) continue;
    relocate = !body_ok(c.history_body) || !body_ok(c.stored_body) ||
               (c.all_body != Copies::kNone && dropping.count(bodies[c.all_body].id) != 0);
  }
  if (head_id.empty() || body_of.count(head_id) == 0) relocate = false;
  std::map<ObjectId, ObjectLocation> relisted;
  if (relocate) {
    std::vector<ObjectLocation> to_copy;
    for (const auto& [id, c] : copies) {
      if (c.stored == nullptr) continue;  // damaged: nothing to list (warned above)
      bool lost = !body_ok(c.history_body) || !body_ok(c.stored_body) || !body_ok(c.all_body);
      for (const ObjectLocation* loc : {c.history, c.all, c.stored}) {
        lost = lost || (loc != nullptr && repack.count(loc->blob_id) != 0);
      }
      if (!lost) continue;
      if (repack.count(c.stored->blob_id) != 0) {
        to_copy.push_back(*c.stored);
      } else {
        relisted[id] = *c.stored;
      }
    }
    for (const std::string& pack : repack) {
      ++r.packs_repacked;
      r.bytes_repacked += stored.at(pack);
    }
    r.objects_relocated = relisted.size() + to_copy.size();
    r.objects_copied = to_copy.size();
    if (!prune.dry_run) {
      RepackStats copied;
      HX_ASSIGN_OR_RETURN(const std::vector<ObjectLocation> moved,
                          CopyIntoNewPacks(s, to_copy, PackOptions{}, copied));
      for (const ObjectLocation& loc : moved) relisted[loc.id] = loc;
      for (const auto& [pack, size] : copied.packs) stored[pack] = size;
      r.packs_written = copied.packs_written;
      r.bytes_written = copied.bytes_written;
      // Published on top of the head: readers take the newest listed copy,
      // and every walk from the head meets this body first.
      const StoreCheck::Body& at_head = bodies[body_of.at(head_id)];
      Snapshot moved_to;
      moved_to.created_ms = std::max(options.now_ms, at_head.created_ms + 1);
      moved_to.root = at_head.root;
      moved_to.snapshot_id = SnapshotId(moved_to.root, moved_to.created_ms);
      moved_to.vault_id = s.ctx.vault_id;
      moved_to.parents = {head_id};
      moved_to.author = s.node_id();
      moved_to.seq = head.head->seq + 1;
      moved_to.key_fingerprint = s.config.key_fingerprint;
      moved_to.summary.files = at_head.summary.files;
      moved_to.summary.bytes = at_head.summary.bytes;
      for (const auto& [id, loc] : relisted) moved_to.added.push_back(loc);
      HX_RETURN_IF_ERROR(lock.Renew(options.now_ms));
      HX_ASSIGN_OR_RETURN(const Bytes body_bytes, EncodeSnapshotZip(s.ctx, moved_to));
      r.relocation_bytes = body_bytes.size();
      HX_RETURN_IF_ERROR(WriteSnapshot(*s.store, s.ctx, moved_to));
      if (Result<StoreVersion> published = PublishHead(
              *s.store, s.ctx, head, Head{s.ctx.vault_id, moved_to.seq, moved_to.snapshot_id});
          !published.ok()) {
        return std::move(published).error();
      }
      r.relocation_snapshot = moved_to.snapshot_id;
      r.relocation_seq = moved_to.seq;
    }
  }

  // 3d. Needed packs, with the relocation taken into account: a relisted
  // object's copy is the relisted one (the newest everywhere).
  std::set<std::string> needed;
  for (const auto& [id, c] : copies) {
    if (auto moved = relisted.find(id); moved != relisted.end()) {
      needed.insert(moved->second.blob_id);
      r.bytes_referenced += moved->second.length;
      continue;
    }
    for (const ObjectLocation* loc : {c.history, c.all, c.stored}) {
      if (loc != nullptr && stored.count(loc->blob_id) != 0) needed.insert(loc->blob_id);
    }
    if (c.stored != nullptr) r.bytes_referenced += c.stored->length;
  }
  if (prune.dry_run) {
    // Nothing was copied: the repacked packs would stop being needed.
    for (const std::string& pack : repack) needed.erase(pack);
  }
  for (const auto& [blob, size] : stored) {
    r.bytes_listed += size;
    if (needed.count(blob) != 0) r.bytes_needed += size;
  }
  r.packs_listed = stored.size();
  r.packs_needed = needed.size();
  r.garbage_bytes_in_needed_packs =
      r.bytes_needed > r.bytes_referenced ? r.bytes_needed - r.bytes_referenced : 0;

  // 4. Condemn, un-condemn, delete: packs, then snapshot bodies.
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
  // Snapshot bodies: the relocation above lists again whatever a reader
  // took from them.
  std::vector<std::string> snapshots_to_delete;
  std::map<std::string, std::int64_t> condemned_snapshots;
  for (const auto& [id, since] : next.condemned_snapshots) {
    if (body_of.count(id) == 0) {
      next.deleted_snapshots[id] = next.epoch;  // gone already: announce it
    } else if (dropping.count(id) == 0) {
      ++r.snapshots_uncondemned;
    }
  }
  for (const std::string& id : dropping) {
    auto old = next.condemned_snapshots.find(id);
    const std::int64_t since = old != next.condemned_snapshots.end() ? old->second : options.now_ms;
    if (old == next.condemned_snapshots.end()) ++r.snapshots_condemned_now;
    if (since + *grace <= options.now_ms) {
      next.deleted_snapshots[id] = next.epoch;
      snapshots_to_delete.push_back(id);
      ++r.snapshots_deleted;
      r.snapshot_bytes_deleted += bodies[body_of.at(id)].size;
    } else {
      condemned_snapshots[id] = since;
    }
  }
  next.condemned_snapshots = std::move(condemned_snapshots);
  r.snapshots_condemned = next.condemned_snapshots.size();
  const bool changed = !previous.record || previous.record->condemned != next.condemned ||
                       previous.record->deleted != next.deleted ||
                       previous.record->condemned_snapshots != next.condemned_snapshots ||
                       previous.record->deleted_snapshots != next.deleted_snapshots;
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
    for (const std::string& id : snapshots_to_delete) {
      HX_RETURN_IF_ERROR(s.store->Delete(SnapshotKey(id)));
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
          {"bytes_repacked", bytes_repacked},
          {"bytes_written", bytes_written},
          {"objects_copied", objects_copied},
          {"objects_relocated", objects_relocated},
          {"packs_repacked", packs_repacked},
          {"packs_written", packs_written},
          {"relocation_bytes", relocation_bytes},
          {"relocation_seq", relocation_seq},
          {"relocation_snapshot", relocation_snapshot},
          {"repack_below_percent", repack_below_percent},
          {"requests", requests},
          {"snapshot_bytes_deleted", snapshot_bytes_deleted},
          {"snapshots_condemned", snapshots_condemned},
          {"snapshots_condemned_now", snapshots_condemned_now},
          {"snapshots_deleted", snapshots_deleted},
          {"snapshots_forgotten", snapshots_forgotten},
          {"snapshots_retained", snapshots_retained},
          {"snapshots_uncondemned", snapshots_uncondemned},
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
  if (packs_repacked != 0) {
    out << (dry_run ? "would repack " : "repacked ") << packs_repacked << " pack(s) ("
        << bytes_repacked << " bytes, less than " << repack_below_percent
        << "% live): " << objects_copied << " object(s) copied into " << packs_written
        << " new pack(s) (" << bytes_written << " bytes)\n";
  }
  if (!relocation_snapshot.empty()) {
    out << "relocation snapshot #" << relocation_seq << " " << relocation_snapshot.substr(0, 12)
        << " (same files as the head, " << relocation_bytes << " bytes) lists "
        << objects_relocated << " object(s) anew\n";
  }
  out << (dry_run ? "would delete " : "deleted ") << packs_deleted << " pack(s), "
      << bytes_deleted << " bytes freed";
  if (bytes_written != 0) {
    out << " (" << (bytes_deleted > bytes_written ? bytes_deleted - bytes_written : 0)
        << " net of the repack's new packs)";
  }
  out << "\n";
  if (snapshots_condemned + snapshots_deleted != 0) {
    out << "forgotten snapshots: " << (dry_run ? "would delete " : "deleted ") << snapshots_deleted
        << " (" << snapshot_bytes_deleted << " bytes); " << snapshots_condemned
        << " condemned until the grace period has passed\n";
  }
  for (const std::string& w : warnings) out << "warning: " << Printable(w) << "\n";
  return out.str();
}

}  // namespace hx
