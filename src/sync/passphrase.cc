#include "sync/passphrase.h"

#include <map>
#include <optional>
#include <utility>

#include "base/mutex.h"
#include "base/printable.h"
#include "hash/blake3.h"
#include "meta/lock.h"
#include "obs/log.h"
#include "sync/internal.h"
#include "sync/session.h"

namespace hx {
namespace {

using nlohmann::json;

struct Unlocked {
  SecretKey master;
  std::optional<std::string> passphrase;  // the one that opened it
};

Result<Unlocked> UnlockAsking(const VaultConfig& config, const PassphraseFn& source,
                              const Error& none) {
  if (config.encryption != VaultEncryption::kPassphrase) {
    HX_ASSIGN_OR_RETURN(SecretKey master, UnlockVault(config, std::nullopt));
    return Unlocked{std::move(master), std::nullopt};
  }
  if (!source) return none;
  std::optional<Error> last;
  for (int attempt = 1; attempt <= kPassphraseTries; ++attempt) {
    PassphraseRequest request;
    request.purpose = PassphraseRequest::Purpose::kOpen;
    request.attempt = attempt;
    HX_ASSIGN_OR_RETURN(std::optional<std::string> given, source(request));
    if (!given || given->empty()) {
      if (last) return *std::move(last);
      return none;
    }
    Result<SecretKey> master = UnlockVault(config, *given);
    if (master.ok()) return Unlocked{std::move(*master), std::move(given)};
    if (master.error().code != SyncCode::kKeyMismatch) return std::move(master).error();
    last = std::move(master).error();
    obs::LogError(obs::LogLevel::kInfo, "passphrase.mismatch", *last, {{"attempt", attempt}});
  }
  return *std::move(last);
}

// Verdicts of CheckGivenPassphrase in this process, by BLAKE3 of the wrap
// (salt, wrapped key) and the passphrase: true = it opens the wrap. Only in
// memory: a stored verifier would let whoever copies .hx/ guess the
// passphrase far faster than through Argon2id.
struct CheckMemo {
  Mutex mu;
  std::map<Blake3Digest, bool> verdicts HX_GUARDED_BY(mu);
};
CheckMemo& TheCheckMemo() {
  static auto* memo = new CheckMemo();
  return *memo;
}

Blake3Digest CheckMemoKey(const VaultConfig& config, std::string_view passphrase) {
  Blake3Hasher hasher = Blake3Hasher::DeriveKey("hx 2026-12 passphrase check memo v1");
  hasher.Update(config.vault_id);
  if (config.kdf) hasher.Update(std::span<const std::uint8_t>(config.kdf->salt));
  hasher.Update(std::span<const std::uint8_t>(config.wrapped_master_key));
  hasher.Update(passphrase);
  return hasher.Finalize();
}

Error StaleGivenPassphrase(const VaultConfig& config) {
  return Error(SyncCode::kKeyMismatch, Category::kAuth,
               "the passphrase given (HX_PASSPHRASE or --passphrase-file) does not open the "
               "store's vault.json, so it was not used: this device went on with its cached "
               "key. If the passphrase was changed on another device ('hx key "
               "change-passphrase'), give the new one or none; a new device will need the "
               "new one")
      .With("vault_id", config.vault_id);
}

}  // namespace

Result<SecretKey> UnlockWithPassphrase(const VaultConfig& config, const PassphraseFn& source,
                                       const Error& none) {
  HX_ASSIGN_OR_RETURN(Unlocked unlocked, UnlockAsking(config, source, none));
  return std::move(unlocked.master);
}

void CheckGivenPassphrase(const VaultConfig& config, const SyncOptions& options) {
  if (!options.warning || !options.passphrase) return;
  if (config.encryption != VaultEncryption::kPassphrase) return;
  PassphraseRequest request;
  request.purpose = PassphraseRequest::Purpose::kCheck;
  Result<std::optional<std::string>> given = options.passphrase(request);
  if (!given.ok() || !*given || (*given)->empty()) return;
  const Blake3Digest key = CheckMemoKey(config, **given);
  CheckMemo& memo = TheCheckMemo();
  {
    MutexLock hold(memo.mu);
    if (memo.verdicts.contains(key)) return;  // checked (and said) already
  }
  // Argon2id outside the mutex; two threads may both check the same pair.
  const bool opens = UnlockVault(config, **given).ok();
  {
    MutexLock hold(memo.mu);
    if (!memo.verdicts.emplace(key, opens).second) return;
  }
  if (!opens) {
    const Error warning = StaleGivenPassphrase(config);
    obs::LogError(obs::LogLevel::kWarn, "passphrase.given_stale", warning);
    options.warning(warning);
  }
}

json ChangePassphraseReport::ToJson() const {
  return {{"kdf", {{"algorithm", std::string(kKdfArgon2id13)},
                   {"memlimit", kdf_memlimit},
                   {"opslimit", kdf_opslimit}}},
          {"key_fingerprint", key_fingerprint},
          {"target", target},
          {"vault_id", vault_id},
          {"vault_path", vault_path}};
}

std::string ChangePassphraseReport::ToHuman() const {
  return "changed the passphrase of vault " + vault_id + " at " + Printable(target) +
         "\nthe master key is the same: devices with a cached key keep working; a new device "
         "needs the new passphrase\n";
}

Result<ChangePassphraseReport> SyncChangePassphrase(const std::filesystem::path& vault,
                                                    const SyncOptions& options,
                                                    const ChangePassphraseOptions& change) {
  Env* env = options.env != nullptr ? options.env : &Env::Default();
  Clock* clock = options.clock != nullptr ? options.clock : &env->clock();
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault, *env));
  HX_ASSIGN_OR_RETURN(Target target, ResolveTarget(local.config(), options));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(target, *env, clock));
  if (options.wrap_store) store = options.wrap_store(std::move(store));

  // The version read is what the write is conditional on.
  Result<std::pair<Bytes, StoreVersion>> read =
      store->GetVersioned(kVaultConfigKey, kMaxVaultConfigBytes);
  if (!read.ok()) {
    if (read.error().category != Category::kNotFound) return std::move(read).error();
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "vault.json is missing from " + target.ToUri() +
                     "; run 'hx sync repair' to write it back first. Nothing was changed")
        .With("key", std::string(kVaultConfigKey));
  }
  const Bytes& current_bytes = read->first;
  const StoreVersion current_version = read->second;
  const std::string_view bytes(reinterpret_cast<const char*>(current_bytes.data()),
                               current_bytes.size());
  HX_ASSIGN_OR_RETURN(VaultConfig config, ParseVaultConfig(bytes, target.ToUri()));
  HX_RETURN_IF_ERROR(CheckSameVault(target, config, local.config()));
  if (config.encryption != VaultEncryption::kPassphrase) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "this vault is not encrypted (encryption \"none\"): it has no passphrase "
                        "to change. Nothing was changed");
  }

  // The passphrase in force, even on a device that cached the key: whoever
  // changes it must know the one it replaces.
  const Error none(SyncCode::kKeyMismatch, Category::kAuth,
                   "changing the passphrase needs the current one; set HX_PASSPHRASE, use "
                   "--passphrase-file, or run on a terminal");
  HX_ASSIGN_OR_RETURN(Unlocked unlocked, UnlockAsking(config, options.passphrase, none));

  std::optional<std::string> fresh;
  if (change.new_passphrase) {
    PassphraseRequest request;
    request.purpose = PassphraseRequest::Purpose::kCreate;
    HX_ASSIGN_OR_RETURN(fresh, change.new_passphrase(request));
  }
  if (!fresh || fresh->empty()) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "a new passphrase is needed: use --new-passphrase-file or run on a "
                        "terminal. Nothing was changed");
  }
  if (fresh == unlocked.passphrase) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the new passphrase is the current one; choose another. Nothing was "
                        "changed");
  }

  KdfParams kdf;
  if (change.kdf_opslimit != 0) kdf.opslimit = change.kdf_opslimit;
  if (change.kdf_memlimit != 0) kdf.memlimit = change.kdf_memlimit;
  const RandomFn random = change.random ? RandomFn(change.random) : RandomFn(RandomBytes);
  HX_ASSIGN_OR_RETURN(VaultConfig rewrapped,
                      RewrapVaultConfig(config, unlocked.master, *fresh, kdf, random));
  // The new record must open with the new passphrase before it replaces the
  // one that opens with the old: a bug here would lock every new device out.
  if (Result<SecretKey> check = UnlockVault(rewrapped, *fresh); !check.ok()) {
    return InternalError("the re-wrapped vault.json does not open with the new passphrase: " +
                         check.error().message);
  }
  HX_ASSIGN_OR_RETURN(const std::string encoded, EncodeVaultConfig(rewrapped));

  {
    HX_ASSIGN_OR_RETURN(WriteLock lock,
                        WriteLock::Acquire(*store, local.config().node_id, options.now_ms));
    const std::span<const std::uint8_t> out(reinterpret_cast<const std::uint8_t*>(encoded.data()),
                                            encoded.size());
    Result<StoreVersion> written = store->PutIfMatch(kVaultConfigKey, out, current_version);
    if (!written.ok()) {
      Error error = std::move(written).error();
      if (error.category != Category::kAborted) return error;
      return Error(SyncCode::kStateFailed, Category::kAborted,
                   "vault.json at " + target.ToUri() + " changed while the passphrase was being "
                   "changed (another device changed it meanwhile?). Nothing was changed here; "
                   "run 'hx key change-passphrase' again with the passphrase now in force")
          .With("key", std::string(kVaultConfigKey));
    }
    HX_RETURN_IF_ERROR(lock.Release());
  }
  obs::Log(obs::LogLevel::kInfo, "key.passphrase_changed", {{"vault_id", config.vault_id}});

  // This device's copy of vault.json (what hx sync repair writes back) is
  // the new record, and its key is cached. Best effort for the copy, as in
  // every session; the key is needed.
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(local.index_path()));
  RememberVaultConfig(*index, rewrapped);
  HX_ASSIGN_OR_RETURN(std::optional<SecretKey> cached, local.LoadKey());
  if (!cached) HX_RETURN_IF_ERROR(local.SaveKey(unlocked.master));

  ChangePassphraseReport report;
  report.vault_path = vault.string();
  report.target = target.ToUri();
  report.vault_id = rewrapped.vault_id;
  report.key_fingerprint = rewrapped.key_fingerprint;
  report.kdf_opslimit = rewrapped.kdf->opslimit;
  report.kdf_memlimit = rewrapped.kdf->memlimit;
  return report;
}

}  // namespace hx
