// The seed-003 envelope endpoints' logic, without sockets or a store: the
// routes' paths, the apply request's body, the hub's own item set for a
// vault (what earlier applies imported), and the dry-run diff and the apply
// plan against it. hub/envelope_routes.h serves them; docs/FORMAT.md, "Hub
// envelope routes", is the HTTP API.
//
// Sides, in the seed's words: the envelope is the app's *local* data, the
// hub's item set is the *cloud* set. So, for an item that differs (same
// item_id, another content_hash or item_type):
//   local_preferred  the envelope's version replaces the hub's ("updated");
//                    the hub's previous version is archived as
//                    "<item_id>.cloud"
//   cloud_preferred  the hub's version stays ("skipped"); the envelope's is
//                    archived as "<item_id>.local"
//   manual_per_item  per decision ("local" or "cloud"); an item without one
//                    is "conflicted" and left as it is (never guessed),
//                    while the other items are applied
// (the opposite naming of `hx envelope apply`, where the folder is local).
// New items are "created", unchanged ones "skipped", an item whose
// content_hash does not match its content "failed"; the others go on.
//
// Bounds: a route's ids are exactly 64 lowercase hex digits; the apply body
// is at most kMaxApplyBodyBytes with at most kMaxEnvelopeItems decisions;
// the item set holds at most kMaxHubEnvelopeItems items (an item beyond
// fails, the others apply).
//
// Thread-safety: pure functions and values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "envelope/envelope.h"
#include "envelope/folder.h"
#include "merge/policy.h"
#include "sync/link.h"

namespace hx::hub {

inline constexpr std::size_t kMaxApplyBodyBytes = std::size_t{16} << 20;
inline constexpr std::size_t kMaxHubEnvelopeItems = kMaxEnvelopeItems;
// The largest item-set object the hub reads (bytes of JSON).
inline constexpr std::size_t kMaxHubItemsBytes = std::size_t{64} << 20;

// The routes, under "/v1/_envelope/" (the router strips it):
//   POST <vault>/envelopes               upload (body: the envelope)
//   GET  <vault>/envelopes/<id>/diff     dry-run diff
//   POST <vault>/envelopes/<id>/apply    apply (body: HubApplyRequest)
//   GET  <vault>/reports/<id>            a stored apply report
//   GET  <vault>/items                   the hub's item set (no contents)
inline constexpr std::string_view kEnvelopeRoutePrefix = "/v1/_envelope/";
enum class EnvelopeOp { kUpload, kDiff, kApply, kReport, kItems };

struct EnvelopeRoute {
  EnvelopeOp op = EnvelopeOp::kUpload;
  std::string vault;
  std::string id;  // the envelope's or the report's (64 hex)
  // True for the operations that change the hub's state (writer only).
  bool writes() const { return op == EnvelopeOp::kUpload || op == EnvelopeOp::kApply; }
};

// Parses `rest` (the path after the prefix) for `method`. Errors:
// KC_SYNC_INPUT_INVALID with Category::kInvalidInput (a bad vault name or
// id, traversal), kNotFound (no such route: 404) or detail http_status 405
// (the path exists for another method).
Result<EnvelopeRoute> ParseEnvelopeRoute(std::string_view method, std::string_view rest);

// True if `id` is 64 lowercase hex digits.
bool IsEnvelopeId(std::string_view id);
// The id of an envelope: lowercase hex SHA-256 of its canonical bytes.
std::string EnvelopeIdOf(std::string_view canonical_bytes);

// {"policy": "local_preferred"|"cloud_preferred"|"manual_per_item",
//  "decisions": {"<item_id>": "local"|"cloud"}}  (decisions optional, only
// with manual_per_item). Strict: unknown fields, wrong types, a bad item_id
// or choice are KC_SYNC_INPUT_INVALID naming the field; another policy is
// KC_SYNC_MERGE_POLICY_UNSUPPORTED; a body above kMaxApplyBodyBytes is
// KC_SYNC_INPUT_INVALID with detail http_status 413.
struct HubApplyRequest {
  MergePolicy policy = MergePolicy::kManualPerItem;
  std::map<std::string, Side> decisions;
};
Result<HubApplyRequest> ParseApplyRequest(std::string_view body);

// The hub's item set of a vault: item_id -> the version the hub holds
// (updated_utc, item_type, content_hash; the content is stored apart, by
// hash). Stored as canonical JSON
// {"format_version":1,"items":[{"content_hash","item_id","item_type","updated_utc"}...]}.
using HubItems = std::map<std::string, LocalItem>;
Result<std::string> EncodeHubItems(const HubItems& items);
// Strict; a malformed object is KC_SYNC_STATE_FAILED (Category::kCorrupt).
Result<HubItems> ParseHubItems(std::string_view bytes);

// The dry run: DiffEnvelopeItems against the hub's set, as JSON
// {"report":"hub_envelope_diff", vault, envelope_id, schema_version, source,
//  exported_utc, items:[{item_type,item_id,change,content_hash,
//  hub_item_type,hub_content_hash,content_hash_ok}], hub_only:[ids],
//  summary:{new,changed,unchanged,conflicts,hub_only,invalid}}.
nlohmann::json HubDiffJson(const HubItems& items, const Envelope& envelope,
                           const std::string& vault, const std::string& envelope_id);

// A version the apply archived: the loser of a decided item.
struct HubArchived {
  std::string name;  // "<item_id>.cloud" (the hub's) or "<item_id>.local" (the envelope's)
  Side side = Side::kCloud;
  LocalItem version;
};

struct HubApplyPlan {
  // Statuses per envelope item (in envelope order), summary and outcome
  // (after FinishHubApply).
  EnvelopeApplyReport report;
  // The item set after the apply.
  HubItems next;
  // Envelope items whose content the hub must hold before `next` is
  // stored (written or archived): indexes into envelope.items.
  std::vector<std::size_t> contents;
  std::vector<HubArchived> archived;
};

// Plans the apply (no store is touched). Errors (nothing applied): a policy
// other than the three, decisions without manual_per_item or naming an item
// that does not differ (KC_SYNC_INPUT_INVALID).
Result<HubApplyPlan> PlanHubApply(const HubItems& items, const Envelope& envelope,
                                  const HubApplyRequest& request,
                                  std::size_t max_items = kMaxHubEnvelopeItems);
// Turns envelope item `index` into "failed" with `error` (its content could
// not be stored): its change to the item set and its archive entry are
// undone (`before` is the item set the plan started from).
void FailHubApplyItem(HubApplyPlan& plan, const HubItems& before, const Envelope& envelope,
                      std::size_t index, Error error);
// Counts the statuses and sets outcome and error: "applied"; "partial"
// (some failed: KC_SYNC_APPLY_FAILED naming the first); "needs_decisions"
// (some conflicted under manual_per_item, the rest applied:
// KC_SYNC_CONFLICT).
void FinishHubApply(HubApplyPlan& plan);

}  // namespace hx::hub
