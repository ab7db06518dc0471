// Rendering of the engine's reports: canonical JSON (for --json and RPC;
// keys sorted, integers only) and short text for humans. Every string in the
// human text that a user, another device or the store chose (paths, targets,
// owners, messages) is shown through Printable (base/printable.h): a file
// name cannot drive the terminal or forge a line of the report.
#include <sstream>

#include "base/local_time.h"
#include "base/printable.h"
#include "sync/engine.h"

namespace hx {
namespace {

using nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json ChangesJson(const ChangeSummary& c) {
  return {{"added", c.added}, {"deleted", c.deleted}, {"modified", c.modified},
          {"paths", c.paths}};
}

std::string ChangesHuman(const ChangeSummary& c) {
  std::ostringstream out;
  out << c.added << " added, " << c.modified << " modified, " << c.deleted << " deleted";
  return out.str();
}

std::string Short(const std::optional<std::string>& id) {
  return id ? id->substr(0, 12) : std::string("none");
}

std::string Seq(const std::optional<std::uint64_t>& seq) {
  return seq ? std::to_string(*seq) : std::string("-");
}

// The local date and time of `ms` and how long before `now_ms` it was
// (base/local_time.h); "never" without one.
std::string When(const std::optional<std::int64_t>& ms, std::int64_t now_ms) {
  return ms ? FormatLocalTimeAgo(*ms, now_ms) : std::string("never");
}

}  // namespace

json InitReport::ToJson() const {
  return {{"already_initialized", already_initialized},
          {"created", created},
          {"encrypted", encrypted},
          {"node_id", node_id},
          {"target", target},
          {"vault_id", vault_id},
          {"vault_path", vault_path}};
}

std::string InitReport::ToHuman() const {
  std::ostringstream out;
  if (already_initialized) {
    out << Printable(vault_path) << " is already a vault of " << Printable(target) << "\n";
  } else {
    out << (created ? "created vault " : "joined vault ") << Printable(vault_id) << " at "
        << Printable(target)
        << (encrypted ? " (encrypted)" : " (NOT encrypted)") << "\n"
        << "this device: " << Printable(node_id) << "\n";
  }
  return out.str();
}

json StatusReport::ToJson() const {
  json out = {{"base_head_seq", OrNull(base_head_seq)},
              {"base_snapshot_id", OrNull(base_snapshot_id)},
              {"counters", counters},
              {"last_error", last_error},
              {"last_pull_ms", OrNull(last_pull_ms)},
              {"last_push_ms", OrNull(last_push_ms)},
              {"local_changes", ChangesJson(local_changes)},
              {"node_id", node_id},
              {"remote_head_seq", OrNull(remote_head_seq)},
              {"remote_snapshot_id", OrNull(remote_snapshot_id)},
              {"scan_issues", scan_issues},
              {"target", target},
              {"vault_id", vault_id},
              {"vault_path", vault_path}};
  if (behind) {
    out["behind"] = {{"complete", behind->complete},
                     {"files", behind->files},
                     {"snapshots", behind->snapshots}};
  }
  return out;
}

std::string StatusReport::ToHuman() const {
  std::ostringstream out;
  out << "vault:   " << Printable(vault_path) << " (device " << Printable(node_id.substr(0, 8))
      << ")\n"
      << "target:  " << Printable(target) << "\n"
      << "remote:  head " << Seq(remote_head_seq) << " " << Short(remote_snapshot_id) << "\n"
      << "base:    head " << Seq(base_head_seq) << " " << Short(base_snapshot_id);
  out << "\n";
  if (behind) {
    out << "behind:  " << behind->snapshots << " snapshot" << (behind->snapshots == 1 ? "" : "s")
        << ", " << (behind->complete ? "" : "at least ") << behind->files << " file"
        << (behind->files == 1 ? "" : "s") << " (hx sync pull brings them in)\n";
  }
  out << "local:   " << ChangesHuman(local_changes) << "\n"
      << "last push: " << When(last_push_ms, now_ms) << "\n"
      << "last pull: " << When(last_pull_ms, now_ms) << "\n";
  if (!counters.empty()) {
    out << "counters:";
    for (const auto& [name, value] : counters.items()) out << " " << name << "=" << value.dump();
    out << "\n";
  }
  if (last_error.is_object()) {
    out << "last error: " << Printable(last_error.value("code", "")) << " ("
        << Printable(last_error.value("category", ""))
        << "): " << Printable(last_error.value("message", "")) << "\n";
  }
  for (const std::string& issue : scan_issues) out << "skipped: " << Printable(issue) << "\n";
  return out.str();
}

json PushReport::ToJson() const {
  json out = {{"blobs_uploaded", blobs_uploaded},
              {"bytes_hashed", bytes_hashed},
              {"bytes_uploaded", bytes_uploaded},
              {"changes", ChangesJson(changes)},
              {"files_hashed", files_hashed},
              {"head_seq", OrNull(head_seq)},
              {"objects_uploaded", objects_uploaded},
              {"outcome", outcome},
              {"merged", merged ? merged->ToJson() : json(nullptr)},
              {"policy", policy},
              {"scan_issues", scan_issues},
              {"snapshot_id", OrNull(snapshot_id)},
              {"target", target}};
  if (store_usage) out["store_usage"] = store_usage->ToJson();
  return out;
}

std::string PushReport::ToHuman() const {
  std::ostringstream out;
  if (merged) out << "merged first (" << policy << "): " << merged->ToHuman();
  if (outcome == "published") {
    out << "pushed " << ChangesHuman(changes) << " as head " << Seq(head_seq) << " "
        << Short(snapshot_id) << " (" << objects_uploaded << " objects in " << blobs_uploaded
        << " blobs, " << bytes_uploaded << " bytes)\n";
  } else if (outcome == "behind") {
    out << "nothing to push; the store has newer changes: run hx sync pull\n";
  } else {
    out << "up to date (head " << Seq(head_seq) << ")\n";
  }
  for (const std::string& issue : scan_issues) out << "skipped: " << Printable(issue) << "\n";
  return out.str();
}

json UnlockReport::ToJson() const {
  return {{"owner", OrNull(owner)}, {"target", target}, {"was_locked", was_locked}};
}

std::string UnlockReport::ToHuman() const {
  if (!was_locked) return "the store at " + Printable(target) + " was not locked\n";
  return "removed the write lock" + (owner ? " held by " + Printable(*owner) : std::string()) +
         " at " + Printable(target) + "\n";
}

json PullReport::ToJson() const {
  json items_json = json::array();
  for (const PullItem& item : items) {
    json j = {{"action", item.action}, {"path", item.path}, {"status", item.status}};
    j["error"] = item.error ? json::parse(item.error->ToJson()) : json(nullptr);
    items_json.push_back(std::move(j));
  }
  json resolutions_json = json::array();
  for (const PullResolution& r : resolutions) {
    resolutions_json.push_back({{"archived", OrNull(r.archived)},
                                {"decision", r.decision},
                                {"error", r.error ? json::parse(r.error->ToJson()) : json(nullptr)},
                                {"path", r.path},
                                {"renamed_to", OrNull(r.renamed_to)},
                                {"status", r.status}});
  }
  json out = {{"bytes_fetched", bytes_fetched},
              {"changes", ChangesJson(changes)},
              {"error", error ? json::parse(error->ToJson()) : json(nullptr)},
              {"head_seq", OrNull(head_seq)},
              {"items", std::move(items_json)},
              {"objects_fetched", objects_fetched},
              {"outcome", outcome},
              {"policy", policy},
              {"resolutions", std::move(resolutions_json)},
              {"snapshot_id", OrNull(snapshot_id)},
              {"snapshots_read", snapshots_read},
              {"target", target},
              {"trees_loaded", trees_loaded}};
  // Only when items were left out, so the report of a small pull is the
  // same document it always was.
  if (items_omitted != 0) out["items_omitted"] = items_omitted;
  if (!warnings.empty()) {
    json warnings_json = json::array();
    for (const Error& warning : warnings) warnings_json.push_back(json::parse(warning.ToJson()));
    out["warnings"] = std::move(warnings_json);
  }
  if (!held.empty()) out["held"] = held;
  if (store_usage) out["store_usage"] = store_usage->ToJson();
  return out;
}

std::string PullReport::ToHuman() const {
  std::ostringstream out;
  const auto warn = [&] {
    for (const Error& warning : warnings) out << "warning: " << Printable(warning.message) << "\n";
    for (const std::string& path : held) out << "held (conflict): " << Printable(path) << "\n";
  };
  if (outcome == "up_to_date") {
    out << "up to date (head " << Seq(head_seq) << ")\n";
    warn();
    return out.str();
  }
  out << "pulled head " << Seq(head_seq) << " " << Short(snapshot_id) << ": "
      << ChangesHuman(changes) << "\n";
  for (const PullItem& item : items) {
    if (item.status == "applied") continue;
    out << "  " << item.status << ": " << Printable(item.path);
    if (item.error) out << " (" << Printable(item.error->message) << ")";
    out << "\n";
  }
  for (const PullResolution& r : resolutions) {
    out << "  " << policy << ": " << Printable(r.path) << " " << r.decision;
    if (r.renamed_to) out << ", other version at " << Printable(*r.renamed_to);
    if (r.archived) out << ", other version archived at " << Printable(*r.archived);
    if (r.status != "applied") out << " (" << r.status << ")";
    out << "\n";
  }
  warn();
  return out.str();
}

json ConfigReport::ToJson() const {
  return {{"changed", changed},
          {"default_merge_policy", default_merge_policy},
          {"vault_path", vault_path},
          {"versions_max_bytes", versions_max_bytes}};
}

std::string ConfigReport::ToHuman() const {
  return std::string(changed ? "set" : "unchanged") +
         ": default merge policy " + default_merge_policy + "; history cache (.hx/versions) " +
         (versions_max_bytes == 0 ? std::string("off")
                                  : "at most " + std::to_string(versions_max_bytes) + " bytes") +
         "\n";
}

}  // namespace hx
