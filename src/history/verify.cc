// hx sync verify and the object repair (verify.h).
#include "history/verify.h"

#include <fcntl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>

#include "base/hex.h"
#include "history/store_check.h"
#include "os/vault_dir.h"
#include "repo/object_codec.h"
#include "repo/pack.h"
#include "sync/internal.h"
#include "sync/session.h"

namespace hx {
namespace {

// The largest pack a repair reads back whole (a pack is ~16 MiB, or one
// object of at most 64 MiB).
constexpr std::uint64_t kMaxRepairPackBytes = std::uint64_t{256} << 20;
// Repair rounds at most (one per tree level a damaged tree can hide).
constexpr int kMaxRepairRounds = 64;

Status CheckPercent(const VerifyOptions& verify) {
  if (verify.seed && *verify.seed > static_cast<std::uint64_t>(INT64_MAX)) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "--seed must be below 2^63 (a seed a report named)");
  }
  if (!verify.read_data_percent) return OkStatus();
  const double p = *verify.read_data_percent;
  if (p > 0 && p <= 100) return OkStatus();
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "--read-data takes a percentage above 0 and at most 100");
}

std::optional<Error> DamageError(const VerifyReport& r, std::string_view vault_hint) {
  if (!r.damaged()) return std::nullopt;
  std::string what = std::to_string(r.damaged_objects.size()) + " damaged object(s) and " +
                     std::to_string(r.damaged_snapshots.size()) + " damaged snapshot(s)";
  if (r.affected_path_count > 0) {
    what += ", affecting " + std::to_string(r.affected_path_count) +
            " path(s) (first: " + r.affected_paths.front() + ")";
  }
  Error e(SyncCode::kVerifyDamaged, Category::kCorrupt,
          "the store at " + r.target + " has " + what + "; run 'hx sync repair " +
              std::string(vault_hint) +
              "' (with --read-data for damaged bytes) on a device that still has those files");
  e.With("damaged_objects", std::to_string(r.damaged_objects.size()))
      .With("damaged_snapshots", std::to_string(r.damaged_snapshots.size()))
      .With("affected_paths", std::to_string(r.affected_path_count));
  if (!r.affected_paths.empty()) e.With("first_path", r.affected_paths.front());
  return e;
}

// The bytes [offset, offset + size) of the vault file at `path`, read
// beneath the vault root without following a symlink; nullopt if they
// cannot be read (gone, shorter, a symlink on the way).
std::optional<std::vector<std::uint8_t>> ReadLocal(const VaultDir& vault, Env& env,
                                                   const ChunkUse& use) {
  if (use.size > kMaxObjectSize) return std::nullopt;
  Result<std::optional<VaultSlot>> slot = vault.FindParent(use.path, VaultArea::kContent);
  if (!slot.ok() || !*slot) return std::nullopt;
  int raw = -1;
  if (env.Open((*slot)->dir.get(), (*slot)->name.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw) != 0) {
    return std::nullopt;
  }
  Fd fd(env, raw);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(use.size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    std::size_t got = 0;
    if (env.PRead(fd.get(), bytes.data() + done, bytes.size() - done, use.offset + done, &got) !=
            0 ||
        got == 0) {
      return std::nullopt;
    }
    done += got;
  }
  return bytes;
}

}  // namespace

Result<VerifyReport> SyncVerify(const std::filesystem::path& vault, const SyncOptions& options,
                                const VerifyOptions& verify) {
  HX_RETURN_IF_ERROR(CheckPercent(verify));
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  StoreCheck check(s);
  VerifyReport report;
  HX_RETURN_IF_ERROR(check.Run(verify, options.now_ms, report));
  report.error = DamageError(report, vault.string());
  return report;
}

// One round of the repair: re-creates the sealed bytes of every damaged
// object of `check` this device can, and writes them back, pack by pack.
// Returns how many objects were written back.
// Objects in `done` (written back by an earlier round) are not written again.
Result<std::uint64_t> RepairRound(Session& s, StoreCheck& check, std::set<ObjectId>& done,
                                  std::uint64_t* packs_written) {
  std::map<ObjectId, Damage>& damage = check.damage();
  std::uint64_t written = 0;
  // The sealed bytes of every damaged object this device can re-create.
  HX_ASSIGN_OR_RETURN(VaultDir folder, VaultDir::Open(*s.env, s.local.vault()));
  std::map<ObjectId, std::string> base_trees;
  if (std::any_of(damage.begin(), damage.end(),
                  [](const auto& d) { return d.second.kind == ObjectKind::kTree; })) {
    // The trees of what this device last synced.
    HX_ASSIGN_OR_RETURN(const BaseState base, LoadBaseState(*s.index));
    BuildTreesOptions build;
    build.sink = [&](const ObjectId& id, std::string bytes) -> Status {
      if (damage.count(id) != 0) base_trees.emplace(id, std::move(bytes));
      return OkStatus();
    };
    (void)BuildTrees(base.entries, TreeIdFn(s.ctx), build);
  }
  std::map<std::string, std::map<std::uint64_t, std::pair<ObjectId, std::vector<std::uint8_t>>>>
      by_blob;  // blob -> offset -> (id, sealed bytes)
  for (auto& [id, d] : damage) {
    if (!d.location || done.count(id) != 0) continue;  // nowhere to put it back, or tried
    std::optional<std::vector<std::uint8_t>> plain;
    if (d.kind == ObjectKind::kChunk) {
      for (const ChunkUse& use : d.uses) {
        plain = ReadLocal(folder, *s.env, use);
        if (plain && ComputeObjectId(s.ctx, ObjectKind::kChunk, *plain) == id) break;
        plain.reset();
      }
    } else if (auto tree = base_trees.find(id); tree != base_trees.end()) {
      plain.emplace(tree->second.begin(), tree->second.end());
    }
    if (!plain || plain->size() != d.location->raw_length) continue;
    Result<std::vector<std::uint8_t>> sealed = SealObject(s.ctx, d.kind, id, *plain);
    // Sealing is deterministic for the zstd level pushes use; another
    // level would give other bytes, which cannot go back in place.
    if (!sealed.ok() || sealed->size() != d.location->length) continue;
    by_blob[d.location->blob_id][d.location->offset] = {id, std::move(*sealed)};
  }

  // Put them back, one pack at a time.
  for (auto& [blob, objects] : by_blob) {
    const std::string key = BlobKey(blob);
    std::optional<std::pair<Bytes, StoreVersion>> present;
    if (check.blobs().count(blob) != 0) {
      HX_ASSIGN_OR_RETURN(present, s.store->GetVersioned(key, kMaxRepairPackBytes));
    }
    bool fits = present.has_value();
    for (const auto& [offset, object] : objects) {
      fits = fits && offset + object.second.size() <= present->first.size();
    }
    Bytes bytes;
    if (fits) {
      // Patch the damaged ranges only; every other byte stays as it is.
      bytes = std::move(present->first);
      for (const auto& [offset, object] : objects) {
        std::memcpy(bytes.data() + offset, object.second.data(), object.second.size());
      }
    } else {
      // Rebuild the pack from the locations the snapshots record: they
      // must cover it from offset 0 without a gap.
      const std::vector<ObjectLocation> all = check.InBlob(blob);
      std::uint64_t end = 0;
      bool contiguous = true;
      for (const ObjectLocation& loc : all) {
        contiguous = contiguous && loc.offset == end;
        end = loc.offset + loc.length;
      }
      if (!contiguous || all.empty()) continue;  // the layout is not known
      PackOptions pack;
      pack.target_size = kMaxRepairPackBytes;
      PackWriter writer(s.ctx, pack);
      for (const ObjectLocation& loc : all) {
        std::vector<std::uint8_t> sealed(static_cast<std::size_t>(loc.length), 0);
        if (auto it = objects.find(loc.offset); it != objects.end()) {
          sealed = it->second.second;
        } else if (present && loc.offset + loc.length <= present->first.size()) {
          std::memcpy(sealed.data(), present->first.data() + loc.offset, sealed.size());
        }
        writer.AddSealed(loc.kind, loc.id, sealed, loc.raw_length);
      }
      bytes = writer.Finish().bytes;
    }
    if (present) {
      HX_RETURN_IF_ERROR(s.store->PutIfMatch(key, bytes, present->second));
    } else {
      HX_RETURN_IF_ERROR(s.store->PutIfAbsent(key, bytes));
    }
    ++*packs_written;
    written += objects.size();
    for (const auto& [offset, object] : objects) done.insert(object.first);
  }

  return written;
}

Result<ObjectRepairReport> RepairObjects(const std::filesystem::path& vault,
                                         const SyncOptions& options, const VerifyOptions& verify) {
  HX_RETURN_IF_ERROR(CheckPercent(verify));
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  ObjectRepairReport report;
  // Rounds: what a damaged tree hid (the objects beneath it) is checked
  // once the tree is back, so each round may find and repair more. Every
  // object ever found damaged, by hex id, with its paths.
  std::map<std::string, std::vector<std::string>> ever;
  VerifyReport last;
  std::set<ObjectId> done;
  for (int round = 0;; ++round) {
    StoreCheck check(s);
    VerifyReport now;
    HX_RETURN_IF_ERROR(check.Run(verify, options.now_ms, now));
    for (const DamagedObject& o : now.damaged_objects) {
      std::vector<std::string>& paths = ever[o.object];
      paths.insert(paths.end(), o.paths.begin(), o.paths.end());
    }
    if (round == 0) report.found = now;
    last = std::move(now);
    if (!last.damaged() || round == kMaxRepairRounds) break;
    HX_ASSIGN_OR_RETURN(const std::uint64_t written,
                        RepairRound(s, check, done, &report.packs_written));
    report.objects_repaired += written;
    if (written == 0) break;
  }

  std::set<std::string> still;  // hex ids damaged after the last round
  std::set<std::string> repaired, unrepairable;
  for (const DamagedObject& o : last.damaged_objects) {
    still.insert(o.object);
    unrepairable.insert(o.paths.begin(), o.paths.end());
  }
  for (const auto& [id, paths] : ever) {
    if (still.count(id) == 0) repaired.insert(paths.begin(), paths.end());
  }
  for (DamagedObject& o : report.found.damaged_objects) o.repaired = still.count(o.object) == 0;
  for (const std::string& path : unrepairable) repaired.erase(path);
  for (const std::string& path : repaired) {
    if (report.repaired_paths.size() < 1000) report.repaired_paths.push_back(path);
  }
  report.unrepairable_path_count = unrepairable.size();
  for (const std::string& path : unrepairable) {
    if (report.unrepairable_paths.size() < 1000) report.unrepairable_paths.push_back(path);
  }
  const std::size_t left = still.size();
  if (left > 0 || !last.damaged_snapshots.empty()) {
    std::string message = "repaired " + std::to_string(report.objects_repaired) + " of " +
                          std::to_string(ever.size()) + " damaged object(s); ";
    message += std::to_string(left) + " object(s)";
    if (!last.damaged_snapshots.empty()) {
      message += " and " + std::to_string(last.damaged_snapshots.size()) +
                 " snapshot(s) (first: " + last.damaged_snapshots.front().snapshot_id +
                 ")";
    }
    message += " cannot be repaired from this device";
    if (!report.unrepairable_paths.empty()) {
      message += " (paths: " + std::to_string(report.unrepairable_path_count) +
                 ", first: " + report.unrepairable_paths.front() + ")";
    }
    message += "; run 'hx sync repair' on a device that still has them, or restore those paths "
               "from an older snapshot ('hx sync restore')";
    report.error = Error(SyncCode::kVerifyDamaged, Category::kCorrupt, std::move(message))
                       .With("unrepairable_paths", std::to_string(report.unrepairable_path_count));
  }
  return report;
}

Result<FullRepairReport> SyncRepairAll(const std::filesystem::path& vault,
                                       const SyncOptions& options, const VerifyOptions& verify) {
  FullRepairReport report;
  HX_ASSIGN_OR_RETURN(report.records, SyncRepair(vault, options));
  HX_ASSIGN_OR_RETURN(report.objects, RepairObjects(vault, options, verify));
  report.error = report.objects.error;
  return report;
}

}  // namespace hx
