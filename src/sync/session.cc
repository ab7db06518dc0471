#include "sync/session.h"

#include "base/next_steps.h"
#include "sync/internal.h"
#include "sync/observe.h"
#include "sync/passphrase.h"

namespace hx {

Result<Target> ResolveTarget(const LocalConfig& config, const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Target remembered,
                      ParseTargetUri(config.target_uri, config.target_options, "/"));
  if (options.target_uri.empty()) return remembered;
  HX_ASSIGN_OR_RETURN(Target given,
                      ParseTargetUri(options.target_uri, options.target_options, options.cwd));
  if (!(given == remembered)) {
    return Error(SyncCode::kTargetInvalid, Category::kInvalidInput,
                 "this vault syncs with " + remembered.ToUri() + ", not " + given.ToUri() +
                     "; omit the target or pass the one given at init")
        .With("expected", remembered.ToUri())
        .With("given", given.ToUri())
        .WithNextStep(std::string(next_steps::kTargetMismatch));
  }
  return remembered;
}

Status CheckSameVault(const Target& target, const VaultConfig& store_config,
                      const LocalConfig& local) {
  if (store_config.vault_id == local.vault_id) return OkStatus();
  return Error(SyncCode::kKeyMismatch, Category::kAuth,
               "the store at " + target.ToUri() + " holds another vault (" +
                   store_config.vault_id + ") than this folder (" + local.vault_id +
                   "); was the store re-created? Nothing was changed")
      .With("store_vault_id", store_config.vault_id)
      .With("local_vault_id", local.vault_id);
}

namespace {

// OpenSession once the local state is open: on success `local` is moved
// into the session, on failure it is left as it was.
Result<Session> OpenWithLocal(LocalState& local, Env* env, Clock* clock,
                              const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Target target, ResolveTarget(local.config(), options));
  auto meter = std::make_shared<obs::RequestMeter>();
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> raw, OpenStore(target, *env, clock, meter));
  if (options.wrap_store) raw = options.wrap_store(std::move(raw));
  raw = WrapForProgress(std::move(raw), options.progress);
  auto counting = std::make_unique<CountingStore>(std::move(raw));
  CountingStore* counts = counting.get();

  Result<VaultConfig> read_config = ReadVaultConfig(*counting);
  if (!read_config.ok() && read_config.error().category == Category::kNotFound) {
    // This folder is a vault of that store: the store lost vault.json. Any
    // device with the key can write it back; init would make a new vault.
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "vault.json is missing from " + target.ToUri() + ", the store of this vault (" +
                     local.config().vault_id + "). Nothing was changed. Run 'hx sync repair' "
                     "to write it back from this device's copy (never 'hx sync init', which "
                     "would create a new vault over the old data)")
        .With("key", std::string(kVaultConfigKey))
        .WithNextStep(std::string(next_steps::kVaultJsonLost));
  }
  HX_ASSIGN_OR_RETURN(VaultConfig config, std::move(read_config));
  HX_RETURN_IF_ERROR(CheckSameVault(target, config, local.config()));

  HX_ASSIGN_OR_RETURN(std::optional<SecretKey> cached, local.LoadKey());
  SecretKey master;
  if (cached) {
    master = std::move(*cached);
    // A passphrase given anyway that does not open the store's wrap (a
    // stale one after a change elsewhere, a typo) is said, not ignored.
    CheckGivenPassphrase(config, options);
  } else {
    const Error none = Error(SyncCode::kKeyMismatch, Category::kAuth,
                             "this device has no key for the vault and no passphrase was given; "
                             "set HX_PASSPHRASE, use --passphrase-file, or run on a terminal")
                           .WithNextStep(std::string(next_steps::kPassphraseMissing));
    HX_ASSIGN_OR_RETURN(master, UnlockWithPassphrase(config, options.passphrase, none));
    if (!options.read_only) HX_RETURN_IF_ERROR(local.SaveKey(master));
  }
  HX_ASSIGN_OR_RETURN(VaultContext ctx, MakeVaultContext(config, master));
  HX_ASSIGN_OR_RETURN(FastCdc chunker, MakeVaultChunker(ctx));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(local.index_path()));
  if (!options.read_only) RememberVaultConfig(*index, config);
  return Session{std::move(local), std::move(target), std::move(counting), counts,
                 std::move(config), std::move(ctx), std::make_unique<FastCdc>(std::move(chunker)),
                 std::move(index), env, clock, options.scan_threads, std::move(meter)};
}

}  // namespace

Result<Session> OpenSession(const std::filesystem::path& vault, const SyncOptions& options) {
  Env* env = options.env != nullptr ? options.env : &Env::Default();
  Clock* clock = options.clock != nullptr ? options.clock : &env->clock();
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault, *env));
  Result<Session> session = OpenWithLocal(local, env, clock, options);
  // `hx sync status` shows the last error: a failure before the store could
  // be used (a moved store, refused credentials, no passphrase) is one too,
  // or status would show an older one as if it were the latest. A command
  // line mistake (a wrong target typed) is not; read-only sessions write
  // nothing.
  if (!session.ok() && !options.read_only &&
      session.error().category != Category::kInvalidInput) {
    if (Result<std::unique_ptr<Index>> index = Index::Open(local.index_path()); index.ok()) {
      RecordOutcome(**index, Status(session.error()));
    }
  }
  return session;
}

void RecordOutcome(Index& index, const Status& outcome) {
  const std::string value = outcome.ok() ? "null" : outcome.error().ToJson();
  // A no-change sync should cost no durable write: skip an unchanged value.
  auto current = index.GetMeta(kMetaLastError);
  if (current.ok() && *current && **current == value) return;
  if (current.ok() && !*current && outcome.ok()) return;
  (void)index.SetMeta(kMetaLastError, value);
}

}  // namespace hx
