// hx sync init and hx sync status.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "base/hex.h"
#include "base/next_steps.h"
#include "base/os_error.h"
#include "crypto/secret.h"
#include "meta/head.h"
#include "meta/lock.h"
#include "meta/snapshot.h"
#include "repo/object_codec.h"
#include "scan/scanner.h"
#include "sync/engine.h"
#include "sync/internal.h"
#include "sync/local_changes.h"
#include "sync/local_changes_stream.h"
#include "sync/passphrase.h"
#include "sync/session.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

// mkdir -p `vault` (absolute) through `env`.
Status CreateVaultFolder(Env& env, const fs::path& vault) {
  fs::path at;
  for (const fs::path& part : vault) {
    at /= part;
    if (part == "/") continue;
    int err = env.MkdirAt(AT_FDCWD, at.c_str(), 0755);
    if (err == EEXIST) {
      struct stat st;
      err = env.StatAt(AT_FDCWD, at.c_str(), &st, 0);
      if (err == 0 && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    }
    if (err != 0) return OsError(SyncCode::kStateFailed, "cannot create the vault folder", at, err);
  }
  return OkStatus();
}

// The outermost directory of `dir` (absolute) that does not exist yet:
// where a mkdir -p of `dir` starts creating. Empty if `dir` exists.
fs::path FirstMissing(Env& env, const fs::path& dir) {
  fs::path at;
  for (const fs::path& part : dir) {
    at /= part;
    struct stat st;
    if (env.StatAt(AT_FDCWD, at.c_str(), &st, 0) == ENOENT) return at;
  }
  return {};
}

// Removes `dir` if it holds nothing but empty directories (rmdir never
// removes a file): what a failed init created and left empty.
void RemoveIfEmpty(Env& env, const fs::path& dir) {
  int raw = -1;
  if (env.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, &raw) !=
      0) {
    return;
  }
  std::vector<DirEntry> entries;
  const int listed = env.ReadDir(raw, &entries);
  (void)env.Close(raw);
  if (listed != 0) return;
  for (const DirEntry& entry : entries) {
    if (entry.name == "." || entry.name == "..") continue;
    if (entry.type == DT_DIR || entry.type == DT_UNKNOWN) RemoveIfEmpty(env, dir / entry.name);
  }
  (void)env.UnlinkAt(AT_FDCWD, dir.c_str(), AT_REMOVEDIR);
}

// The folders init creates (the vault's and a folder store's, each from its
// first missing parent), removed again when init fails: a failed init
// leaves no empty folder behind, and never removes what was there before.
struct CreatedFolders {
  std::vector<fs::path> tops;
  void Undo(Env& env) const {
    for (const fs::path& top : tops) RemoveIfEmpty(env, top);
  }
};

std::string RandomId(const RandomFn& random) {
  std::array<std::uint8_t, 16> bytes;
  random(bytes);
  return ToHex(bytes);
}

Result<InitReport> Init(const fs::path& vault, const SyncOptions& options,
                        const InitOptions& init, CreatedFolders& created) {
  if (options.target_uri.empty()) {
    return InvalidInput(SyncCode::kTargetInvalid, "hx sync init needs a target URI");
  }
  HX_ASSIGN_OR_RETURN(Target target,
                      ParseTargetUri(options.target_uri, options.target_options, options.cwd));
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  InitReport report;
  report.vault_path = vault.string();
  report.target = target.ToUri();

  HX_ASSIGN_OR_RETURN(const bool initialized, LocalState::Exists(vault, env));
  if (initialized) {
    // Initializing twice is harmless with the same target.
    HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault, env));
    HX_ASSIGN_OR_RETURN(Target remembered, ResolveTarget(local.config(), options));
    report.vault_id = local.config().vault_id;
    report.node_id = local.config().node_id;
    report.created = false;
    report.already_initialized = true;
    (void)remembered;
    return report;
  }
  const fs::path store_root = target.kind == TargetKind::kFolder ? fs::path(target.path) : fs::path();
  if (!store_root.empty()) {
    // A store inside the vault would sync itself.
    const auto rel = fs::path(store_root).lexically_relative(fs::absolute(vault));
    if (!rel.empty() && *rel.begin() != "..") {
      return InvalidInput(SyncCode::kTargetInvalid,
                          "the store folder " + store_root.string() +
                              " is inside the vault; choose a folder outside it");
    }
  }

  for (const fs::path& dir : {fs::absolute(vault), store_root}) {
    if (dir.empty()) continue;
    if (fs::path top = FirstMissing(env, dir); !top.empty()) created.tops.push_back(std::move(top));
  }
  HX_RETURN_IF_ERROR(CreateVaultFolder(env, fs::absolute(vault)));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> raw, CreateStore(target, env));
  std::unique_ptr<Store> store =
      options.wrap_store ? options.wrap_store(std::move(raw)) : std::move(raw);

  // Join the store's vault if there is one (its own encryption decides
  // whether a passphrase is needed), else create one.
  std::optional<std::string> passphrase;
  VaultCreateOptions create;
  create.created_ms = options.now_ms;
  if (init.kdf_opslimit != 0) create.kdf.opslimit = init.kdf_opslimit;
  if (init.kdf_memlimit != 0) create.kdf.memlimit = init.kdf_memlimit;
  Result<VaultConfig> existing = ReadVaultConfig(*store);
  bool needs_passphrase = !init.no_encryption;
  if (existing.ok()) {
    needs_passphrase = existing->encryption == VaultEncryption::kPassphrase;
  } else if (existing.error().category != Category::kNotFound) {
    return std::move(existing).error();
  } else {
    // No vault.json, but a head: the store lost the vault.json of a vault
    // that is there. A new vault over its data would hide it; a device of
    // that vault can write vault.json back.
    HX_ASSIGN_OR_RETURN(const bool has_head, store->Exists(kHeadKey));
    if (has_head) {
      return Error(SyncCode::kStateFailed, Category::kAborted,
                   "the store at " + target.ToUri() + " holds a vault's data (head.json) but "
                   "no vault.json: it lost it. Run 'hx sync repair' on a device of that vault "
                   "to write it back, then init here to join; nothing was created")
          .With("key", std::string(kVaultConfigKey))
          .WithNextStep(std::string(next_steps::kVaultJsonLost));
    }
  }
  const Error no_passphrase = InvalidInput(
      SyncCode::kInputInvalid,
      "a passphrase is needed: set HX_PASSPHRASE, use --passphrase-file, run on a terminal, or "
      "pass --no-encryption to create an unencrypted vault")
          .WithNextStep(std::string(next_steps::kPassphraseMissing));
  const RandomFn random = init.random ? RandomFn(init.random) : RandomFn(RandomBytes);
  OpenedVault opened;
  if (existing.ok()) {
    // Joining: the passphrase must open the vault's wrap; a person at a
    // prompt may try again (sync/passphrase.h).
    HX_ASSIGN_OR_RETURN(opened.master,
                        UnlockWithPassphrase(*existing, options.passphrase, no_passphrase));
    opened.config = std::move(*existing);
  } else {
    if (needs_passphrase) {
      // A new vault: a person at a prompt types it twice.
      PassphraseRequest request;
      request.purpose = PassphraseRequest::Purpose::kCreate;
      if (options.passphrase) {
        HX_ASSIGN_OR_RETURN(passphrase, options.passphrase(request));
      }
      if (!passphrase || passphrase->empty()) return no_passphrase;
      create.passphrase = *passphrase;
    }
    // Creates it, or joins the vault of a device that won the race to.
    HX_ASSIGN_OR_RETURN(opened, InitOrJoinVault(*store, create, random));
  }

  LocalConfig config;
  config.node_id = RandomId(random);
  config.vault_id = opened.config.vault_id;
  config.target_uri = target.ToUri();
  config.target_options = target.Options();
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Create(vault, config, env));
  HX_RETURN_IF_ERROR(local.SaveKey(opened.master));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(local.index_path()));
  // The copy hx sync repair writes back if the store loses vault.json.
  RememberVaultConfig(*index, opened.config);

  report.vault_id = config.vault_id;
  report.node_id = config.node_id;
  report.created = opened.created;
  report.encrypted = opened.config.encryption == VaultEncryption::kPassphrase;
  return report;
}

// How far the head is ahead of the base: its seq distance, and the files
// changed by the newest snapshots down to the base (at most
// kMaxBehindSnapshotsRead of them read, following first parents; a snapshot
// that cannot be read ends the count, incomplete, and never fails status).
BehindSummary BehindOf(Session& s, const Head& head, const BaseState& base) {
  BehindSummary behind;
  behind.snapshots = head.seq > base.head_seq ? head.seq - base.head_seq : 0;
  std::string id = head.snapshot_id;
  for (std::uint64_t snapshots_read = 0;; ++snapshots_read) {
    if (base.snapshot_id && id == *base.snapshot_id) break;
    if (snapshots_read == kMaxBehindSnapshotsRead) {
      behind.complete = false;
      break;
    }
    Result<Snapshot> read = ReadSnapshot(*s.store, s.ctx, id);
    if (!read.ok()) {
      // Status reports what it can: a snapshot it cannot read (damaged,
      // missing) is the pull's to report; the count stops there.
      behind.complete = false;
      break;
    }
    const Snapshot& snapshot = *read;
    behind.files += snapshot.summary.added + snapshot.summary.modified + snapshot.summary.deleted;
    if (snapshot.parents.empty() || snapshot.seq <= base.head_seq) break;
    id = snapshot.parents.front();
  }
  // A head restored to an older seq, or a diverged history: at least one.
  if (behind.snapshots == 0) behind.snapshots = 1;
  return behind;
}

Result<StatusReport> StatusOf(Session& s, std::int64_t now_ms) {
  StatusReport report;
  report.now_ms = now_ms;
  report.vault_path = s.local.vault().string();
  report.target = s.target.ToUri();
  report.node_id = s.node_id();
  report.vault_id = s.ctx.vault_id;
  HX_ASSIGN_OR_RETURN(BaseState base, LoadBaseMeta(*s.index));
  if (base.snapshot_id) {
    report.base_snapshot_id = base.snapshot_id;
    report.base_head_seq = base.head_seq;
  }
  HX_ASSIGN_OR_RETURN(HeadState head, ReadHeadForBase(s, base));
  if (head.head) {
    report.remote_head_seq = head.head->seq;
    report.remote_snapshot_id = head.head->snapshot_id;
    if (!HeadIsBase(head, base)) {
      report.behind = BehindOf(s, *head.head, base);
    }
  }
  if (UnchangedSinceBaseline(s)) {
    // Exactly as the baseline saw it: no local change, no issue.
    report.local_changes = MakeChangeSummary({}, {}, {});
  } else {
    // The full comparison, directory by directory (local_changes_stream.h):
    // one directory's stat cache and base rows at a time, and the change.
    // Hashing done for status is kept: the next push need not redo it.
    ScanOptions options = s.scan_options();
    options.collect_baseline = true;
    HX_ASSIGN_OR_RETURN(StreamedLocalChanges local,
                        StreamLocalChanges(*s.index, s.local.vault(), options, *s.chunker,
                                           VaultChunkIds(s.ctx), s.node_id(),
                                           /*with_entries=*/false));
    HX_RETURN_IF_ERROR(SaveStatCache(*s.index, local.stat_changes));
    const LocalChanges& changes = local.changes;
    report.local_changes = MakeChangeSummary(changes.added, changes.modified, changes.deleted);
    report.scan_issues = DescribeIssues(local.skipped, local.errors);
    if (changes.empty() && local.baseline) SaveBaseline(s, *local.baseline);
  }

  auto meta_ms = [&](std::string_view key) -> Result<std::optional<std::int64_t>> {
    HX_ASSIGN_OR_RETURN(std::optional<std::uint64_t> v, s.index->GetMetaUint64(key));
    if (!v) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(static_cast<std::int64_t>(*v));
  };
  HX_ASSIGN_OR_RETURN(report.last_push_ms, meta_ms(kMetaLastPushMs));
  HX_ASSIGN_OR_RETURN(report.last_pull_ms, meta_ms(kMetaLastPullMs));
  HX_ASSIGN_OR_RETURN(report.counters, LoadCounters(*s.index));
  HX_ASSIGN_OR_RETURN(std::optional<std::string> last_error, s.index->GetMeta(kMetaLastError));
  report.last_error = nullptr;
  if (last_error && *last_error != "null") {
    report.last_error = nlohmann::json::parse(*last_error, nullptr, false);
    if (report.last_error.is_discarded()) report.last_error = nullptr;
  }
  return report;
}

}  // namespace

Result<InitReport> SyncInit(const fs::path& vault, const SyncOptions& options,
                            const InitOptions& init) {
  CreatedFolders created;
  Result<InitReport> report = Init(vault, options, init, created);
  if (!report.ok()) created.Undo(options.env != nullptr ? *options.env : Env::Default());
  return report;
}

Result<UnlockReport> SyncUnlock(const fs::path& vault, const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  UnlockReport report;
  report.target = s.target.ToUri();
  Result<std::optional<LockRecord>> held = ReadLock(*s.store);
  if (held.ok()) {
    report.was_locked = held->has_value();
    if (*held) report.owner = (*held)->owner;
  } else {
    report.was_locked = true;  // damaged: exactly what unlock is for
  }
  if (report.was_locked) HX_RETURN_IF_ERROR(ForceUnlock(*s.store));
  return report;
}

Result<StatusReport> SyncStatus(const fs::path& vault, const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Session session, OpenSession(vault, options));
  return StatusOf(session, options.now_ms);
}

}  // namespace hx
