#include "sync/conflicts.h"

#include <fstream>
#include <map>
#include <sstream>

#include "base/printable.h"
#include "meta/conflict.h"
#include "sync/local_changes.h"
#include "sync/session.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kConflictsPrefix = "conflicts/";

// The bytes of a local artifact (at most kMaxConflictArtifactBytes).
Result<Bytes> ReadLocalFile(const fs::path& path) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxConflictArtifactBytes) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 path.string() + " is larger than a conflict artifact can be")
        .With("path", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  Bytes bytes(ec ? 0 : static_cast<std::size_t>(size));
  if (ec || !in ||
      !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    return Error(SyncCode::kStateFailed, Category::kIo, "cannot read " + path.string())
        .With("path", path.string());
  }
  return bytes;
}

void Describe(ConflictEntry& entry, const ConflictArtifact& a) {
  entry.kind = std::string(ToString(a.kind));
  entry.created_ms = a.created_ms;
  entry.node_id = a.local_node_id;
  entry.policy = a.policy;
  entry.decision = a.decision;
  entry.remote_head_seq = a.remote_head_seq;
  if (!a.paths.empty() || entry.paths.empty()) entry.paths = a.paths;
}

std::string StateOf(const ConflictEntry& entry, const std::string& node_id,
                    std::optional<std::uint64_t> base_seq) {
  if (entry.problem) return "unreadable";
  if (entry.decision != "refused") return "resolved";
  if (entry.node_id != node_id) return "unknown";
  return base_seq && *base_seq >= entry.remote_head_seq ? "resolved" : "open";
}

}  // namespace

Result<ConflictsReport> SyncConflicts(const fs::path& vault, const SyncOptions& options,
                                      bool prune) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  ConflictsReport report;
  report.vault_path = s.local.vault().string();
  report.prune = prune;
  HX_ASSIGN_OR_RETURN(const BaseState base, LoadBaseMeta(*s.index));
  if (base.snapshot_id) report.base_head_seq = base.head_seq;

  std::map<std::string, ConflictEntry> entries;
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> listed, s.store->List(kConflictsPrefix));
  for (const StoreObjectInfo& info : listed) {
    const std::string name = info.key.substr(kConflictsPrefix.size());
    ConflictEntry& entry = entries[name];
    entry.name = name;
    entry.in_store = true;
    Result<Bytes> bytes = s.store->Get(info.key, kMaxConflictArtifactBytes);
    if (!bytes.ok()) {
      if (bytes.error().category == Category::kNotFound) {  // pruned meanwhile
        entries.erase(name);
        continue;
      }
      return std::move(bytes).error();
    }
    Result<ConflictArtifact> artifact = DecodeStoreArtifact(s.ctx, name, *bytes);
    if (artifact.ok()) {
      Describe(entry, *artifact);
    } else {
      entry.problem = artifact.error().message;
    }
  }
  std::error_code ec;
  if (fs::is_directory(s.local.conflicts_dir(), ec)) {
    for (const fs::directory_entry& file : fs::directory_iterator(s.local.conflicts_dir(), ec)) {
      const std::string name = file.path().filename().string();
      if (!name.starts_with("conflict_") || !name.ends_with(".json")) continue;
      ConflictEntry& entry = entries[name];
      entry.name = name;
      entry.local = true;
      Result<Bytes> bytes = ReadLocalFile(file.path());
      Result<ConflictArtifact> artifact = bytes.ok() ? DecodeLocalArtifact(s.ctx, name, *bytes)
                                                     : Result<ConflictArtifact>(bytes.error());
      if (artifact.ok()) {
        // The local copy has the paths in plain text: it wins.
        entry.problem.reset();
        entry.paths.clear();
        Describe(entry, *artifact);
      } else if (!entry.in_store || entry.problem) {
        entry.problem = artifact.error().message;
      }
    }
  }

  for (auto& [name, entry] : entries) {
    entry.state = StateOf(entry, s.node_id(), report.base_head_seq);
    if (prune && entry.state == "resolved") {
      if (entry.in_store) HX_RETURN_IF_ERROR(s.store->Delete(ConflictKey(name)));
      if (entry.local && !fs::remove(s.local.conflicts_dir() / name, ec) && ec) {
        return Error(SyncCode::kStateFailed, Category::kIo,
                     "cannot remove " + (s.local.conflicts_dir() / name).string() + ": " +
                         ec.message())
            .With("path", (s.local.conflicts_dir() / name).string());
      }
      entry.pruned = true;
      ++report.pruned;
    }
    report.conflicts.push_back(std::move(entry));
  }
  return report;
}

json ConflictsReport::ToJson() const {
  json list = json::array();
  for (const ConflictEntry& e : conflicts) {
    json item = {{"created_ms", e.created_ms},
                 {"decision", e.decision},
                 {"in_store", e.in_store},
                 {"kind", e.kind},
                 {"local", e.local},
                 {"name", e.name},
                 {"node_id", e.node_id},
                 {"paths", e.paths},
                 {"policy", e.policy},
                 {"pruned", e.pruned},
                 {"remote_head_seq", e.remote_head_seq},
                 {"state", e.state}};
    if (e.problem) item["problem"] = *e.problem;
    list.push_back(std::move(item));
  }
  return {{"base_head_seq", base_head_seq ? json(*base_head_seq) : json(nullptr)},
          {"conflicts", std::move(list)},
          {"pruned", pruned},
          {"vault_path", vault_path}};
}

std::string ConflictsReport::ToHuman() const {
  std::ostringstream out;
  if (conflicts.empty()) return "no conflict artifacts\n";
  std::uint64_t open = 0;
  for (const ConflictEntry& e : conflicts) {
    open += e.state == "open";
    out << e.name << "  " << e.state << (e.pruned ? " (pruned)" : "") << "  ";
    if (e.in_store && e.local) {
      out << "store+local";
    } else {
      out << (e.in_store ? "store" : "local");
    }
    if (e.problem) {
      out << "  unreadable: " << Printable(*e.problem) << "\n";
      continue;
    }
    out << "  " << e.kind << ", " << e.policy << ": " << e.decision << ", remote head "
        << e.remote_head_seq << ", device " << Printable(e.node_id.substr(0, 8)) << "\n";
    constexpr std::size_t kShownPaths = 10;
    for (std::size_t i = 0; i < e.paths.size() && i < kShownPaths; ++i) {
      out << "    " << Printable(e.paths[i]) << "\n";
    }
    if (e.paths.size() > kShownPaths) {
      out << "    ... and " << e.paths.size() - kShownPaths << " more\n";
    }
  }
  out << conflicts.size() << " artifact(s), " << open << " open";
  if (prune) out << ", " << pruned << " pruned";
  out << "\n";
  return out.str();
}

}  // namespace hx
