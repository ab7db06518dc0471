// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over lines: one
// request (or batch) per line in, one response line out. `hx rpc` runs it on
// stdin/stdout so a desktop app can embed hx by spawning it; the hub will
// serve the same methods over HTTP.
//
// The dispatcher knows the protocol only; methods are registered handlers
// (sync_methods.h registers the engine's). Protocol rules:
//   - a line that is not JSON hx reads (strict: no floats, no duplicate keys,
//     valid UTF-8, at most kMaxRpcLineBytes): -32700 Parse error, id null;
//   - not a request object ({"jsonrpc":"2.0","method":<string>, "id":
//     <string|integer|null>?, "params":<object|array>?}, no other members):
//     -32600 Invalid Request (id echoed when it was valid, else null);
//   - an unknown method: -32601; params the method refuses: -32602;
//   - a failure of the operation: kRpcOperationFailed (-32000);
//   - every error carries the AppError JSON in error.data;
//   - a request without "id" is a notification: it runs, nothing is written;
//   - a batch (array) gets an array of the responses to its non-notification
//     members; an empty batch is one -32600; a batch of more than
//     kMaxRpcBatch members is refused as a whole (-32600);
//   - a method result is exactly the JSON of the CLI's --json report.
// Responses are canonical JSON (sorted keys), so equal requests on equal
// states give identical bytes.
//
// Thread-safety: Register before use; HandleLine may then be called from one
// thread at a time (handlers run on the caller's thread).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx {

inline constexpr int kRpcParseError = -32700;
inline constexpr int kRpcInvalidRequest = -32600;
inline constexpr int kRpcMethodNotFound = -32601;
inline constexpr int kRpcInvalidParams = -32602;
inline constexpr int kRpcInternalError = -32603;
// The operation ran and failed: error.data is its AppError.
inline constexpr int kRpcOperationFailed = -32000;

inline constexpr std::size_t kMaxRpcLineBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxRpcBatch = 64;

// What a handler returns on failure: the JSON-RPC code (kRpcInvalidParams or
// kRpcOperationFailed) and the AppError.
struct RpcFailure {
  int code = kRpcOperationFailed;
  Error error;
};

// A method: params (an object; {} when absent) -> result JSON or failure.
// Handlers must not throw.
using RpcResult = std::variant<nlohmann::json, RpcFailure>;
using RpcHandler = std::function<RpcResult(const nlohmann::json& params)>;

class RpcDispatcher {
 public:
  // Adds (or replaces) a method.
  void Register(std::string name, RpcHandler handler);

  // Handles one line (without its newline). Returns the response line
  // (canonical JSON, no newline), or nullopt when nothing is to be written
  // (notifications, a batch of notifications, a blank line).
  std::optional<std::string> HandleLine(std::string_view line) const;

 private:
  // One request value -> its response, or nullopt for a notification.
  std::optional<nlohmann::json> HandleRequest(const nlohmann::json& request) const;

  std::map<std::string, RpcHandler, std::less<>> methods_;
};

// The JSON-RPC error response {"error":{code,message,data},"id","jsonrpc"}.
nlohmann::json RpcErrorResponse(const nlohmann::json& id, int code, const Error& error);

}  // namespace hx
