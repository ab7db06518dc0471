// hx sync repair (see repair.h), and the copy of vault.json every device
// keeps for it.
#include "sync/repair.h"

#include <string_view>

#include "meta/head.h"
#include "meta/lock.h"
#include "meta/snapshot.h"
#include "repo/vault.h"
#include "sync/internal.h"
#include "sync/local_changes.h"
#include "sync/passphrase.h"
#include "sync/session.h"

namespace hx {
namespace {

std::span<const std::uint8_t> AsSpan(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Writes vault.json back from this device's copy, if the store has none.
// Returns "ok" or "rewritten". Opens (and closes again) the local state,
// the store and the index itself: OpenSession needs the vault.json this
// repairs.
Result<std::string> RepairVaultConfig(const std::filesystem::path& vault,
                                      const SyncOptions& options) {
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault, env));
  HX_ASSIGN_OR_RETURN(Target target, ResolveTarget(local.config(), options));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                      OpenStore(target, env, options.clock != nullptr ? options.clock : &env.clock()));
  if (options.wrap_store) store = options.wrap_store(std::move(store));
  Result<Bytes> present = store->Get(kVaultConfigKey, kMaxVaultConfigBytes);
  if (present.ok()) return std::string("ok");
  if (present.error().category != Category::kNotFound) return std::move(present).error();

  HX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(local.index_path()));
  HX_ASSIGN_OR_RETURN(std::optional<std::string> copy, index->GetMeta(kMetaVaultConfig));
  if (!copy || copy->empty()) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "vault.json is missing from " + target.ToUri() +
                     " and this device keeps no copy of it (it has not synced since it was "
                     "set up by an older hx); run 'hx sync repair' on another device of this "
                     "vault. Do not run 'hx sync init': it would create a new vault")
        .With("key", std::string(kVaultConfigKey));
  }
  HX_ASSIGN_OR_RETURN(VaultConfig config, ParseVaultConfig(*copy, "this device's copy"));
  if (config.vault_id != local.config().vault_id) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "this device's copy of vault.json belongs to vault " + config.vault_id +
                     ", not to this folder's vault " + local.config().vault_id +
                     "; nothing was written")
        .With("key", std::string(kVaultConfigKey));
  }
  // Only a device that holds the master key vouches for the record: its
  // cached key must match the fingerprint, or the passphrase unwrap it.
  HX_ASSIGN_OR_RETURN(std::optional<SecretKey> cached, local.LoadKey());
  if (cached) {
    HX_RETURN_IF_ERROR(MakeVaultContext(config, *cached));
  } else {
    const Error none(SyncCode::kKeyMismatch, Category::kAuth,
                     "this device has no key for the vault and no passphrase was given; set "
                     "HX_PASSPHRASE, use --passphrase-file, or run on a terminal");
    HX_RETURN_IF_ERROR(UnlockWithPassphrase(config, options.passphrase, none));
  }
  Result<StoreVersion> written = store->PutIfAbsent(kVaultConfigKey, AsSpan(*copy));
  if (!written.ok()) {
    // Written back by another device meanwhile: OpenSession checks it.
    if (written.error().category == Category::kAborted) return std::string("ok");
    return std::move(written).error();
  }
  return std::string("rewritten");
}

Result<RepairReport> Repair(const std::filesystem::path& vault, const SyncOptions& options) {
  RepairReport report;
  HX_ASSIGN_OR_RETURN(report.vault_json, RepairVaultConfig(vault, options));

  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  report.target = s.target.ToUri();
  HX_ASSIGN_OR_RETURN(BaseState base, LoadBaseMeta(*s.index));
  HX_ASSIGN_OR_RETURN(HeadState head, ReadHead(*s.store, s.ctx));
  if (head.head) {
    report.head_seq = head.head->seq;
    report.snapshot_id = head.head->snapshot_id;
    if (head.head->seq >= base.max_head_seq) {
      report.head = "ok";
      return report;
    }
    // A head older than one this device saw: the user says the store was
    // restored. Lower the replay guard; the next pull merges.
    HX_RETURN_IF_ERROR(s.index->SetMeta(kMetaMaxHeadSeq, std::to_string(head.head->seq)));
    report.head = "rollback_accepted";
    return report;
  }
  if (!base.snapshot_id) {
    report.head = "empty";
    return report;
  }
  // head.json is gone and this device synced *base.snapshot_id: publish
  // that head again, under the write lock, if the snapshot is still there.
  HX_ASSIGN_OR_RETURN(WriteLock lock, WriteLock::Acquire(*s.store, s.node_id(), options.now_ms));
  HX_ASSIGN_OR_RETURN(head, ReadHead(*s.store, s.ctx));
  if (head.head) {
    // Another device repaired it meanwhile.
    HX_RETURN_IF_ERROR(lock.Release());
    report.head = "ok";
    report.head_seq = head.head->seq;
    report.snapshot_id = head.head->snapshot_id;
    return report;
  }
  Result<Snapshot> snapshot = ReadSnapshot(*s.store, s.ctx, *base.snapshot_id);
  if (!snapshot.ok()) {
    Error e = std::move(snapshot).error();
    if (e.category != Category::kNotFound) return e;
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "head.json is missing from " + s.target.ToUri() + " and so is snapshot " +
                     *base.snapshot_id + ", the one this device last synced: it cannot "
                     "vouch for any head. Run 'hx sync repair' on another device")
        .With("key", std::string(kHeadKey))
        .With("snapshot", *base.snapshot_id);
  }
  const Head restored{s.ctx.vault_id, base.head_seq, *base.snapshot_id};
  HX_RETURN_IF_ERROR(RestoreHead(*s.store, s.ctx, restored));
  HX_RETURN_IF_ERROR(lock.Release());
  report.head = "republished";
  report.head_seq = restored.seq;
  report.snapshot_id = restored.snapshot_id;
  return report;
}

}  // namespace

void RememberVaultConfig(Index& index, const VaultConfig& config) {
  Result<std::string> bytes = EncodeVaultConfig(config);
  if (!bytes.ok()) return;
  Result<std::optional<std::string>> kept = index.GetMeta(kMetaVaultConfig);
  if (kept.ok() && *kept && **kept == *bytes) return;  // the usual case: no write
  (void)index.SetMeta(kMetaVaultConfig, *bytes);
}

Result<RepairReport> SyncRepair(const std::filesystem::path& vault, const SyncOptions& options) {
  return Repair(vault, options);
}

nlohmann::json RepairReport::ToJson() const {
  return {{"head", head},
          {"head_seq", head_seq ? nlohmann::json(*head_seq) : nlohmann::json(nullptr)},
          {"snapshot_id", snapshot_id ? nlohmann::json(*snapshot_id) : nlohmann::json(nullptr)},
          {"target", target},
          {"vault_json", vault_json}};
}

std::string RepairReport::ToHuman() const {
  std::string out;
  out += vault_json == "rewritten" ? "vault.json: written back from this device's copy\n"
                                   : "vault.json: present\n";
  const std::string at =
      head_seq ? " (seq " + std::to_string(*head_seq) + ", snapshot " +
                     snapshot_id->substr(0, 16) + ")"
               : std::string();
  if (head == "republished") {
    out += "head.json: published this device's last synced head again" + at + "\n";
  } else if (head == "rollback_accepted") {
    out += "head.json: accepted the store's older head" + at +
           "; pull to merge it, then push what it lacks\n";
  } else if (head == "empty") {
    out += "head.json: none (nothing was ever synced here)\n";
  } else {
    out += "head.json: present" + at + "\n";
  }
  if (vault_json == "ok" && (head == "ok" || head == "empty")) {
    out += "nothing to repair at " + target + "\n";
  }
  return out;
}

}  // namespace hx
