// libFuzzer target: the JSON-RPC dispatcher on arbitrary lines, with the
// sync methods' params parser behind a method that never touches a vault.
// Every line must produce nothing (notifications) or one canonical JSON
// response that is a JSON-RPC response object or a non-empty array of them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/canonical_json.h"
#include "rpc/dispatcher.h"
#include "rpc/sync_methods.h"

namespace {

bool IsResponse(const nlohmann::json& r) {
  return r.is_object() && r.contains("jsonrpc") && r["jsonrpc"] == "2.0" && r.contains("id") &&
         (r.contains("result") != r.contains("error"));
}

const hx::RpcDispatcher& Dispatcher() {
  static const hx::RpcDispatcher* dispatcher = [] {
    static hx::RpcDispatcher d;
    for (const auto& [name, method] :
         {std::pair{"sync_status", hx::SyncMethod::kStatus},
          std::pair{"sync_push", hx::SyncMethod::kPush},
          std::pair{"sync_pull", hx::SyncMethod::kPull},
          std::pair{"sync_merge_preview", hx::SyncMethod::kMergePreview}}) {
      const hx::SyncMethod m = method;
      d.Register(name, [m](const nlohmann::json& params) -> hx::RpcResult {
        hx::Result<hx::SyncCallParams> call = hx::ParseSyncParams(m, params);
        if (!call.ok()) return hx::RpcFailure{hx::kRpcInvalidParams, call.error()};
        return nlohmann::json{{"vault_path", call->vault_path}, {"now_ms", call->options.now_ms}};
      });
    }
    return &d;
  }();
  return *dispatcher;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const std::optional<std::string> out = Dispatcher().HandleLine(line);
  if (!out) return 0;
  const hx::Result<nlohmann::json> parsed = hx::ParseCanonicalJson(*out);
  if (!parsed.ok()) __builtin_trap();
  if (parsed->is_array()) {
    if (parsed->empty()) __builtin_trap();
    for (const nlohmann::json& r : *parsed) {
      if (!IsResponse(r)) __builtin_trap();
    }
  } else if (!IsResponse(*parsed)) {
    __builtin_trap();
  }
  return 0;
}
