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
    // Ready when the probe object is there, or can be written again (the
    // first probe, or a store that lost it): a root that is gone or not
    // writable fails.
    const std::string probe_key = std::string(kHubStatePrefix) + "ready-probe";
    Result<bool> probe = store.Exists(probe_key);
    if (probe.ok() && !*probe) {
      static constexpr std::uint8_t kProbe[] = {'o', 'k'};
      const Status put = store.Put(probe_key, kProbe);
      if (!put.ok()) probe = put.error();
    }
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
