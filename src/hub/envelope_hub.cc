#include "hub/envelope_hub.h"

#include <algorithm>
#include <set>
#include <utility>

#include "base/hex.h"
#include "hash/sha256.h"
#include "hub/protocol.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"

namespace hx::hub {
namespace {

Error NoRoute(std::string_view rest) {
  return Error(SyncCode::kInputInvalid, Category::kNotFound,
               "no such envelope route; use POST <vault>/envelopes, GET "
               "<vault>/envelopes/<id>/diff, POST <vault>/envelopes/<id>/apply, GET "
               "<vault>/reports/<id> or GET <vault>/items under /v1/_envelope/")
      .With("path", std::string(rest.substr(0, 256)));
}

Error WrongMethod(std::string_view method, std::string_view want) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "this envelope route takes " + std::string(want) + ", not " +
                   std::string(method.substr(0, 16)))
      .With("http_status", "405");
}

std::vector<std::string_view> Split(std::string_view rest) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos || parts.size() > 8) return parts;
    rest.remove_prefix(slash + 1);
  }
}

Error CorruptItems(std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "the hub's envelope item set is damaged (" + std::move(message) +
                   "); restore _hub/<vault>/envelope/items.json from a backup");
}

void Undo(HubItems& next, const HubItems& before, const std::string& id) {
  if (auto it = before.find(id); it != before.end()) {
    next[id] = it->second;
  } else {
    next.erase(id);
  }
}

bool IsContentHash(std::string_view hash) {
  return hash.size() == 7 + 64 && hash.starts_with("sha256:") && IsLowerHex(hash.substr(7), 64);
}

LocalItem AsHubItem(const EnvelopeItem& item) {
  return {item.item_type, item.item_id, item.updated_utc, item.content_hash};
}

}  // namespace

bool IsEnvelopeId(std::string_view id) { return IsLowerHex(id, 64); }

std::string EnvelopeIdOf(std::string_view canonical_bytes) {
  return ToHex(Sha256(canonical_bytes));
}

Result<EnvelopeRoute> ParseEnvelopeRoute(std::string_view method, std::string_view rest) {
  const std::vector<std::string_view> parts = Split(rest);
  for (const std::string_view part : parts) {
    if (part == "." || part == ".." || part.find('%') != std::string_view::npos) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "an envelope route has no '.', '..' or percent-encoded segments")
          .With("path", std::string(rest.substr(0, 256)));
    }
  }
  EnvelopeRoute route;
  std::string_view want;
  if (parts.size() == 2 && parts[1] == "envelopes") {
    route.op = EnvelopeOp::kUpload;
    want = "POST";
  } else if (parts.size() == 2 && parts[1] == "items") {
    route.op = EnvelopeOp::kItems;
    want = "GET";
  } else if (parts.size() == 4 && parts[1] == "envelopes" && parts[3] == "diff") {
    route.op = EnvelopeOp::kDiff;
    want = "GET";
  } else if (parts.size() == 4 && parts[1] == "envelopes" && parts[3] == "apply") {
    route.op = EnvelopeOp::kApply;
    want = "POST";
  } else if (parts.size() == 3 && parts[1] == "reports") {
    route.op = EnvelopeOp::kReport;
    want = "GET";
  } else {
    return NoRoute(rest);
  }
  HX_RETURN_IF_ERROR(ValidateVaultName(parts[0]));
  route.vault = std::string(parts[0]);
  if (parts.size() > 2) {
    if (!IsEnvelopeId(parts[2])) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "an envelope or report id is 64 lowercase hex digits, as the upload or the "
                   "apply returned it")
          .With("id", std::string(parts[2].substr(0, 128)));
    }
    route.id = std::string(parts[2]);
  }
  if (method != want) return WrongMethod(method, want);
  return route;
}

Result<HubApplyRequest> ParseApplyRequest(std::string_view body) {
  if (body.size() > kMaxApplyBodyBytes) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the apply request is larger than " +
                            std::to_string(kMaxApplyBodyBytes >> 20) + " MiB")
        .With("max_size", std::to_string(kMaxApplyBodyBytes))
        .With("http_status", "413");
  }
  JsonReadOptions read;
  read.max_input_bytes = kMaxApplyBodyBytes;
  read.max_depth = 3;
  HX_ASSIGN_OR_RETURN(const nlohmann::json value, ParseJson(body, read));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "the apply request"));
  HubApplyRequest request;
  HX_ASSIGN_OR_RETURN(const std::string policy, fields.String("policy"));
  HX_ASSIGN_OR_RETURN(request.policy, ParseMergePolicy(policy));
  if (request.policy != MergePolicy::kLocalPreferred &&
      request.policy != MergePolicy::kCloudPreferred &&
      request.policy != MergePolicy::kManualPerItem) {
    return Error(SyncCode::kMergePolicyUnsupported, Category::kUnsupported,
                 "an envelope is applied with policy local_preferred, cloud_preferred or "
                 "manual_per_item, not " + policy)
        .With("policy", policy);
  }
  if (fields.Has("decisions")) {
    HX_ASSIGN_OR_RETURN(JsonFields decisions, fields.Object("decisions"));
    const nlohmann::json& object = value.at("decisions");
    if (object.size() > kMaxEnvelopeItems) {
      return InvalidInput(SyncCode::kInputInvalid, "more than " +
                                                       std::to_string(kMaxEnvelopeItems) +
                                                       " decisions");
    }
    for (const auto& [id, choice] : object.items()) {
      if (!IsValidItemId(id)) {
        return InvalidInput(SyncCode::kInputInvalid,
                            "decisions: a key is not a valid item_id (a normalized relative "
                            "path)")
            .With("field", "decisions");
      }
      HX_ASSIGN_OR_RETURN(const std::string side, decisions.String(id));
      if (side != "local" && side != "cloud") {
        return InvalidInput(SyncCode::kInputInvalid,
                            "decisions: the choice for " + id +
                                " must be \"local\" (the envelope's version) or \"cloud\" (the "
                                "hub's)")
            .With("item_id", id);
      }
      request.decisions.emplace(id, side == "local" ? Side::kLocal : Side::kCloud);
    }
    if (!request.decisions.empty() && request.policy != MergePolicy::kManualPerItem) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "decisions go with policy manual_per_item only");
    }
  }
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  return request;
}

Result<std::string> EncodeHubItems(const HubItems& items) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, item] : items) {
    list.push_back({{"item_id", id},
                    {"item_type", item.item_type},
                    {"updated_utc", item.updated_utc},
                    {"content_hash", item.content_hash}});
  }
  return WriteCanonicalJson({{"format_version", 1}, {"items", std::move(list)}});
}

Result<HubItems> ParseHubItems(std::string_view bytes) {
  JsonReadOptions read;
  read.max_input_bytes = kMaxHubItemsBytes;
  read.max_depth = 4;
  Result<nlohmann::json> value = ParseJson(bytes, read);
  if (!value.ok()) return CorruptItems(value.error().message);
  Result<HubItems> items = [&]() -> Result<HubItems> {
    HX_ASSIGN_OR_RETURN(JsonFields top, JsonFields::Of(*value, "items.json"));
    HX_ASSIGN_OR_RETURN(const std::int64_t version, top.Int("format_version"));
    if (version != 1) return InvalidInput(SyncCode::kInputInvalid, "format_version is not 1");
    HX_ASSIGN_OR_RETURN(const nlohmann::json::array_t* list, top.Array("items"));
    HX_RETURN_IF_ERROR(top.RejectUnknownFields());
    if (list->size() > kMaxHubEnvelopeItems) {
      return InvalidInput(SyncCode::kInputInvalid, "too many items");
    }
    HubItems out;
    for (const nlohmann::json& entry : *list) {
      HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(entry, "items.json item"));
      LocalItem item;
      HX_ASSIGN_OR_RETURN(item.item_id, fields.String("item_id"));
      HX_ASSIGN_OR_RETURN(item.item_type, fields.String("item_type"));
      HX_ASSIGN_OR_RETURN(item.updated_utc, fields.String("updated_utc"));
      HX_ASSIGN_OR_RETURN(item.content_hash, fields.String("content_hash"));
      HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
      if (!IsValidItemId(item.item_id) || !out.emplace(item.item_id, item).second) {
        return InvalidInput(SyncCode::kInputInvalid, "a bad or repeated item_id");
      }
      if (!IsContentHash(item.content_hash) || !IsValidUtc(item.updated_utc) ||
          (item.item_type != "file" && item.item_type != "symlink" &&
           item.item_type != "directory")) {
        return InvalidInput(SyncCode::kInputInvalid, "a bad item of " + item.item_id);
      }
    }
    return out;
  }();
  if (!items.ok()) return CorruptItems(items.error().message);
  return items;
}

nlohmann::json HubDiffJson(const HubItems& items, const Envelope& envelope,
                           const std::string& vault, const std::string& envelope_id) {
  const EnvelopeDiffReport diff = DiffEnvelopeItems(items, envelope);
  nlohmann::json list = nlohmann::json::array();
  std::uint64_t invalid = 0;
  for (std::size_t i = 0; i < diff.items.size(); ++i) {
    const EnvelopeDiffItem& d = diff.items[i];
    const bool hash_ok = VerifyContentHash(envelope.items[i]);
    if (!hash_ok) ++invalid;
    list.push_back({{"item_type", d.item_type},
                    {"item_id", d.item_id},
                    {"change", d.change},
                    {"content_hash", d.content_hash},
                    {"content_hash_ok", hash_ok},
                    {"hub_item_type",
                     d.local_item_type ? nlohmann::json(*d.local_item_type) : nullptr},
                    {"hub_content_hash",
                     d.local_content_hash ? nlohmann::json(*d.local_content_hash) : nullptr}});
  }
  return {{"report", "hub_envelope_diff"},
          {"vault", vault},
          {"envelope_id", envelope_id},
          {"schema_version", diff.schema_version},
          {"source",
           {{"kind", diff.source.kind},
            {"app_version", diff.source.app_version},
            {"device_id", diff.source.device_id}}},
          {"exported_utc", diff.exported_utc},
          {"items", std::move(list)},
          {"hub_only", diff.local_only},
          {"summary",
           {{"new", diff.new_items},
            {"changed", diff.changed},
            {"unchanged", diff.unchanged},
            {"conflicts", diff.conflicts},
            {"hub_only", diff.local_only.size()},
            {"invalid", invalid}}}};
}

Result<HubApplyPlan> PlanHubApply(const HubItems& items, const Envelope& envelope,
                                  const HubApplyRequest& request, std::size_t max_items) {
  if (request.policy != MergePolicy::kLocalPreferred &&
      request.policy != MergePolicy::kCloudPreferred &&
      request.policy != MergePolicy::kManualPerItem) {
    return Error(SyncCode::kMergePolicyUnsupported, Category::kUnsupported,
                 "an envelope is applied with policy local_preferred, cloud_preferred or "
                 "manual_per_item");
  }
  if (!request.decisions.empty() && request.policy != MergePolicy::kManualPerItem) {
    return InvalidInput(SyncCode::kInputInvalid, "decisions go with policy manual_per_item only");
  }
  HubApplyPlan plan;
  plan.next = items;
  plan.report.policy = std::string(MergePolicyName(request.policy));
  plan.report.exported_utc = envelope.exported_utc;
  std::set<std::string_view> decidable;
  for (std::size_t i = 0; i < envelope.items.size(); ++i) {
    const EnvelopeItem& item = envelope.items[i];
    auto have = items.find(item.item_id);
    const LocalItem* hub = have == items.end() ? nullptr : &have->second;
    EnvelopeApplyItem out;
    out.item_type = item.item_type;
    out.item_id = item.item_id;
    out.change = std::string(ClassifyEnvelopeItem(item, hub));
    const bool differs = out.change == "conflict" || out.change == "changed";
    if (differs) {
      decidable.insert(item.item_id);
      if (request.policy == MergePolicy::kLocalPreferred) {
        out.winner = Side::kLocal;
      } else if (request.policy == MergePolicy::kCloudPreferred) {
        out.winner = Side::kCloud;
      } else if (auto d = request.decisions.find(item.item_id); d != request.decisions.end()) {
        out.winner = d->second;
      }
    }
    if (!VerifyContentHash(item)) {
      out.status = "failed";
      out.winner.reset();
      out.error = Error(SyncCode::kApplyFailed, Category::kHashMismatch,
                        "the content_hash of " + item.item_id +
                            " does not match its content; it was not imported (export it again)")
                      .With("item_id", item.item_id);
    } else if (out.change == "unchanged") {
      out.status = "skipped";
    } else if (out.change == "new" || out.winner == Side::kLocal) {
      if (hub == nullptr && plan.next.size() >= max_items) {
        out.status = "failed";
        out.winner.reset();
        out.error = Error(SyncCode::kApplyFailed, Category::kNoSpace,
                          "the hub keeps at most " + std::to_string(max_items) +
                              " envelope items per vault; " + item.item_id + " was not imported")
                        .With("item_id", item.item_id);
      } else {
        out.status = hub == nullptr ? "created" : "updated";
        plan.next[item.item_id] = AsHubItem(item);
        plan.contents.push_back(i);
        if (hub != nullptr) {
          out.archived = item.item_id + ".cloud";
          plan.archived.push_back({*out.archived, Side::kCloud, *hub});
        }
      }
    } else if (out.winner == Side::kCloud) {
      out.status = "skipped";
      out.archived = item.item_id + ".local";
      plan.archived.push_back({*out.archived, Side::kLocal, AsHubItem(item)});
      plan.contents.push_back(i);
    } else {
      out.status = "conflicted";
    }
    plan.report.items.push_back(std::move(out));
  }
  for (const auto& [id, side] : request.decisions) {
    if (decidable.count(id) == 0) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "the decisions name " + id +
                              ", which is not an item that differs between the envelope and the "
                              "hub; remove it")
          .With("item_id", id);
    }
  }
  return plan;
}

void FailHubApplyItem(HubApplyPlan& plan, const HubItems& before, const Envelope& envelope,
                      std::size_t index, Error error) {
  EnvelopeApplyItem& out = plan.report.items[index];
  const std::string& id = envelope.items[index].item_id;
  if (out.status == "created" || out.status == "updated") Undo(plan.next, before, id);
  if (out.archived) {
    std::erase_if(plan.archived, [&](const HubArchived& a) { return a.name == *out.archived; });
  }
  out.status = "failed";
  out.winner.reset();
  out.archived.reset();
  out.error = std::move(error.With("item_id", id));
}

void FinishHubApply(HubApplyPlan& plan) {
  EnvelopeApplyReport& report = plan.report;
  report.summary = ItemSummary();
  for (const EnvelopeApplyItem& item : report.items) report.summary.Count(item.status);
  report.error.reset();
  if (report.summary.failed > 0) {
    report.outcome = "partial";
    report.error = PartialApplyError(report);
  } else if (report.summary.conflicted > 0) {
    report.outcome = "needs_decisions";
    report.error = Error(SyncCode::kConflict, Category::kConflict,
                         std::to_string(report.summary.conflicted) +
                             " item(s) differ between the envelope and the hub and have no "
                             "decision; they were left as they are (the others were applied). "
                             "Apply again with a decision (\"local\" or \"cloud\") for each")
                       .With("conflicted", std::to_string(report.summary.conflicted));
  } else {
    report.outcome = "applied";
  }
}

}  // namespace hx::hub
