// The hub's health and metrics routes, for load balancers and Prometheus:
//   GET /healthz   200 {"status":"ok"} while the process serves requests
//   GET /readyz    200 {"status":"ready"} when the backing store holds the
//                  probe object "_hub/ready-probe" or takes it again (a
//                  read, and a write the first time), else 503 with the
//                  store's error ({"error": ...})
//   GET /metrics   the process's metrics (obs/metrics.h) in the Prometheus
//                  text format: hx_hub_requests_total{route,status},
//                  hx_hub_request_duration_seconds{route},
//                  hx_hub_open_connections, hx_hub_open_feeds, and the store
//                  metrics of the backing store's calls
// None needs a token: they say nothing about any vault.
//
// Thread-safety: the handlers are thread-safe; `store` must outlive the
// router's use.
#pragma once

#include "hub/router.h"
#include "store/store.h"

namespace hx::hub {

// The prefix of the hub's own state in the backing store (devices, tokens,
// revocations; hub/auth/): keys "_hub/..." of the whole backing store. Each
// vault's objects live under "<vault>/" (hub/vault_stores.h), and vault
// names cannot start with '_', so no vault's keys can reach it.
inline constexpr std::string_view kHubStatePrefix = "_hub/";

void RegisterHealthRoutes(Router& router, Store& store);

}  // namespace hx::hub
