// The engine's operations as JSON-RPC methods (dispatcher.h):
//
//   sync_status         {vault_path, target_uri?, now_ms}
//   sync_push           {vault_path, target_uri?, now_ms, auto_merge?,
//                        allow_mass_delete?, decisions_file?}
//   sync_pull           {same as sync_push}
//   sync_merge_preview  {vault_path, target_uri?, now_ms, policy?}
//
// and for S3 targets endpoint?, region?, path_style?. Results are exactly
// the CLI's --json reports (StatusReport, PushReport, PullReport, the merge
// preview report V1 or V2); a pull that applied only some items returns its
// report, whose "error" says which failed. Params that are missing, of the
// wrong type or unknown are -32602 (KC_SYNC_INPUT_INVALID in data); an
// unknown policy is -32602 with KC_SYNC_MERGE_POLICY_UNSUPPORTED; a failed
// operation is -32000 with its AppError.
//
// Thread-safety: the handlers run on the dispatcher's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "merge/policy.h"
#include "rpc/dispatcher.h"
#include "sync/engine.h"

namespace hx {

struct RpcSyncConfig {
  // Where the passphrase comes from when this device has no cached key
  // (hx rpc: HX_PASSPHRASE; never a prompt, stdin carries the requests).
  PassphraseFn passphrase;
  // Relative vault paths, targets and decision files resolve against it.
  std::string cwd;
};

// The parsed params of one sync method call.
struct SyncCallParams {
  std::string vault_path;
  SyncOptions options;  // target, now_ms, auto_merge, ... (no passphrase)
  MergePolicy policy = MergePolicy::kConservative;  // sync_merge_preview
};

enum class SyncMethod { kStatus, kPush, kPull, kMergePreview };

// Validates `params` for `method` (pure). Failures as described above.
Result<SyncCallParams> ParseSyncParams(SyncMethod method, const nlohmann::json& params);

void RegisterSyncMethods(RpcDispatcher& dispatcher, RpcSyncConfig config);

}  // namespace hx
