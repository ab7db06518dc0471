#include "hub/health.h"

#include <string>

#include "obs/metrics.h"

namespace hx::hub {

void RegisterHealthRoutes(Router& router, Store& store) {
  router.Handle("GET", "/healthz", [](const HubRequest& request) {
    if (request.path != "/healthz") return HubResponse::BadRequest("no such path; use /healthz");
    return HubResponse::Json(200, R"({"status":"ok"})");
  });
  router.Handle("GET", "/readyz", [&store](const HubRequest& request) {
    if (request.path != "/readyz") return HubResponse::BadRequest("no such path; use /readyz");
    const Result<bool> probe = store.Exists(std::string(kHubStatePrefix) + "ready-probe");
    if (!probe.ok()) {
      HubResponse response = HubResponse::FromError(probe.error());
      response.status = 503;
      return response;
    }
    return HubResponse::Json(200, R"({"status":"ready"})");
  });
  router.Handle("GET", "/metrics", [](const HubRequest& request) {
    if (request.path != "/metrics") return HubResponse::BadRequest("no such path; use /metrics");
    HubResponse response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = obs::DefaultMetrics().RenderPrometheus();
    return response;
  });
}

}  // namespace hx::hub
