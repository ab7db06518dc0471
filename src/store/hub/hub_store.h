// The hub client: a Store whose calls are requests to an hx hub (`hx
// serve`), for hxs://host:port/vault (HTTPS) and hx://host:port/vault (plain
// HTTP, loopback tests) targets. The protocol is hub/protocol.h's; errors
// come back as the hub's KC_SYNC_* JSON and are rebuilt as the same Error,
// so a caller cannot tell a hub from the store behind it.
//
// TLS: the hub's certificate is verified against the system CA store, or,
// when HX_HUB_CA names a PEM file, against that file only (a self-signed
// hub's own certificate pins it). A certificate that does not verify fails
// with KC_SYNC_NETWORK_FAILED naming HX_HUB_CA.
//
// Auth: each request carries "Authorization: Bearer <token>" from the
// TokenSource (none without one); a 401 asks for a fresh token once and
// retries the request once.
//
// Thread-safety: thread-safe (the HTTP client pools its connections).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "store/hub/token_source.h"
#include "store/store.h"

namespace hx {

struct HubStoreOptions {
  // A PEM CA bundle (or the hub's own certificate) to trust instead of the
  // system store; "" = system. OpenHubStore takes it from HX_HUB_CA.
  std::string ca_file;
  // Null: requests carry no token (a hub in its loopback test mode).
  std::shared_ptr<TokenSource> tokens;
  Clock* clock = nullptr;
  std::shared_ptr<obs::RequestMeter> meter;
};

// The store of a kHub target. No network I/O happens until the first call.
Result<std::unique_ptr<Store>> MakeHubStore(const Target& target, HubStoreOptions options);

// Where OpenHubStore and OpenHubFeed get a target's tokens: the auth library
// installs a provider at start (the device credential of the vault); none
// installed, or a null result: requests carry no token. Set it before any
// store is opened.
using HubTokenProvider = std::function<std::shared_ptr<TokenSource>(const Target&)>;
void SetHubTokenProvider(HubTokenProvider provider);

// The options OpenHubStore uses for `target`: HX_HUB_CA, the provider's
// tokens.
HubStoreOptions HubStoreOptionsFromEnvironment(const Target& target);

// The store OpenStore gives for a kHub target: MakeHubStore with
// HubStoreOptionsFromEnvironment, inside a RetryingStore.
Result<std::unique_ptr<Store>> OpenHubStore(const Target& target, Clock* clock,
                                            std::shared_ptr<obs::RequestMeter> meter);

// The change feed of a hub vault (hub/feed.h): Wait long-polls until the
// head differs from `after` (nullopt: no head seen yet) or `wait_ms` (at
// most 25 s) passes. Errors as the store's (a transport failure, a refused
// token).
struct HubFeedAnswer {
  bool changed = false;
  // The head's version now; nullopt when the vault has no head.
  std::optional<StoreVersion> head;
};
class HubFeed {
 public:
  virtual ~HubFeed() = default;
  virtual Result<HubFeedAnswer> Wait(const std::optional<StoreVersion>& after,
                                     std::int64_t wait_ms) = 0;
};
Result<std::unique_ptr<HubFeed>> MakeHubFeed(const Target& target, HubStoreOptions options);

}  // namespace hx
