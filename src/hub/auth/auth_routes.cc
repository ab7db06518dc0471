#include "hub/auth/auth_routes.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"

namespace hx::hub {
namespace {

HttpAnswer Json(const nlohmann::json& value) {
  Result<std::string> text = WriteCanonicalJson(value);
  if (!text.ok()) return ErrorAnswer(text.error());
  return {200, *std::move(text)};
}

Result<nlohmann::json> ParseBody(std::string_view body) {
  if (body.size() > kMaxAuthBodyBytes) {
    return InvalidInput(SyncCode::kInputInvalid, "the request body is larger than " +
                                                     std::to_string(kMaxAuthBodyBytes) + " bytes")
        .With("max_size", std::to_string(kMaxAuthBodyBytes))
        .With("http_status", "413");
  }
  JsonReadOptions options;
  options.max_input_bytes = kMaxAuthBodyBytes;
  options.max_depth = 4;
  return ParseJson(body, options);
}

// A hex field of exactly `bytes` bytes.
Result<std::vector<std::uint8_t>> HexField(JsonFields& fields, std::string_view key,
                                           std::size_t bytes) {
  HX_ASSIGN_OR_RETURN(const std::string text, fields.String(key));
  if (!IsLowerHex(text, 2 * bytes)) {
    return InvalidInput(SyncCode::kInputInvalid, "field \"" + std::string(key) + "\" must be " +
                                                     std::to_string(2 * bytes) +
                                                     " lowercase hex digits")
        .With("field", std::string(key));
  }
  return *FromHex(text);
}

Result<HttpAnswer> Register(HubAuth& auth, std::string_view vault, JsonFields& fields,
                            std::int64_t now_ms) {
  RegisterRequest request;
  HX_ASSIGN_OR_RETURN(request.code, fields.String("code"));
  HX_ASSIGN_OR_RETURN(request.name, fields.String("name"));
  HX_ASSIGN_OR_RETURN(request.platform, fields.String("platform"));
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> key,
                      HexField(fields, "public_key", kEd25519PublicKeySize));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  std::copy(key.begin(), key.end(), request.public_key.begin());
  HX_ASSIGN_OR_RETURN(const DeviceRecord device, auth.Register(vault, request, now_ms));
  return Json({{"device_id", device.device_id}, {"role", std::string(RoleName(device.role))}});
}

Result<HttpAnswer> Challenge(HubAuth& auth, std::string_view vault, JsonFields& fields,
                             std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(const std::string device, fields.String("device_id"));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(const std::string challenge, auth.IssueChallenge(vault, device, now_ms));
  return Json({{"challenge", challenge}});
}

Result<HttpAnswer> Token(HubAuth& auth, std::string_view vault, JsonFields& fields,
                         std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(const std::string device, fields.String("device_id"));
  HX_ASSIGN_OR_RETURN(const std::string challenge, fields.String("challenge"));
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> signature,
                      HexField(fields, "signature", kEd25519SignatureSize));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(const IssuedToken token,
                      auth.ExchangeChallenge(vault, device, challenge, signature, now_ms));
  return Json({{"token", token.token},
               {"issued_ms", now_ms},
               {"expires_ms", token.expires_ms},
               {"role", std::string(RoleName(token.role))}});
}

}  // namespace

int AuthHttpStatus(const Error& error) {
  if (auto it = error.details.find("http_status"); it != error.details.end()) {
    if (it->second == "400") return 400;
    if (it->second == "401") return 401;
    if (it->second == "403") return 403;
    if (it->second == "404") return 404;
    if (it->second == "413") return 413;
  }
  switch (error.category) {
    case Category::kAuth:
      return 401;
    case Category::kInvalidInput:
      return 400;
    case Category::kNotFound:
      return 404;
    case Category::kAborted:
    case Category::kConflict:
      return 409;
    default:
      return error.retryable ? 503 : 500;
  }
}

HttpAnswer ErrorAnswer(const Error& error) {
  return {AuthHttpStatus(error), "{\"error\":" + error.ToJson() + "}"};
}

void RegisterAuthRoutes(Router& router, std::shared_ptr<HubAuth> auth,
                        std::function<std::int64_t()> now_ms) {
  router.Handle(
      "POST", std::string(kAuthRoutePrefix),
      [auth, now_ms](const HubRequest& request) -> HubResponse {
        const std::string_view rest = request.rest;
        const std::size_t slash = rest.find('/');
        const HttpAnswer answer =
            slash == std::string_view::npos
                ? ErrorAnswer(Error(SyncCode::kInputInvalid, Category::kNotFound,
                                    "use POST /v1/_auth/<vault>/register, challenge "
                                    "or token"))
                : HandleAuthRoute(*auth, rest.substr(0, slash), rest.substr(slash + 1),
                                  request.body, now_ms());
        return HubResponse::Json(answer.status, answer.body);
      },
      kMaxAuthBodyBytes);
}

HttpAnswer HandleAuthRoute(HubAuth& auth, std::string_view vault, std::string_view action,
                           std::string_view body, std::int64_t now_ms) {
  using RouteFn = Result<HttpAnswer> (*)(HubAuth&, std::string_view, JsonFields&, std::int64_t);
  RouteFn handler = nullptr;
  if (action == "register") handler = Register;
  if (action == "challenge") handler = Challenge;
  if (action == "token") handler = Token;
  if (handler == nullptr) {
    return ErrorAnswer(Error(
        SyncCode::kInputInvalid, Category::kNotFound,
        "no auth route is named \"" + std::string(action) + "\" (register, challenge, token)"));
  }
  Result<HttpAnswer> answer = [&]() -> Result<HttpAnswer> {
    HX_ASSIGN_OR_RETURN(const nlohmann::json value, ParseBody(body));
    HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "the request"));
    return handler(auth, vault, fields, now_ms);
  }();
  return answer.ok() ? *std::move(answer) : ErrorAnswer(answer.error());
}

Result<Principal> AuthorizeRequest(Authorizer& authorizer, std::string_view vault,
                                   std::string_view authorization, Role need, std::int64_t now_ms) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.substr(0, kScheme.size()) != kScheme) {
    return Error(SyncCode::kAuthFailed, Category::kAuth,
                 "the request has no access token (Authorization: Bearer); enroll this "
                 "device ('hx sync init ... --enroll CODE')")
        .With("http_status", "401");
  }
  Result<Principal> who =
      authorizer.Authenticate(vault, authorization.substr(kScheme.size()), now_ms);
  if (!who.ok()) {
    Error error = who.error();
    if (error.category == Category::kAuth) error.With("http_status", "401");
    return error;
  }
  if (!RoleAllows(who->role, need)) {
    return Error(SyncCode::kAuthFailed, Category::kAuth,
                 "device " + who->device_id + " is enrolled as a " +
                     std::string(RoleName(who->role)) + " of vault " + std::string(vault) +
                     " and may not do this (it needs " + std::string(RoleName(need)) +
                     "); enroll it with a " + std::string(RoleName(need)) + " code")
        .With("http_status", "403");
  }
  return who;
}

}  // namespace hx::hub
