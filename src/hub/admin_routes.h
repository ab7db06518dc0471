// The hub's administrative JSON API, behind its status page
// (hub/status_page.h). One route, read-only:
//
//   GET /v1/_admin/status   Authorization: Bearer <admin token>
//   200 {"now_ms", "vaults": [{"name", "devices": [{"device_id", "name",
//        "platform", "role", "created_ms", "last_seen_ms", "acked_head",
//        "revoked", "revoked_ms"}], "pushes": [{"at_ms", "head",
//        "device_id", "device_name"}], "conflicts": null}],
//        "vaults_truncated", "errors": [{"at_ms", "method", "route",
//        "vault", "status", "code"}], "conflicts_note"}
//
// The token is a hub-wide admin token (token.h, kAdminScope; `hx serve
// admin-token`); a device's token, or none, is 401 KC_SYNC_AUTH_FAILED. What
// it shows is what the hub knows without any vault key: the device records
// (hub_auth.h), the pushes this hub saw (activity.h: when the head moved, to
// which version, by whose token) and the error replies it gave. Conflict
// artifacts are files inside the sealed snapshots, so their count is not
// knowable by the hub: "conflicts" is null and "conflicts_note" says why.
//
// Bounds: at most kMaxAdminVaults vaults per reply ("vaults_truncated").
// Thread-safety: as HubAuth and HubActivity (thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "hub/activity.h"
#include "hub/auth/hub_auth.h"
#include "hub/router.h"

namespace hx::hub {

inline constexpr std::string_view kAdminRoutePrefix = "/v1/_admin/";
inline constexpr std::size_t kMaxAdminVaults = 100;

// A device record as JSON (the status reply's and `hx serve devices --json`'s
// row): device_id, name, platform, role, created_ms, last_seen_ms,
// acked_head, revoked, revoked_ms.
nlohmann::json DeviceJson(const DeviceRecord& device);

// GET /v1/_admin/status for `request` at `now_ms`.
HubResponse AdminStatus(HubAuth& auth, const HubActivity& activity, const HubRequest& request,
                        std::int64_t now_ms);

// Registers the admin routes and the status page (hub/status_page.h).
void RegisterAdminRoutes(Router& router, std::shared_ptr<HubAuth> auth,
                         std::shared_ptr<const HubActivity> activity,
                         std::function<std::int64_t()> now_ms);

}  // namespace hx::hub
