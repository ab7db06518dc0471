// The hub's auth routes and the gate in front of its store routes, as plain
// functions of (request bytes, now_ms) -> (HTTP status, JSON body), so the
// server only moves bytes (hub/server) and these are tested without sockets.
//
// Routes (POST, JSON bodies; the device side is store/hub/device_credential.h
// and docs/FORMAT.md, "Hub auth routes"):
//   HubAuthPath(vault, "register")   code + public key + name/platform -> device id
//   HubAuthPath(vault, "challenge")  device id -> challenge
//   HubAuthPath(vault, "token")      device id + challenge + signature -> token
// Bodies over kMaxAuthBodyBytes are refused (413) unread; malformed JSON,
// missing fields, wrong types and unknown fields are 400
// KC_SYNC_INPUT_INVALID; refused credentials 401 KC_SYNC_AUTH_FAILED; store
// failures 503 (retryable) or 500. Every error body is the AppError JSON
// ({"error": Error::ToJson()}, as every hub route), which HubReplyError reads back.
//
// Thread-safety: as HubAuth (thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "hub/auth/authorizer.h"
#include "hub/auth/hub_auth.h"
#include "hub/router.h"

namespace hx::hub {

inline constexpr std::size_t kMaxAuthBodyBytes = 8192;

struct HttpAnswer {
  int status = 200;
  std::string body;  // JSON
};

// The HTTP status of an error: details {"http_status"} if set, else 401 for
// Category::kAuth, 400 invalid input, 404 not found, 409 aborted/conflict,
// 413 for KC_SYNC_INPUT_INVALID with detail "max_size", 503 for retryable
// categories, 500 otherwise.
int AuthHttpStatus(const Error& error);
// The error as an answer: its status and its AppError JSON.
HttpAnswer ErrorAnswer(const Error& error);

// The routes' prefix in the hub's router: POST /v1/_auth/<vault>/<action>.
inline constexpr std::string_view kAuthRoutePrefix = "/v1/_auth/";

// Registers the auth routes in the hub's router; `now_ms` is the hub's
// clock (read per request).
void RegisterAuthRoutes(Router& router, std::shared_ptr<HubAuth> auth,
                        std::function<std::int64_t()> now_ms);

// Handles POST HubAuthPath(vault, action). An unknown action is 404.
HttpAnswer HandleAuthRoute(HubAuth& auth, std::string_view vault, std::string_view action,
                           std::string_view body, std::int64_t now_ms);

// The gate of every store route: the caller named by the HTTP Authorization
// header ("Bearer <token>") if it may do what needs `need` in `vault`.
// Missing header or another scheme, and every Authenticate refusal: 401
// (KC_SYNC_AUTH_FAILED, detail http_status 401). A valid token whose role is
// too weak (a reader's write): KC_SYNC_AUTH_FAILED with http_status 403.
Result<Principal> AuthorizeRequest(Authorizer& authorizer, std::string_view vault,
                                   std::string_view authorization, Role need,
                                   std::int64_t now_ms);

}  // namespace hx::hub
