#include "sync/hold.h"

#include <algorithm>
#include <map>

#include "base/hex.h"
#include "json/canonical_json.h"

namespace hx {
namespace {

Error Damaged(const std::string& why) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "the index's record of held conflicts is damaged (" + why +
                   "); run hx sync pull to plan them again");
}

nlohmann::json EntryToJson(const Entry& e) {
  nlohmann::json chunks = nlohmann::json::array();
  for (const ChunkRef& c : e.chunks) chunks.push_back({ToHex(c.id), static_cast<std::int64_t>(c.size)});
  nlohmann::json vv = nlohmann::json::object();
  for (const auto& [node, counter] : e.vv.counters()) vv[node] = static_cast<std::int64_t>(counter);
  return {{"kind", std::string(ToString(e.kind))},
          {"size", static_cast<std::int64_t>(e.size)},
          {"chunks", std::move(chunks)},
          {"executable", e.executable},
          {"mtime_ns", e.mtime_ns},
          {"symlink_target", e.symlink_target},
          {"vv", std::move(vv)}};
}

Result<Entry> EntryFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Damaged("an entry is not an object");
  Entry e;
  const std::string kind = j.value("kind", std::string());
  bool known = false;
  for (EntryKind k : {EntryKind::kFile, EntryKind::kDir, EntryKind::kSymlink, EntryKind::kTombstone}) {
    if (ToString(k) == kind) {
      e.kind = k;
      known = true;
    }
  }
  if (!known) return Damaged("unknown kind");
  e.size = static_cast<std::uint64_t>(j.value("size", std::int64_t{0}));
  e.executable = j.value("executable", false);
  e.mtime_ns = j.value("mtime_ns", std::int64_t{0});
  e.symlink_target = j.value("symlink_target", std::string());
  if (auto it = j.find("chunks"); it != j.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (!c.is_array() || c.size() != 2 || !c[0].is_string() || !c[1].is_number_integer()) {
        return Damaged("a chunk is malformed");
      }
      const auto id = FromHex(c[0].get<std::string>());
      if (!id || id->size() != ObjectId{}.size()) return Damaged("a chunk id is malformed");
      ChunkRef ref;
      std::copy(id->begin(), id->end(), ref.id.begin());
      ref.size = static_cast<std::uint64_t>(c[1].get<std::int64_t>());
      e.chunks.push_back(ref);
    }
  }
  std::map<std::string, std::uint64_t> counters;
  if (auto it = j.find("vv"); it != j.end() && it->is_object()) {
    for (const auto& [node, counter] : it->items()) {
      if (!counter.is_number_integer()) return Damaged("a version counter is malformed");
      counters[node] = static_cast<std::uint64_t>(counter.get<std::int64_t>());
    }
  }
  e.vv = VersionVector(std::move(counters));
  return e;
}

}  // namespace

bool IsHeld(const std::vector<std::string>& held, std::string_view path) {
  for (const std::string& h : held) {
    if (path == h) return true;
    if (path.size() > h.size() && path.compare(0, h.size(), h) == 0 && path[h.size()] == '/') {
      return true;
    }
  }
  return false;
}

EntryMap HeldEntries(const std::vector<std::string>& held, const EntryMap& entries) {
  EntryMap out;
  for (const std::string& h : held) {
    for (auto it = entries.lower_bound(h); it != entries.end(); ++it) {
      if (!IsHeld({h}, it->first)) {
        if (it->first != h && it->first.compare(0, h.size(), h) != 0) break;
        continue;  // "a b" sorts between "a" and "a/b"
      }
      out.insert(*it);
    }
  }
  return out;
}

void ReplaceHeld(const std::vector<std::string>& held, const EntryMap& with, EntryMap& entries) {
  for (const auto& [path, entry] : HeldEntries(held, entries)) entries.erase(path);
  for (const auto& [path, entry] : HeldEntries(held, with)) entries.insert_or_assign(path, entry);
}

Result<HeldConflicts> LoadHeldConflicts(Index& index) {
  HX_ASSIGN_OR_RETURN(std::optional<std::string> bytes, index.GetMeta(kMetaHeld));
  HeldConflicts held;
  if (!bytes || bytes->empty()) return held;
  Result<nlohmann::json> parsed = ParseJson(*bytes);
  if (!parsed.ok() || !parsed->is_object()) return Damaged("not a JSON object");
  if (auto it = parsed->find("paths"); it != parsed->end() && it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_string()) return Damaged("a path is not a string");
      held.paths.push_back(p.get<std::string>());
    }
  }
  if (auto it = parsed->find("remote"); it != parsed->end() && it->is_object()) {
    for (const auto& [path, entry] : it->items()) {
      HX_ASSIGN_OR_RETURN(Entry e, EntryFromJson(entry));
      held.remote.emplace(path, std::move(e));
    }
  }
  std::sort(held.paths.begin(), held.paths.end());
  return held;
}

Status SaveHeldConflicts(Index& index, const HeldConflicts& held) {
  if (held.empty()) return index.SetMeta(kMetaHeld, "");
  nlohmann::json remote = nlohmann::json::object();
  for (const auto& [path, entry] : held.remote) remote[path] = EntryToJson(entry);
  HX_ASSIGN_OR_RETURN(const std::string json,
                      WriteCanonicalJson({{"paths", held.paths}, {"remote", std::move(remote)}}));
  return index.SetMeta(kMetaHeld, json);
}

}  // namespace hx
