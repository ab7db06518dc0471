#include "rpc/sync_methods.h"

#include <filesystem>
#include <set>
#include <utility>

#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "sync/merge_preview.h"

namespace hx {
namespace {

using nlohmann::json;

std::string_view MethodName(SyncMethod method) {
  switch (method) {
    case SyncMethod::kStatus: return "sync_status";
    case SyncMethod::kPush: return "sync_push";
    case SyncMethod::kPull: return "sync_pull";
    case SyncMethod::kMergePreview: return "sync_merge_preview";
  }
  return "sync";
}

Result<std::optional<std::string>> OptionalString(JsonFields& fields, std::string_view key) {
  if (!fields.Has(key)) return std::optional<std::string>();
  HX_ASSIGN_OR_RETURN(std::string value, fields.String(key));
  return std::optional<std::string>(std::move(value));
}

Result<bool> OptionalBool(JsonFields& fields, std::string_view key) {
  if (!fields.Has(key)) return false;
  return fields.Bool(key);
}

RpcFailure FailureOf(Error error) {
  // Refused params are the caller's mistake (-32602); the engine's own
  // failures are -32000.
  const bool params = error.code == SyncCode::kInputInvalid ||
                      error.code == SyncCode::kMergePolicyUnsupported;
  return RpcFailure{params ? kRpcInvalidParams : kRpcOperationFailed, std::move(error)};
}

template <typename R>
RpcResult ResultOf(const Result<R>& result) {
  if (!result.ok()) return RpcFailure{kRpcOperationFailed, result.error()};
  return result->ToJson();
}

}  // namespace

Result<SyncCallParams> ParseSyncParams(SyncMethod method, const json& params) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(params, std::string(MethodName(method)) +
                                                                    ".params"));
  SyncCallParams call;
  HX_ASSIGN_OR_RETURN(call.vault_path, fields.String("vault_path"));
  if (call.vault_path.empty()) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "params.vault_path is empty; give the vault folder")
        .With("field", "vault_path");
  }
  HX_ASSIGN_OR_RETURN(call.options.now_ms, fields.Int("now_ms"));
  // As the CLI's --now-ms (cli/sync_args.h): up to the end of the year 9999.
  constexpr std::int64_t kMaxNowMs = 253'402'300'799'999;
  if (call.options.now_ms < 0 || call.options.now_ms > kMaxNowMs) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "params.now_ms must be ms since the epoch, from 0 to " +
                     std::to_string(kMaxNowMs) + " (the end of the year 9999)")
        .With("field", "now_ms");
  }
  HX_ASSIGN_OR_RETURN(std::optional<std::string> target, OptionalString(fields, "target_uri"));
  call.options.target_uri = target.value_or("");
  HX_ASSIGN_OR_RETURN(std::optional<std::string> endpoint, OptionalString(fields, "endpoint"));
  HX_ASSIGN_OR_RETURN(std::optional<std::string> region, OptionalString(fields, "region"));
  HX_ASSIGN_OR_RETURN(const bool path_style, OptionalBool(fields, "path_style"));
  call.options.target_options = {endpoint.value_or(""), path_style, region.value_or("")};

  if (method == SyncMethod::kPush || method == SyncMethod::kPull) {
    HX_ASSIGN_OR_RETURN(std::optional<std::string> auto_merge,
                        OptionalString(fields, "auto_merge"));
    if (auto_merge) {
      HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(*auto_merge));
      call.options.auto_merge = policy;
    }
    HX_ASSIGN_OR_RETURN(call.options.allow_mass_delete, OptionalBool(fields, "allow_mass_delete"));
    HX_ASSIGN_OR_RETURN(std::optional<std::string> decisions,
                        OptionalString(fields, "decisions_file"));
    call.options.decisions_file = decisions.value_or("");
  }
  if (method == SyncMethod::kMergePreview) {
    HX_ASSIGN_OR_RETURN(std::optional<std::string> policy, OptionalString(fields, "policy"));
    if (policy) {
      HX_ASSIGN_OR_RETURN(call.policy, ParseMergePolicy(*policy));
    }
  }
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  return call;
}

void RegisterSyncMethods(RpcDispatcher& dispatcher, RpcSyncConfig config) {
  for (const SyncMethod method :
       {SyncMethod::kStatus, SyncMethod::kPush, SyncMethod::kPull, SyncMethod::kMergePreview}) {
    dispatcher.Register(std::string(MethodName(method)), [method, config](const json& params)
                                                             -> RpcResult {
      Result<SyncCallParams> call = ParseSyncParams(method, params);
      if (!call.ok()) return FailureOf(std::move(call).error());
      SyncOptions options = std::move(call->options);
      options.passphrase = config.passphrase;
      options.cwd = config.cwd;
      std::filesystem::path vault = call->vault_path;
      if (vault.is_relative() && !config.cwd.empty()) vault = config.cwd / vault;
      vault = vault.lexically_normal();
      switch (method) {
        case SyncMethod::kStatus: return ResultOf(SyncStatus(vault, options));
        case SyncMethod::kPush: return ResultOf(SyncPush(vault, options));
        case SyncMethod::kPull: return ResultOf(SyncPull(vault, options));
        case SyncMethod::kMergePreview:
          return ResultOf(SyncMergePreview(vault, options, call->policy));
      }
      return RpcFailure{kRpcInternalError, InternalError("unknown sync method")};
    });
  }
}

}  // namespace hx
