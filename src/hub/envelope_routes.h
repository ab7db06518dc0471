// The hub's seed-003 envelope endpoints for apps (docs/FORMAT.md, "Hub
// envelope routes"): upload an envelope, preview it against the vault's item
// set on the hub (dry run), apply it with a policy, and read the stored
// report. The logic is
// hub/envelope_hub.h's; this file stores and serves it.
//
// What the hub holds: an envelope is plaintext app data (docs/ENVELOPE.md)
// that an app chose to hand the hub, not the vault's sealed objects; the hub
// never holds a vault key and never reads the vault's own store for this.
// It keeps, in the backing store under its own prefix (hub_auth.h HubKey):
//   _hub/<vault>/envelope/uploads/<id>.json   the envelope, canonical bytes;
//                                             id = SHA-256 hex of them
//   _hub/<vault>/envelope/items.json          the vault's item set (what
//                                             applies imported; no content)
//   _hub/<vault>/envelope/content/<hex>       an item's content (canonical
//                                             JSON), by its content_hash
//   _hub/<vault>/envelope/reports/<id>.json   an apply's report (with the
//                                             archived losers' names)
// Nothing happens without a request (no background import). Uploading the
// same envelope twice gives the same id and stores nothing new.
//
// Writes: contents and the report are written before the item set, which is
// replaced with a compare-and-swap (several hubs over one bucket) under a
// per-vault lock (one hub); a lost race re-reads and plans again (at most
// kApplyAttempts times, then KC_SYNC_LOCKED, retry later).
//
// Memory: parsing JSON costs about kEnvelopeMemoryFactor times its bytes,
// so a 64 MiB envelope holds some 640 MiB while it is read. Every request
// is charged that for each JSON it parses (its body, the stored envelope,
// the item set) against a hub-wide budget (hub/memory_budget.h,
// EnvelopeServiceOptions::memory); one that does not fit while others hold
// it is answered 503 KC_SYNC_NETWORK_FAILED (throttling, retryable) before
// it parses anything. One request alone always runs.
//
// Auth (hub/auth/authorizer.h): every route names a vault and is checked
// like the store routes; a reader may diff and read reports and items,
// upload and apply need a writer (403 KC_SYNC_AUTH_FAILED).
//
// Thread-safety: thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/error.h"
#include "hub/auth/authorizer.h"
#include "hub/envelope_hub.h"
#include "hub/memory_budget.h"
#include "hub/router.h"
#include "store/store.h"

namespace hx::hub {

inline constexpr int kApplyAttempts = 8;
// The largest stored report the hub serves back.
inline constexpr std::size_t kMaxEnvelopeReportBytes = std::size_t{128} << 20;
// What parsing a JSON of N bytes is charged (N times this), and the default
// budget of all envelope requests at once.
inline constexpr std::uint64_t kEnvelopeMemoryFactor = 10;
inline constexpr std::uint64_t kEnvelopeMemoryBudgetBytes = std::uint64_t{1} << 30;

struct EnvelopeServiceOptions {
  // The largest upload (bytes of JSON); 413 beyond.
  std::size_t max_upload_bytes = kMaxEnvelopeBytes;
  // The most items the hub keeps per vault.
  std::size_t max_items = kMaxHubEnvelopeItems;
  // Threads that write an apply's item contents at once (the calls are
  // independent; a folder store's are fsync-bound, S3's round-trip-bound).
  // One for fewer than 32 contents.
  std::size_t content_writers = 8;
  // The budget the requests' parsing is charged to (null: one of
  // kEnvelopeMemoryBudgetBytes of the service's own).
  std::shared_ptr<MemoryBudget> memory;
  // Dates tokens and reports (null: the real clock); must outlive the
  // service.
  Clock* clock = nullptr;
};

class EnvelopeService {
 public:
  // `store` is the hub's backing store (its root, where _hub/ lives); both
  // must outlive the service.
  EnvelopeService(Store& store, std::shared_ptr<Authorizer> authorizer,
                  EnvelopeServiceOptions options = {});

  // Registers GET and POST (and, to answer 405, PUT, DELETE and HEAD) on
  // kEnvelopeRoutePrefix.
  void Register(Router& router);

  // One request whose path started with kEnvelopeRoutePrefix (`rest` is
  // what follows it), for the routes and tests.
  HubResponse Serve(const HubRequest& request);

 private:
  using Lease = MemoryBudget::Lease;
  // Who `request` acts as on `route`, or the response that refuses it: a
  // token for the route's vault, of a writer for an upload or an apply.
  // (A POST is also checked on its headers alone, before its body is read:
  // router.h Admission.)
  std::optional<HubResponse> Admit(const HubRequest& request, const EnvelopeRoute& route,
                                   Principal& principal);
  Result<nlohmann::json> Upload(const std::string& vault, const std::string& body);
  Result<nlohmann::json> Diff(const std::string& vault, const std::string& id, Lease& lease);
  Result<nlohmann::json> Apply(const std::string& vault, const std::string& id,
                               const std::string& body, Lease& lease);
  Result<Envelope> LoadEnvelope(const std::string& vault, const std::string& id, Lease& lease);
  // Charges parsing `bytes` of JSON to `lease`: BudgetExhausted if it does
  // not fit.
  Status Charge(Lease& lease, std::uint64_t bytes) const;
  Status StoreContent(const std::string& vault, const EnvelopeItem& item);
  // StoreContent of envelope.items[i] for each i of `indexes`, on up to
  // content_writers threads; the failures, by position in `indexes`.
  std::vector<std::optional<Error>> StoreContents(const std::string& vault,
                                                  const Envelope& envelope,
                                                  const std::vector<std::size_t>& indexes);
  std::mutex& LockFor(const std::string& vault);

  Store& store_;
  std::shared_ptr<Authorizer> authorizer_;
  const EnvelopeServiceOptions options_;
  const std::shared_ptr<MemoryBudget> memory_;
  std::array<std::mutex, 64> vault_locks_;
};

}  // namespace hx::hub
