#include "rpc/dispatcher.h"

#include <utility>

#include "json/canonical_json.h"

namespace hx {
namespace {

using nlohmann::json;

Error RpcError(std::string message) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput, std::move(message));
}

bool ValidId(const json& id) { return id.is_string() || id.is_number_integer() || id.is_null(); }

// The response as bytes; a value that cannot be written canonically (a
// handler returned a float) becomes an internal error response.
std::string Serialize(const json& response) {
  Result<std::string> bytes = WriteCanonicalJson(response);
  if (bytes.ok()) return std::move(bytes).value();
  const json id = response.contains("id") ? response["id"] : json(nullptr);
  Result<std::string> fallback = WriteCanonicalJson(RpcErrorResponse(
      ValidId(id) ? id : json(nullptr), kRpcInternalError,
      InternalError("the response could not be encoded: " + bytes.error().message)));
  return fallback.ok() ? std::move(fallback).value()
                       : std::string(R"({"error":{"code":-32603,"message":"internal error"},)"
                                     R"("id":null,"jsonrpc":"2.0"})");
}

}  // namespace

json RpcErrorResponse(const json& id, int code, const Error& error) {
  Result<json> data = ParseJson(error.ToJson());
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"error", {{"code", code},
                         {"message", error.message},
                         {"data", data.ok() ? std::move(data).value() : json(nullptr)}}}};
}

void RpcDispatcher::Register(std::string name, RpcHandler handler) {
  methods_.insert_or_assign(std::move(name), std::move(handler));
}

std::optional<json> RpcDispatcher::HandleRequest(const json& request) const {
  if (!request.is_object()) {
    return RpcErrorResponse(nullptr, kRpcInvalidRequest,
                            RpcError("a request must be a JSON object"));
  }
  const auto id_it = request.find("id");
  const bool has_id = id_it != request.end();
  // An invalid id cannot be echoed: the error answers to null.
  const json id = has_id && ValidId(*id_it) ? *id_it : json(nullptr);
  auto invalid = [&](std::string message) {
    return RpcErrorResponse(id, kRpcInvalidRequest, RpcError(std::move(message)));
  };
  if (has_id && !ValidId(*id_it)) return invalid("\"id\" must be a string, an integer or null");
  const auto version = request.find("jsonrpc");
  if (version == request.end() || *version != "2.0") {
    return invalid("\"jsonrpc\" must be \"2.0\"");
  }
  const auto method = request.find("method");
  if (method == request.end() || !method->is_string()) {
    return invalid("\"method\" must be a string");
  }
  for (const auto& [key, value] : request.items()) {
    if (key != "jsonrpc" && key != "method" && key != "params" && key != "id") {
      return invalid("unknown member \"" + key + "\" in the request");
    }
  }
  const auto params_it = request.find("params");
  json params = json::object();
  if (params_it != request.end()) {
    if (!params_it->is_object() && !params_it->is_array()) {
      return invalid("\"params\" must be an object or an array");
    }
    params = *params_it;
  }

  std::optional<json> response;
  const auto handler = methods_.find(method->get_ref<const std::string&>());
  if (handler == methods_.end()) {
    response = RpcErrorResponse(
        id, kRpcMethodNotFound,
        RpcError("unknown method \"" + method->get<std::string>() + "\"; the methods are" +
                 [&] {
                   std::string names;
                   for (const auto& [name, unused] : methods_) names += " " + name;
                   return names;
                 }()));
  } else if (!params.is_object()) {
    response = RpcErrorResponse(id, kRpcInvalidParams,
                                RpcError("params must be an object (named parameters)"));
  } else {
    RpcResult result = handler->second(params);
    if (auto* failure = std::get_if<RpcFailure>(&result)) {
      response = RpcErrorResponse(id, failure->code, failure->error);
    } else {
      response = json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::get<json>(std::move(result))}};
    }
  }
  if (!has_id) return std::nullopt;  // a notification: it ran, nobody hears back
  return response;
}

std::optional<std::string> RpcDispatcher::HandleLine(std::string_view line) const {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
  JsonReadOptions options;
  options.max_input_bytes = kMaxRpcLineBytes;
  options.max_depth = 64;
  Result<json> parsed = ParseJson(line, options);
  if (!parsed.ok()) {
    return Serialize(RpcErrorResponse(nullptr, kRpcParseError, parsed.error()));
  }
  const json& value = *parsed;
  if (!value.is_array()) {
    std::optional<json> response = HandleRequest(value);
    if (!response) return std::nullopt;
    return Serialize(*response);
  }
  if (value.empty()) {
    return Serialize(RpcErrorResponse(nullptr, kRpcInvalidRequest, RpcError("an empty batch")));
  }
  if (value.size() > kMaxRpcBatch) {
    return Serialize(RpcErrorResponse(
        nullptr, kRpcInvalidRequest,
        RpcError("a batch of " + std::to_string(value.size()) + " requests; at most " +
                 std::to_string(kMaxRpcBatch) + " per line")));
  }
  json responses = json::array();
  for (const json& request : value) {
    if (std::optional<json> response = HandleRequest(request)) {
      responses.push_back(std::move(*response));
    }
  }
  if (responses.empty()) return std::nullopt;
  return Serialize(responses);
}

}  // namespace hx
