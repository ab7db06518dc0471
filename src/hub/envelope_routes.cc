#include "hub/envelope_routes.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "hub/auth/hub_auth.h"  // HubKey
#include "json/canonical_json.h"
#include "store/retry_policy.h"  // ClockOrReal

namespace hx::hub {
namespace {

std::string Text(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }
std::span<const std::uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string UploadKey(const std::string& vault, const std::string& id) {
  return HubKey(vault, "envelope/uploads/" + id + ".json");
}
std::string ItemsKey(const std::string& vault) { return HubKey(vault, "envelope/items.json"); }
std::string ContentKey(const std::string& vault, std::string_view content_hash) {
  return HubKey(vault, "envelope/content/" + std::string(content_hash.substr(7)));
}
std::string ReportKey(const std::string& vault, const std::string& id) {
  return HubKey(vault, "envelope/reports/" + id + ".json");
}

HubResponse JsonReply(int status, const Result<nlohmann::json>& value) {
  if (!value.ok()) return HubResponse::FromError(value.error());
  Result<std::string> text = WriteCanonicalJson(*value);
  if (!text.ok()) return HubResponse::FromError(text.error());
  return HubResponse::Json(status, *std::move(text));
}

Error NotUploaded(const std::string& vault, const std::string& id) {
  return Error(SyncCode::kInputInvalid, Category::kNotFound,
               "no envelope " + id + " was uploaded to vault " + vault +
                   "; upload it first (POST /v1/_envelope/" + vault + "/envelopes)")
      .With("envelope_id", id);
}

// The items and their version (empty: none stored yet); `charge` is called
// with the bytes before they are parsed.
template <typename Charge>
Result<std::pair<HubItems, StoreVersion>> LoadItems(Store& store, const std::string& vault,
                                                    Charge charge) {
  auto got = store.GetVersioned(ItemsKey(vault), kMaxHubItemsBytes);
  if (!got.ok()) {
    if (got.error().category == Category::kNotFound) {
      return std::pair<HubItems, StoreVersion>();
    }
    return got.error();
  }
  HX_RETURN_IF_ERROR(charge(got->first.size()));
  HX_ASSIGN_OR_RETURN(HubItems items, ParseHubItems(Text(got->first)));
  return std::pair<HubItems, StoreVersion>(std::move(items), std::move(got->second));
}

nlohmann::json ArchiveJson(const std::string& vault, const std::vector<HubArchived>& archived) {
  nlohmann::json list = nlohmann::json::array();
  for (const HubArchived& a : archived) {
    list.push_back({{"name", a.name},
                    {"side", std::string(ToString(a.side))},
                    {"item_type", a.version.item_type},
                    {"item_id", a.version.item_id},
                    {"updated_utc", a.version.updated_utc},
                    {"content_hash", a.version.content_hash},
                    {"content_key", ContentKey(vault, a.version.content_hash)}});
  }
  return list;
}

}  // namespace

EnvelopeService::EnvelopeService(Store& store, std::shared_ptr<Authorizer> authorizer,
                                 EnvelopeServiceOptions options)
    : store_(store),
      authorizer_(std::move(authorizer)),
      options_(options),
      memory_(options_.memory ? options_.memory
                              : std::make_shared<MemoryBudget>(kEnvelopeMemoryBudgetBytes)) {}

Status EnvelopeService::Charge(Lease& lease, std::uint64_t bytes) const {
  if (lease.TryGrow(bytes * kEnvelopeMemoryFactor)) return {};
  return BudgetExhausted("envelope work", memory_->limit());
}

void EnvelopeService::Register(Router& router) {
  const Admission admit_post = [this](const HubRequest& head) -> std::optional<HubResponse> {
    const Result<EnvelopeRoute> route = ParseEnvelopeRoute(head.method, head.rest);
    if (!route.ok()) return HubResponse::FromError(route.error());
    Principal principal;
    return Admit(head, *route, principal);
  };
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "HEAD"}) {
    const bool post = std::string_view(method) == "POST";
    router.Handle(
        method, std::string(kEnvelopeRoutePrefix),
        [this](const HubRequest& request) { return Serve(request); },
        post ? std::max<std::uint64_t>(options_.max_upload_bytes, kMaxApplyBodyBytes)
             : kDefaultRouteBodyBytes,
        post ? admit_post : Admission());
  }
}

std::optional<HubResponse> EnvelopeService::Admit(const HubRequest& request,
                                                  const EnvelopeRoute& route,
                                                  Principal& principal) {
  Result<Principal> who = authorizer_->Authenticate(route.vault, request.Bearer(),
                                                    ClockOrReal(options_.clock).WallMs());
  if (!who.ok()) return HubResponse::FromError(who.error());
  if (who->vault != route.vault) {
    return HubResponse::FromError(
        Error(SyncCode::kAuthFailed, Category::kAuth,
              "the token is for another vault; get a token for this vault"));
  }
  if (route.writes() && !RoleAllows(who->role, Role::kWriter)) {
    return HubResponse::FromError(
        Error(SyncCode::kAuthFailed, Category::kAuth,
              "this device is enrolled as a reader of the vault: it may preview "
              "envelopes and read reports, but uploading and applying need a "
              "writer enrollment")
            .With("device", who->device_id)
            .With("http_status", "403"));
  }
  principal = std::move(*who);
  return std::nullopt;
}

std::mutex& EnvelopeService::LockFor(const std::string& vault) {
  return vault_locks_[std::hash<std::string>{}(vault) % vault_locks_.size()];
}

HubResponse EnvelopeService::Serve(const HubRequest& request) {
  const Result<EnvelopeRoute> route = ParseEnvelopeRoute(request.method, request.rest);
  if (!route.ok()) return HubResponse::FromError(route.error());
  Principal who;
  if (std::optional<HubResponse> refused = Admit(request, *route, who)) return *refused;
  const std::string& vault = route->vault;
  std::optional<Lease> lease = memory_->TryAcquire(0);
  if (!lease) return HubResponse::FromError(BudgetExhausted("envelope work", memory_->limit()));
  if (const Status charged = Charge(*lease, request.body.size()); !charged.ok()) {
    return HubResponse::FromError(charged.error());
  }
  switch (route->op) {
    case EnvelopeOp::kUpload: {
      Result<nlohmann::json> uploaded = Upload(vault, request.body);
      const bool created = uploaded.ok() && (*uploaded)["created"].get<bool>();
      return JsonReply(created ? 201 : 200, uploaded);
    }
    case EnvelopeOp::kDiff:
      return JsonReply(200, Diff(vault, route->id, *lease));
    case EnvelopeOp::kApply:
      return JsonReply(200, Apply(vault, route->id, request.body, *lease));
    case EnvelopeOp::kReport: {
      Result<Bytes> report = store_.Get(ReportKey(vault, route->id), kMaxEnvelopeReportBytes);
      if (!report.ok()) {
        if (report.error().category != Category::kNotFound)
          return HubResponse::FromError(report.error());
        return HubResponse::FromError(Error(SyncCode::kInputInvalid, Category::kNotFound,
                                            "no report " + route->id + " in vault " + vault +
                                                "; the apply that made it returned its report_id")
                                          .With("report_id", route->id));
      }
      return HubResponse::Json(200, Text(*report));
    }
    case EnvelopeOp::kItems: {
      Result<std::pair<HubItems, StoreVersion>> items =
          LoadItems(store_, vault, [&](std::uint64_t n) { return Charge(*lease, n); });
      if (!items.ok()) return HubResponse::FromError(items.error());
      Result<std::string> text = EncodeHubItems(items->first);
      if (!text.ok()) return HubResponse::FromError(text.error());
      return HubResponse::Json(200, *std::move(text));
    }
  }
  return HubResponse::BadRequest("internal: an unknown envelope route");
}

Result<nlohmann::json> EnvelopeService::Upload(const std::string& vault, const std::string& body) {
  if (body.size() > options_.max_upload_bytes) {
    return InvalidInput(SyncCode::kInputInvalid, "the envelope is larger than the hub accepts (" +
                                                     std::to_string(options_.max_upload_bytes) +
                                                     " bytes)")
        .With("max_size", std::to_string(options_.max_upload_bytes))
        .With("http_status", "413");
  }
  HX_ASSIGN_OR_RETURN(const Envelope envelope, ParseEnvelope(body));
  HX_ASSIGN_OR_RETURN(const std::string canonical, EncodeEnvelope(envelope));
  const std::string id = EnvelopeIdOf(canonical);
  bool created = true;
  Result<StoreVersion> put = store_.PutIfAbsent(UploadKey(vault, id), AsBytes(canonical));
  if (!put.ok()) {
    if (put.error().category != Category::kAborted) return put.error();
    created = false;  // the same bytes are there: the id is their hash
  }
  return nlohmann::json{{"envelope_id", id},
                        {"vault", vault},
                        {"created", created},
                        {"schema_version", envelope.schema_version},
                        {"items", envelope.items.size()},
                        {"bytes", canonical.size()}};
}

Result<Envelope> EnvelopeService::LoadEnvelope(const std::string& vault, const std::string& id,
                                               Lease& lease) {
  Result<Bytes> bytes = store_.Get(UploadKey(vault, id), kMaxEnvelopeBytes);
  if (!bytes.ok()) {
    if (bytes.error().category == Category::kNotFound) return NotUploaded(vault, id);
    return bytes.error();
  }
  HX_RETURN_IF_ERROR(Charge(lease, bytes->size()));
  Result<Envelope> envelope = ParseEnvelope(Text(*bytes));
  if (!envelope.ok()) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "the stored envelope " + id + " no longer reads (" + envelope.error().message +
                     "); upload it again")
        .With("envelope_id", id);
  }
  return envelope;
}

Result<nlohmann::json> EnvelopeService::Diff(const std::string& vault, const std::string& id,
                                             Lease& lease) {
  HX_ASSIGN_OR_RETURN(const Envelope envelope, LoadEnvelope(vault, id, lease));
  HX_ASSIGN_OR_RETURN(const auto items,
                      LoadItems(store_, vault, [&](std::uint64_t n) { return Charge(lease, n); }));
  return HubDiffJson(items.first, envelope, vault, id);
}

Status EnvelopeService::StoreContent(const std::string& vault, const EnvelopeItem& item) {
  const std::string key = ContentKey(vault, item.content_hash);
  HX_ASSIGN_OR_RETURN(const bool there, store_.Exists(key));
  if (there) return OkStatus();  // content-addressed: the same bytes
  HX_ASSIGN_OR_RETURN(const std::string canonical, WriteCanonicalJson(item.content));
  return store_.Put(key, AsBytes(canonical));
}

std::vector<std::optional<Error>> EnvelopeService::StoreContents(
    const std::string& vault, const Envelope& envelope, const std::vector<std::size_t>& indexes) {
  std::vector<std::optional<Error>> failures(indexes.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < indexes.size(); i = next.fetch_add(1)) {
      const Status stored = StoreContent(vault, envelope.items[indexes[i]]);
      if (!stored.ok()) failures[i] = stored.error();
    }
  };
  std::vector<std::thread> writers;
  const std::size_t count = std::min<std::size_t>(options_.content_writers, indexes.size() / 16);
  for (std::size_t i = 1; i < count; ++i) writers.emplace_back(work);
  work();
  for (std::thread& writer : writers) writer.join();
  return failures;
}

Result<nlohmann::json> EnvelopeService::Apply(const std::string& vault, const std::string& id,
                                              const std::string& body, Lease& lease) {
  HX_ASSIGN_OR_RETURN(const HubApplyRequest request, ParseApplyRequest(body));
  HX_ASSIGN_OR_RETURN(const Envelope envelope, LoadEnvelope(vault, id, lease));
  std::lock_guard lock(LockFor(vault));
  // The item set is charged once: a re-read after a lost race replaces it.
  std::uint64_t items_charged = 0;
  auto charge_items = [&](std::uint64_t n) -> Status {
    if (n <= items_charged) return {};
    HX_RETURN_IF_ERROR(Charge(lease, n - items_charged));
    items_charged = n;
    return {};
  };
  for (int attempt = 0; attempt < kApplyAttempts; ++attempt) {
    HX_ASSIGN_OR_RETURN(const auto loaded, LoadItems(store_, vault, charge_items));
    const HubItems& before = loaded.first;
    HX_ASSIGN_OR_RETURN(HubApplyPlan plan,
                        PlanHubApply(before, envelope, request, options_.max_items));
    const std::vector<std::optional<Error>> failures =
        StoreContents(vault, envelope, plan.contents);
    for (std::size_t i = 0; i < plan.contents.size(); ++i) {
      if (failures[i]) FailHubApplyItem(plan, before, envelope, plan.contents[i], *failures[i]);
    }
    FinishHubApply(plan);
    const std::int64_t now_ms = ClockOrReal(options_.clock).WallMs();
    plan.report.vault_path = vault;
    nlohmann::json report = plan.report.ToJson();
    report["report"] = "hub_envelope_apply";
    report["envelope_id"] = id;
    report["applied_utc"] = FormatUtc(now_ms * 1'000'000);
    report["archive"] = ArchiveJson(vault, plan.archived);
    HX_ASSIGN_OR_RETURN(const std::string unnamed, WriteCanonicalJson(report));
    const std::string report_id = EnvelopeIdOf(unnamed);
    report["report_id"] = report_id;
    report["report_file"] = ReportKey(vault, report_id);
    HX_ASSIGN_OR_RETURN(const std::string text, WriteCanonicalJson(report));
    // The report first: an item set never changes without its report.
    HX_RETURN_IF_ERROR(store_.Put(ReportKey(vault, report_id), AsBytes(text)));
    const bool changes = std::any_of(
        plan.report.items.begin(), plan.report.items.end(),
        [](const EnvelopeApplyItem& i) { return i.status == "created" || i.status == "updated"; });
    if (!changes) return report;
    HX_ASSIGN_OR_RETURN(const std::string items, EncodeHubItems(plan.next));
    const Result<StoreVersion> committed =
        loaded.second.empty() ? store_.PutIfAbsent(ItemsKey(vault), AsBytes(items))
                              : store_.PutIfMatch(ItemsKey(vault), AsBytes(items), loaded.second);
    if (committed.ok()) return report;
    if (committed.error().category != Category::kAborted) return committed.error();
    // Another hub changed the item set since it was read: plan again.
  }
  return Error(SyncCode::kLocked, Category::kLocked,
               "the vault's envelope items kept changing under this apply (other hubs are "
               "applying); nothing was changed, apply again")
      .With("envelope_id", id);
}

}  // namespace hx::hub
