// Canonical JSON of the merge preview types (docs/MERGE.md, schemas/).
//
// The readers take untrusted values (RPC params, files handed to the CLI): a
// wrong shape is KC_SYNC_INPUT_INVALID from JsonFields, an invalid hash or
// overlay id KC_SYNC_MERGE_PRECONDITION_FAILED from NormalizeChangeSet. A
// parsed report is re-normalized and must equal what its fields say (sorted,
// deduplicated), so a tampered or hand-edited report is refused rather than
// trusted.
#include <algorithm>
#include <string>
#include <utility>

#include "json/json_fields.h"
#include "merge/preview.h"

namespace hx {
namespace {

using nlohmann::json;

json StringArray(const std::vector<std::string>& values) {
  json out = json::array();
  for (const std::string& value : values) out.push_back(value);
  return out;
}

Result<std::vector<std::string>> ReadStrings(JsonFields& fields, std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json::array_t* array, fields.Array(key));
  std::vector<std::string> out;
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const json& item = (*array)[i];
    if (!item.is_string()) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   fields.what() + ": " + std::string(key) + "[" + std::to_string(i) +
                       "] must be a string, found " + std::string(JsonTypeName(item)))
          .With("field", fields.what() + "." + std::string(key));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Error ShapeError(const std::string& what, std::string message) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput, what + ": " + message)
      .With("field", what);
}

// A report's arrays must already be in canonical order.
Status RequireSortedUnique(const std::vector<std::string>& values, const std::string& what) {
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (!(values[i - 1] < values[i])) {
      return ShapeError(what, "must be sorted and free of duplicates");
    }
  }
  return OkStatus();
}

Result<SyncMergeChangeSetV1> ReadChangeSet(JsonFields fields, bool require_canonical) {
  SyncMergeChangeSetV1 set;
  HX_ASSIGN_OR_RETURN(set.object_hashes, ReadStrings(fields, "object_hashes"));
  HX_ASSIGN_OR_RETURN(set.overlay_ids, ReadStrings(fields, "overlay_ids"));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (require_canonical) {
    HX_RETURN_IF_ERROR(RequireSortedUnique(set.object_hashes, fields.what() + ".object_hashes"));
    HX_RETURN_IF_ERROR(RequireSortedUnique(set.overlay_ids, fields.what() + ".overlay_ids"));
  }
  return NormalizeChangeSet(std::move(set), fields.what());
}

Result<SyncMergeOverlapV1> ReadOverlap(JsonFields fields) {
  SyncMergeOverlapV1 overlap;
  HX_ASSIGN_OR_RETURN(SyncMergeChangeSetV1 set, ReadChangeSet(std::move(fields), true));
  overlap.object_hashes = std::move(set.object_hashes);
  overlap.overlay_ids = std::move(set.overlay_ids);
  return overlap;
}

// Fields shared by both report versions.
template <typename Report>
Status ReadCommon(JsonFields& fields, std::int64_t schema_version, Report& report) {
  HX_ASSIGN_OR_RETURN(const std::int64_t version, fields.Int("schema_version"));
  if (version != schema_version) {
    return Error(SyncCode::kMergePreconditionFailed, Category::kUnsupported,
                 fields.what() + ": schema_version " + std::to_string(version) +
                     " is not " + std::to_string(schema_version) +
                     "; use an hx that knows this report version")
        .With("field", fields.what() + ".schema_version");
  }
  HX_ASSIGN_OR_RETURN(report.policy, fields.String("policy"));
  HX_RETURN_IF_ERROR(ParseMergePolicy(report.policy));
  HX_ASSIGN_OR_RETURN(report.generated_at_ms, fields.Int("generated_at_ms"));
  HX_ASSIGN_OR_RETURN(JsonFields local, fields.Object("local"));
  HX_ASSIGN_OR_RETURN(report.local, ReadChangeSet(std::move(local), true));
  HX_ASSIGN_OR_RETURN(JsonFields remote, fields.Object("remote"));
  HX_ASSIGN_OR_RETURN(report.remote, ReadChangeSet(std::move(remote), true));
  HX_ASSIGN_OR_RETURN(JsonFields overlap, fields.Object("overlap"));
  HX_ASSIGN_OR_RETURN(report.overlap, ReadOverlap(std::move(overlap)));
  HX_ASSIGN_OR_RETURN(report.safe, fields.Bool("safe"));
  HX_ASSIGN_OR_RETURN(report.reasons, ReadStrings(fields, "reasons"));
  HX_RETURN_IF_ERROR(RequireSortedUnique(report.reasons, fields.what() + ".reasons"));
  HX_ASSIGN_OR_RETURN(report.decision_trace, ReadStrings(fields, "decision_trace"));
  return OkStatus();
}

}  // namespace

json ToJson(const SyncMergeChangeSetV1& set) {
  return json{{"object_hashes", StringArray(set.object_hashes)},
              {"overlay_ids", StringArray(set.overlay_ids)}};
}

namespace {
json OverlapJson(const SyncMergeOverlapV1& overlap) {
  return json{{"object_hashes", StringArray(overlap.object_hashes)},
              {"overlay_ids", StringArray(overlap.overlay_ids)}};
}
}  // namespace

json ToJson(const SyncMergeContextV2& context) {
  json locks = json::array();
  for (const SyncMergeLockV2& lock : context.active_locks) {
    locks.push_back(json{{"expires_at_ms", lock.expires_at_ms},
                         {"object_hash", lock.object_hash},
                         {"owner", lock.owner}});
  }
  return json{{"active_locks", std::move(locks)},
              {"author_chain_ok", context.author_chain_ok},
              {"expected_key_fingerprint", context.expected_key_fingerprint},
              {"local_role", context.local_role},
              {"seen_key_fingerprint", context.seen_key_fingerprint},
              {"unauthorized_remote_authors", StringArray(context.unauthorized_remote_authors)}};
}

json ToJson(const SyncMergePreviewReportV1& report) {
  return json{{"decision_trace", StringArray(report.decision_trace)},
              {"generated_at_ms", report.generated_at_ms},
              {"local", ToJson(report.local)},
              {"overlap", OverlapJson(report.overlap)},
              {"policy", report.policy},
              {"reasons", StringArray(report.reasons)},
              {"remote", ToJson(report.remote)},
              {"safe", report.safe},
              {"schema_version", SyncMergePreviewReportV1::kSchemaVersion}};
}

json ToJson(const SyncMergePreviewReportV2& report) {
  json items = json::array();
  for (const SyncMergeItemV2& item : report.items) {
    items.push_back(json{{"action", item.action},
                         {"object_hash", item.object_hash},
                         {"path", item.path},
                         {"renamed_to", item.renamed_to}});
  }
  return json{{"decision_trace", StringArray(report.decision_trace)},
              {"generated_at_ms", report.generated_at_ms},
              {"items", std::move(items)},
              {"local", ToJson(report.local)},
              {"lock_conflicts", StringArray(report.lock_conflicts)},
              {"overlap", OverlapJson(report.overlap)},
              {"policy", report.policy},
              {"rbac_unsafe", report.rbac_unsafe},
              {"reasons", StringArray(report.reasons)},
              {"remote", ToJson(report.remote)},
              {"safe", report.safe},
              {"schema_version", SyncMergePreviewReportV2::kSchemaVersion},
              {"trust_conflict", report.trust_conflict}};
}

Result<SyncMergeChangeSetV1> ChangeSetFromJson(const json& value) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "change_set"));
  return ReadChangeSet(std::move(fields), false);
}

Result<SyncMergeContextV2> ContextFromJson(const json& value) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "context"));
  SyncMergeContextV2 context;
  HX_ASSIGN_OR_RETURN(const json::array_t* locks, fields.Array("active_locks"));
  for (std::size_t i = 0; i < locks->size(); ++i) {
    HX_ASSIGN_OR_RETURN(JsonFields lock_fields,
                        JsonFields::Of((*locks)[i], "context.active_locks[" +
                                                        std::to_string(i) + "]"));
    SyncMergeLockV2 lock;
    HX_ASSIGN_OR_RETURN(lock.expires_at_ms, lock_fields.Int("expires_at_ms"));
    HX_ASSIGN_OR_RETURN(lock.object_hash, lock_fields.String("object_hash"));
    HX_ASSIGN_OR_RETURN(lock.owner, lock_fields.String("owner"));
    HX_RETURN_IF_ERROR(lock_fields.RejectUnknownFields());
    if (!IsValidObjectHash(lock.object_hash)) {
      return Error(SyncCode::kMergePreconditionFailed, Category::kInvalidInput,
                   lock_fields.what() + ".object_hash is not 64 lowercase hex digits")
          .With("field", lock_fields.what() + ".object_hash");
    }
    context.active_locks.push_back(std::move(lock));
  }
  HX_ASSIGN_OR_RETURN(context.author_chain_ok, fields.Bool("author_chain_ok"));
  HX_ASSIGN_OR_RETURN(context.expected_key_fingerprint,
                      fields.String("expected_key_fingerprint"));
  HX_ASSIGN_OR_RETURN(context.local_role, fields.String("local_role"));
  if (context.local_role != "writer" && context.local_role != "reader") {
    return Error(SyncCode::kMergePreconditionFailed, Category::kInvalidInput,
                 "context.local_role must be \"writer\" or \"reader\"")
        .With("field", "context.local_role");
  }
  HX_ASSIGN_OR_RETURN(context.seen_key_fingerprint, fields.String("seen_key_fingerprint"));
  HX_ASSIGN_OR_RETURN(context.unauthorized_remote_authors,
                      ReadStrings(fields, "unauthorized_remote_authors"));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  return context;
}

Result<SyncMergePreviewReportV1> ReportV1FromJson(const json& value) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "merge_preview_v1"));
  SyncMergePreviewReportV1 report;
  HX_RETURN_IF_ERROR(ReadCommon(fields, SyncMergePreviewReportV1::kSchemaVersion, report));
  if (report.policy != MergePolicyName(MergePolicy::kConservative)) {
    return Error(SyncCode::kMergePreconditionFailed, Category::kInvalidInput,
                 fields.what() + ": a V1 report is made by the conservative policy only")
        .With("field", fields.what() + ".policy");
  }
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  return report;
}

Result<SyncMergePreviewReportV2> ReportV2FromJson(const json& value) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "merge_preview_v2"));
  SyncMergePreviewReportV2 report;
  HX_RETURN_IF_ERROR(ReadCommon(fields, SyncMergePreviewReportV2::kSchemaVersion, report));
  HX_ASSIGN_OR_RETURN(report.trust_conflict, fields.Bool("trust_conflict"));
  HX_ASSIGN_OR_RETURN(report.rbac_unsafe, fields.Bool("rbac_unsafe"));
  HX_ASSIGN_OR_RETURN(report.lock_conflicts, ReadStrings(fields, "lock_conflicts"));
  HX_RETURN_IF_ERROR(
      RequireSortedUnique(report.lock_conflicts, fields.what() + ".lock_conflicts"));
  for (const std::string& hash : report.lock_conflicts) {
    if (!IsValidObjectHash(hash)) {
      return Error(SyncCode::kMergePreconditionFailed, Category::kInvalidInput,
                   fields.what() + ".lock_conflicts holds an invalid object hash")
          .With("field", fields.what() + ".lock_conflicts");
    }
  }
  HX_ASSIGN_OR_RETURN(const json::array_t* items, fields.Array("items"));
  for (std::size_t i = 0; i < items->size(); ++i) {
    HX_ASSIGN_OR_RETURN(JsonFields item_fields,
                        JsonFields::Of((*items)[i], fields.what() + ".items[" +
                                                        std::to_string(i) + "]"));
    SyncMergeItemV2 item;
    HX_ASSIGN_OR_RETURN(item.action, item_fields.String("action"));
    HX_ASSIGN_OR_RETURN(item.object_hash, item_fields.String("object_hash"));
    HX_ASSIGN_OR_RETURN(item.path, item_fields.String("path"));
    HX_ASSIGN_OR_RETURN(item.renamed_to, item_fields.String("renamed_to"));
    HX_RETURN_IF_ERROR(item_fields.RejectUnknownFields());
    if (!IsValidObjectHash(item.object_hash)) {
      return Error(SyncCode::kMergePreconditionFailed, Category::kInvalidInput,
                   item_fields.what() + ".object_hash is not 64 lowercase hex digits")
          .With("field", item_fields.what() + ".object_hash");
    }
    if (!report.items.empty() && !(report.items.back().object_hash < item.object_hash)) {
      return ShapeError(fields.what() + ".items", "must be sorted by object_hash, no duplicates");
    }
    report.items.push_back(std::move(item));
  }
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  return report;
}

}  // namespace hx
