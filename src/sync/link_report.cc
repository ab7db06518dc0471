// The link report (JSON and text), the item summary, and decisions files.
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/printable.h"
#include "json/canonical_json.h"
#include "sync/link.h"

namespace hx {

std::string_view ToString(Side side) { return side == Side::kLocal ? "local" : "cloud"; }

Result<Side> DecidedSide(const std::string& item_id, ManualChoice choice) {
  switch (choice) {
    case ManualChoice::kLocal:
      return Side::kLocal;
    case ManualChoice::kRemote:
      return Side::kCloud;
    case ManualChoice::kBoth:
      break;
  }
  return InvalidInput(SyncCode::kInputInvalid,
                      "the decisions file chooses \"both\" for " + item_id +
                          "; a first sync keeps one version and archives the other: choose "
                          "\"local\" or \"remote\"")
      .With("item_id", item_id);
}

Result<Decisions> ReadDecisionsFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot read the decisions file " + file.string())
        .With("path", file.string());
  }
  std::string bytes;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > kMaxDecisionsFileBytes) break;
  }
  Result<Decisions> parsed = ParseDecisions(bytes);
  if (!parsed.ok()) {
    Error e = std::move(parsed).error();
    e.message = file.string() + ": " + e.message;
    return std::move(e).With("path", file.string());
  }
  return parsed;
}

void ItemSummary::Count(std::string_view status) {
  if (status == "created") ++created;
  if (status == "updated") ++updated;
  if (status == "skipped") ++skipped;
  if (status == "conflicted") ++conflicted;
  if (status == "failed") ++failed;
}

nlohmann::json ItemSummary::ToJson() const {
  return {{"created", created},
          {"updated", updated},
          {"skipped", skipped},
          {"conflicted", conflicted},
          {"failed", failed}};
}

nlohmann::json LinkReport::ToJson() const {
  nlohmann::json j;
  j["report"] = "link";
  j["vault_path"] = vault_path;
  j["target"] = target;
  j["vault_id"] = vault_id;
  j["node_id"] = node_id;
  j["policy"] = policy;
  j["dry_run"] = dry_run;
  j["outcome"] = outcome;
  j["head_seq"] = head_seq ? nlohmann::json(*head_seq) : nlohmann::json(nullptr);
  j["snapshot_id"] = snapshot_id ? nlohmann::json(*snapshot_id) : nlohmann::json(nullptr);
  nlohmann::json items_json = nlohmann::json::array();
  for (const LinkItem& item : items) {
    nlohmann::json i = {
        {"path", item.path}, {"kind", item.kind}, {"change", item.change}, {"status", item.status}};
    i["winner"] = item.winner ? nlohmann::json(ToString(*item.winner)) : nlohmann::json(nullptr);
    i["archived"] = item.archived ? nlohmann::json(*item.archived) : nlohmann::json(nullptr);
    i["error"] = item.error ? nlohmann::json::parse(item.error->ToJson()) : nlohmann::json(nullptr);
    items_json.push_back(std::move(i));
  }
  j["items"] = std::move(items_json);
  j["summary"] = summary.ToJson();
  j["report_file"] = report_file ? nlohmann::json(*report_file) : nlohmann::json(nullptr);
  j["error"] = error ? nlohmann::json::parse(error->ToJson()) : nlohmann::json(nullptr);
  if (!warnings.empty()) {
    nlohmann::json warnings_json = nlohmann::json::array();
    for (const Error& w : warnings) warnings_json.push_back(nlohmann::json::parse(w.ToJson()));
    j["warnings"] = std::move(warnings_json);
  }
  return j;
}

std::string LinkReport::ToHuman() const {
  std::ostringstream out;
  if (outcome == "preview") {
    out << "link preview of " << Printable(vault_path) << " with " << Printable(target) << " ("
        << policy
        << "; nothing was changed)\n";
  } else {
    out << "link of " << Printable(vault_path) << " with " << Printable(target) << " (" << policy
        << "): " << outcome
        << "\n";
  }
  for (const LinkItem& item : items) {
    out << "  " << item.status << "  " << Printable(item.path) << "  (" << item.change;
    if (item.winner) out << ", " << ToString(*item.winner) << " kept";
    out << ")";
    if (item.archived) out << "  archived: " << Printable(*item.archived);
    if (item.error) out << "  error: " << Printable(item.error->message);
    out << "\n";
  }
  out << "created " << summary.created << ", updated " << summary.updated << ", skipped "
      << summary.skipped << ", conflicted " << summary.conflicted << ", failed " << summary.failed
      << "\n";
  if (report_file) out << "report: " << Printable(*report_file) << "\n";
  for (const Error& w : warnings) out << "warning: " << Printable(w.message) << "\n";
  if (outcome == "linked") out << "next: hx sync push publishes this folder's additions\n";
  return out.str();
}

}  // namespace hx
