// Fuzzes what the envelope endpoints parse from a request before any store
// is touched (hub/envelope_hub.h): the route (a method and the path after
// /v1/_envelope/), the apply request's body, and the hub's item-set object
// (which another hub may have written). The input is "<path>\n<body>".
// Contract checked: nothing crashes; an accepted route names a valid vault
// and, where it has one, a 64-hex id (so no key the hub builds from it can
// leave _hub/<vault>/envelope/); an accepted apply request has one of the
// three seed-003 policies and decisions only with manual_per_item, each for
// a valid item_id; an accepted item set re-encodes and reads back the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/envelope_hub.h"
#include "hub/protocol.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view path = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  for (const char* method : {"GET", "POST"}) {
    const hx::Result<hx::hub::EnvelopeRoute> route = hx::hub::ParseEnvelopeRoute(method, path);
    if (route.ok()) {
      Check(hx::hub::ValidateVaultName(route->vault).ok());
      const bool has_id = route->op == hx::hub::EnvelopeOp::kDiff ||
                          route->op == hx::hub::EnvelopeOp::kApply ||
                          route->op == hx::hub::EnvelopeOp::kReport;
      Check(has_id ? hx::hub::IsEnvelopeId(route->id) : route->id.empty());
    } else {
      Check(route.error().code == hx::SyncCode::kInputInvalid);
    }
  }

  const hx::Result<hx::hub::HubApplyRequest> request = hx::hub::ParseApplyRequest(body);
  if (request.ok()) {
    Check(request->policy == hx::MergePolicy::kLocalPreferred ||
          request->policy == hx::MergePolicy::kCloudPreferred ||
          request->policy == hx::MergePolicy::kManualPerItem);
    Check(request->decisions.empty() ||
          request->policy == hx::MergePolicy::kManualPerItem);
    for (const auto& [id, side] : request->decisions) Check(hx::IsValidItemId(id));
  }

  const hx::Result<hx::hub::HubItems> items = hx::hub::ParseHubItems(body);
  if (items.ok()) {
    const hx::Result<std::string> encoded = hx::hub::EncodeHubItems(*items);
    Check(encoded.ok());
    const hx::Result<hx::hub::HubItems> again = hx::hub::ParseHubItems(*encoded);
    Check(again.ok() && again->size() == items->size());
  } else {
    Check(items.error().code == hx::SyncCode::kStateFailed);
  }
  return 0;
}
