// What every sync operation opens first, in this order: the local state (and
// its process lock), the target (it must be the one given at init), the
// store, vault.json, the key (cached, or unlocked with the passphrase), the
// chunker and the local index. Internal to the sync module.
//
// Nothing is written to the store or the folder while opening; the only
// local write is the key cache after a successful unlock.
//
// Thread-safety: a Session is used by one thread (the operations' own
// worker threads get what they need by reference).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "chunk/fastcdc.h"
#include "index/index.h"
#include "repo/vault.h"
#include "repo/vault_context.h"
#include "scan/scanner.h"
#include "store/store.h"
#include "store/store_wrappers.h"
#include "sync/engine.h"
#include "sync/local_state.h"

namespace hx {

struct Session {
  LocalState local;
  Target target;
  std::unique_ptr<Store> store;
  CountingStore* counts = nullptr;  // the outermost wrapper of `store`
  VaultConfig config;
  VaultContext ctx;
  std::unique_ptr<FastCdc> chunker;
  std::unique_ptr<Index> index;
  // The local file system and the clock of this operation (from
  // SyncOptions; never null).
  Env* env = &Env::Default();
  Clock* clock = &Env::Default().clock();
  // Threads of the scan and the baseline check (SyncOptions::scan_threads).
  int scan_threads = 0;
  // Counts an S3 store's requests as they go on the wire (the store usage
  // of reports, sync/observe.h); shared with the store, which records in it.
  std::shared_ptr<obs::RequestMeter> meter = nullptr;

  const std::string& node_id() const { return local.config().node_id; }
  // How this session scans the vault: its Env, clock and threads.
  ScanOptions scan_options() const {
    ScanOptions options;
    options.threads = scan_threads;
    options.env = env;
    options.clock = clock;
    return options;
  }
};

// Resolves `options.target_uri` (or the remembered target if empty) and
// checks it is the one given at init: a different one is
// KC_SYNC_TARGET_INVALID naming both.
Result<Target> ResolveTarget(const LocalConfig& config, const SyncOptions& options);

// KC_SYNC_KEY_MISMATCH unless the store at `target` (its vault.json read as
// `store_config`) holds the vault this folder belongs to: a store re-created
// under the same URI holds another one.
Status CheckSameVault(const Target& target, const VaultConfig& store_config,
                      const LocalConfig& local);

Result<Session> OpenSession(const std::filesystem::path& vault, const SyncOptions& options);

// Records the outcome of an operation in the index (last error, or clears
// it), best effort: a failure to record never hides the operation's result.
void RecordOutcome(Index& index, const Status& outcome);

}  // namespace hx
