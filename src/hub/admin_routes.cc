#include "hub/admin_routes.h"

#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "hub/status_page.h"

namespace hx::hub {
namespace {

constexpr std::string_view kConflictsNote =
    "Conflict artifacts are files inside the vault's sealed snapshots; the hub holds no vault "
    "key, so it cannot count them. Run 'hx sync conflicts' on a device.";

HubResponse Refused(const Error& error) {
  HubResponse response = HubResponse::FromError(error);
  response.status = error.category == Category::kAuth ? 401 : response.status;
  return response;
}

}  // namespace

nlohmann::json DeviceJson(const DeviceRecord& device) {
  return {{"device_id", device.device_id},   {"name", device.name},
          {"platform", device.platform},     {"role", std::string(RoleName(device.role))},
          {"created_ms", device.created_ms}, {"last_seen_ms", device.last_seen_ms},
          {"acked_head", device.acked_head}, {"revoked", device.revoked},
          {"revoked_ms", device.revoked_ms}};
}

HubResponse AdminStatus(HubAuth& auth, const HubActivity& activity, const HubRequest& request,
                        std::int64_t now_ms) {
  if (request.rest != "status") {
    HubResponse missing = HubResponse::BadRequest("no such admin route; use /v1/_admin/status");
    missing.status = 404;
    return missing;
  }
  if (!request.body.empty()) return HubResponse::BadRequest("a GET request has no body");
  const Result<Principal> admin = auth.AuthenticateAdmin(request.Bearer(), now_ms);
  if (!admin.ok()) return Refused(admin.error());
  const Result<std::vector<std::string>> vaults = auth.ListVaults(kMaxAdminVaults + 1);
  if (!vaults.ok()) return HubResponse::FromError(vaults.error());
  nlohmann::json out_vaults = nlohmann::json::array();
  for (std::size_t i = 0; i < vaults->size() && i < kMaxAdminVaults; ++i) {
    const std::string& vault = (*vaults)[i];
    const Result<std::vector<DeviceRecord>> devices = auth.ListDevices(vault);
    if (!devices.ok()) return HubResponse::FromError(devices.error());
    nlohmann::json device_rows = nlohmann::json::array();
    std::map<std::string, std::string, std::less<>> names;
    for (const DeviceRecord& device : *devices) {
      device_rows.push_back(DeviceJson(device));
      names[device.device_id] = device.name;
    }
    nlohmann::json pushes = nlohmann::json::array();
    for (const PushEvent& push : activity.Pushes(vault)) {
      const auto name = names.find(push.device_id);
      pushes.push_back({{"at_ms", push.at_ms},
                        {"head", push.head},
                        {"device_id", push.device_id},
                        {"device_name", name == names.end() ? "" : name->second}});
    }
    out_vaults.push_back({{"name", vault},
                          {"devices", std::move(device_rows)},
                          {"pushes", std::move(pushes)},
                          {"conflicts", nullptr}});
  }
  nlohmann::json errors = nlohmann::json::array();
  for (const ErrorEvent& error : activity.Errors()) {
    errors.push_back({{"at_ms", error.at_ms},
                      {"method", error.method},
                      {"route", error.route},
                      {"vault", error.vault},
                      {"status", error.status},
                      {"code", error.code}});
  }
  nlohmann::json body = {{"now_ms", now_ms},
                         {"vaults", std::move(out_vaults)},
                         {"vaults_truncated", vaults->size() > kMaxAdminVaults},
                         {"errors", std::move(errors)},
                         {"conflicts_note", kConflictsNote}};
  // Device names are user input: dump replaces invalid UTF-8 instead of
  // throwing; the page puts every value in with textContent.
  HubResponse response = HubResponse::Json(
      200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

void RegisterAdminRoutes(Router& router, std::shared_ptr<HubAuth> auth,
                         std::shared_ptr<const HubActivity> activity,
                         std::function<std::int64_t()> now_ms) {
  router.Handle("GET", std::string(kAdminRoutePrefix),
                [auth, activity, now_ms](const HubRequest& request) {
                  return AdminStatus(*auth, *activity, request, now_ms());
                });
  RegisterStatusPage(router);
}

}  // namespace hx::hub
