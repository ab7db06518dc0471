// Registration of the command groups (one function per cmd_*.cc).
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>

#include "cli/observe.h"
#include "cli/output.h"
#include "sync/engine.h"

namespace hx::cli {

// State shared by every command: global flags, and the exit code the chosen
// command produced (commands run from CLI11 callbacks).
struct Context {
  OutputOptions output;
  int exit_code = 0;
  // --progress, --quiet, --log-file, --log-level (cli/observe.h).
  ObsFlags obs;
  // The progress of push, pull and link (started once the flags are read).
  CommandProgress progress;
};

void RegisterVersion(CLI::App& app, Context& context);
// What `hx version` and `hx --version` print.
Report VersionReport();
void RegisterSync(CLI::App& app, Context& context);
void RegisterTools(CLI::App& app, Context& context);
// hx lock, hx member (cmd_lock.cc).
void RegisterGovernance(CLI::App& app, Context& context);
// hx sync merge-preview, added to the sync group (cmd_merge.cc).
void RegisterMergePreview(CLI::App& sync, Context& context);
// hx rpc (cmd_rpc.cc).
void RegisterRpc(CLI::App& app, Context& context);
// hx sync link, added to the sync group (cmd_link.cc).
void RegisterLink(CLI::App& sync, Context& context);
// hx sync log|restore|diff|verify, added to the sync group (cmd_history.cc).
void RegisterHistory(CLI::App& sync, Context& context);
// hx envelope export|diff|apply (cmd_envelope.cc).
void RegisterEnvelope(CLI::App& app, Context& context);
// hx sync watch, added to the sync group (cmd_watch.cc).
void RegisterWatch(CLI::App& sync, Context& context);
// hx sync status: the engine's report plus the agent's part ("agent":
// whether `hx sync watch` runs for the vault, and its status), cmd_watch.cc.
int FinishStatusWithAgent(Context& context, const std::filesystem::path& vault,
                          const Result<StatusReport>& status);
// hx sync conflicts, added to the sync group (cmd_conflicts.cc).
void RegisterConflicts(CLI::App& sync, Context& context);
// hx explain (cmd_explain.cc).
void RegisterExplain(CLI::App& app, Context& context);
// hx diag bundle (cmd_diag.cc).
void RegisterDiag(CLI::App& app, Context& context);
// hx key change-passphrase (cmd_key.cc).
void RegisterKey(CLI::App& app, Context& context);
// The global flags (--json, --progress, -q, --log-file, --log-level) on
// `app`, bound to `context` (app.cc). A command that does not fall through
// to its parent (hx serve enroll) adds them itself.
void AddGlobalOptions(CLI::App& app, Context& context);
// hx serve: the hub (cmd_serve.cc).
void RegisterServe(CLI::App& app, Context& context);
// hx serve enroll|devices|revoke|admin-token, added to the `hx serve` group (cmd_serve_admin.cc;
// cmd_serve.cc owns the group and calls this).
void RegisterServeAdmin(CLI::App& serve, Context& context);
// hx sync init --enroll CODE (hub_enroll.cc): enrolls this device with the
// hub of `target_uri` (hx:// or hxs://) and keeps the credential in
// <vault>/.hx/hub-credential.json (0600). False if the vault already holds a
// credential for that hub vault (the code is then not used). `name` empty:
// the host name.
Result<bool> EnrollVaultWithHub(const std::filesystem::path& vault, const hx::Target& target,
                                std::string_view code, std::string name);
// Lets hub stores opened by this process (OpenStore of an hx:// or hxs://
// target) find the vault's device credential in <vault>/.hx/ and get tokens
// with it (store/hub/hub_store.h's provider). Called by MakeSyncOptions.
void InstallHubTokenProvider(const std::filesystem::path& vault);
// hx completion bash|zsh|fish and hx man, hidden (cmd_completion.cc); they
// describe `app` as it is when they run, so register them with the rest.
void RegisterCompletion(CLI::App& app, Context& context);

}  // namespace hx::cli
