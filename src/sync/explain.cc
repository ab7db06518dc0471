// hx explain (see explain.h): one path's local, base and remote versions,
// the planner's decision on it, and what blocks it. Computes on PreparePull,
// so it can never disagree with what a pull would do.
#include "sync/explain.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "base/printable.h"
#include "index/index.h"
#include "meta/path_lock.h"
#include "sync/internal.h"
#include "sync/mass_delete.h"
#include "sync/planner.h"
#include "sync/prepare.h"
#include "sync/resolve.h"
#include "sync/session.h"

namespace hx {
namespace {

using nlohmann::json;

// The most bytes of a pull report explain reads (a report lists at most
// 1,000 items; this is far above that).
constexpr std::size_t kMaxReportBytes = std::size_t{16} << 20;

Result<std::string> ResolvePath(const std::filesystem::path& vault, std::string_view path) {
  const std::filesystem::path given(path);
  if (!given.is_absolute()) return NormalizeLockPath(path);
  const std::filesystem::path relative =
      given.lexically_normal().lexically_relative(vault.lexically_normal());
  if (relative.empty() || *relative.begin() == "..") {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the path " + std::string(path) + " is outside the vault folder " +
                            vault.string() + "; give a path inside it, or relative to it");
  }
  return NormalizeLockPath(relative.generic_string());
}

// Whether `dir` is `path` or a directory above it.
bool IsAtOrAbove(std::string_view dir, std::string_view path) {
  return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

ExplainVersion VersionOf(const EntryMap& entries, const std::string& path, std::string_view self) {
  ExplainVersion v;
  auto it = entries.find(path);
  if (it == entries.end()) return v;
  const Entry& e = it->second;
  v.kind = std::string(ToString(e.kind));
  if (e.kind == EntryKind::kFile) v.size = e.size;
  if (e.kind == EntryKind::kFile || e.kind == EntryKind::kSymlink) v.content = ContentId(e).substr(0, 8);
  v.vv = e.vv.counters();
  v.vv_words = VersionVectorInWords(v.vv, self);
  return v;
}

// The planner's view of a missing entry: a tombstone without history.
Entry EntryOrNone(const EntryMap& entries, const std::string& path) {
  auto it = entries.find(path);
  if (it != entries.end()) return it->second;
  Entry none;
  none.kind = EntryKind::kTombstone;
  return none;
}

std::string_view ActionName(PullAction action) {
  switch (action) {
    case PullAction::kKeepLocal: return "keep_local";
    case PullAction::kTakeRemote: return "take_remote";
    case PullAction::kJoin: return "join";
    case PullAction::kConflict: return "conflict";
  }
  return "?";
}

// Reads at most `max` bytes of a file through `env`; nullopt if it cannot.
std::optional<std::string> ReadSmallFile(Env& env, const std::filesystem::path& file,
                                         std::size_t max) {
  int raw = -1;
  if (env.Open(AT_FDCWD, file.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw) != 0) return std::nullopt;
  Fd fd(env, raw);
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    std::size_t got = 0;
    if (env.Read(fd.get(), buf, std::min(sizeof(buf), max - out.size()), &got) != 0) {
      return std::nullopt;
    }
    if (got == 0) return out;
    out.append(buf, got);
  }
  return std::nullopt;  // larger than `max`: not a report hx wrote
}

// The newest pull report in .hx/reports/ (pull_<ms>.json or pull_<ms>-<n>.json).
std::optional<json> LastPullReport(Session& s) {
  Env& env = *s.env;
  int raw = -1;
  const std::filesystem::path dir = s.local.reports_dir();
  if (env.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY, 0, &raw) != 0) return std::nullopt;
  Fd fd(env, raw);
  std::vector<DirEntry> entries;
  if (env.ReadDir(fd.get(), &entries) != 0) return std::nullopt;
  std::optional<std::pair<std::pair<std::int64_t, std::int64_t>, std::string>> newest;
  for (const DirEntry& e : entries) {
    if (!e.name.starts_with("pull_") || !e.name.ends_with(".json")) continue;
    const std::string stem = e.name.substr(5, e.name.size() - 10);
    const std::size_t dash = stem.find('-');
    std::int64_t ms = 0;
    std::int64_t n = 0;
    const std::string ms_text = stem.substr(0, dash);
    if (std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), ms).ec != std::errc()) {
      continue;
    }
    if (dash != std::string::npos) {
      const std::string n_text = stem.substr(dash + 1);
      if (std::from_chars(n_text.data(), n_text.data() + n_text.size(), n).ec != std::errc()) {
        continue;
      }
    }
    if (!newest || newest->first < std::make_pair(ms, n)) newest = {{ms, n}, e.name};
  }
  if (!newest) return std::nullopt;
  std::optional<std::string> bytes = ReadSmallFile(env, dir / newest->second, kMaxReportBytes);
  if (!bytes) return std::nullopt;
  json report = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded() || !report.is_object()) return std::nullopt;
  return report;
}

std::optional<Error> ErrorFromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  Error e(SyncCode::kInternal, Category::kInternal, j.value("message", std::string()));
  if (auto code = SyncCodeFromString(j.value("code", std::string())); code) e.code = *code;
  if (auto category = CategoryFromString(j.value("category", std::string())); category) {
    e.category = *category;
  }
  if (j.contains("details") && j["details"].is_object()) {
    for (const auto& [key, value] : j["details"].items()) {
      if (value.is_string()) e.With(key, value.get<std::string>());
    }
  }
  return e;
}

bool ErrorNamesPath(const Error& e, std::string_view path) {
  for (const auto& [key, value] : e.details) {
    if (value == path) return true;
  }
  return e.message.find(std::string("'") + std::string(path) + "'") != std::string::npos ||
         e.message.find(" " + std::string(path) + " ") != std::string::npos ||
         e.message.find(" " + std::string(path) + ":") != std::string::npos;
}

std::string Quoted(std::string_view s) {
  return s.find_first_of(" \t'\"$`\\") == std::string_view::npos ? std::string(s)
                                                                  : "'" + std::string(s) + "'";
}

}  // namespace

std::string VersionVectorInWords(const std::map<std::string, std::uint64_t>& vv,
                                 std::string_view self) {
  if (vv.empty()) return "no history";
  // A change by a node sets its counter above every counter it has seen, so
  // the highest counter is the last change; the others are what it built on.
  std::vector<std::pair<std::string, std::uint64_t>> nodes(vv.begin(), vv.end());
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const auto name = [&](const std::string& node) {
    const std::string short_id = node.substr(0, 8);
    return node == self ? "this device (" + short_id + ")" : "device " + short_id;
  };
  std::string out = "last changed by " + name(nodes[0].first) + " (counter " +
                    std::to_string(nodes[0].second) + ")";
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    out += i == 1 ? "; includes the changes of " : ", ";
    out += name(nodes[i].first) + " up to " + std::to_string(nodes[i].second);
  }
  return out;
}

Result<ExplainReport> SyncExplain(const std::filesystem::path& vault,
                                  const SyncOptions& given_options, std::string_view given_path) {
  SyncOptions options = given_options;
  options.read_only = true;
  Result<std::string> resolved = ResolvePath(vault, given_path);
  if (!resolved.ok()) {
    Error e = std::move(resolved).error();
    if (e.message.starts_with("invalid lock path")) e.message.replace(0, 17, "invalid path");
    return e;
  }
  const std::string path = std::move(*resolved);
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  const std::string& self = s.node_id();

  ExplainReport r;
  r.vault_path = vault.string();
  r.path = path;
  r.node_id = self;
  r.target = s.target.ToUri();
  r.policy = std::string(MergePolicyName(
      options.auto_merge.value_or(s.local.config().default_merge_policy)));

  PullReport pull_report;
  HX_ASSIGN_OR_RETURN(PreparedPull p, PreparePull(s, options, pull_report));
  if (p.base.snapshot_id) r.base_head_seq = p.base.head_seq;
  if (p.head) r.remote_head_seq = p.head->seq;

  // The local side: PreparePull scanned unless the head is the base; then
  // scan here, as merge-preview does.
  std::optional<ScanResult> own_scan;
  std::optional<LocalChanges> own_changes;
  const ScanResult* scan = &p.scan;
  const LocalChanges* changes = &p.local;
  const EntryMap* local_state = &p.LocalState();
  const EntryMap empty;
  const EntryMap* remote = &p.remote.entries;
  if (p.up_to_date) {
    HX_ASSIGN_OR_RETURN(ScanResult scanned, ScanFolder(s));
    own_scan = std::move(scanned);
    own_changes = DetectLocalChangesOfScan(p.base, *own_scan, self, StateWanted::kAlways);
    scan = &*own_scan;
    changes = &*own_changes;
    local_state = &own_changes->state;
    remote = p.head ? &p.base.entries : &empty;
  }

  // On disk, as it is now.
  struct stat st {};
  const std::filesystem::path on_disk = s.local.vault() / path;
  if (s.env->StatAt(AT_FDCWD, on_disk.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    r.on_disk = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir"
                : S_ISLNK(st.st_mode) ? "symlink" : "other";
  }

  r.local = VersionOf(*local_state, path, self);
  r.base = VersionOf(p.base.entries, path, self);
  r.remote = VersionOf(*remote, path, self);

  const auto listed = [&](const std::vector<std::string>& paths) {
    return std::binary_search(paths.begin(), paths.end(), path);
  };
  if (listed(changes->added)) r.local_change = "added";
  if (listed(changes->modified)) r.local_change = "modified";
  if (listed(changes->deleted)) r.local_change = "deleted";

  // What keeps the scan from seeing the path: .hxignore, or a read error.
  const bool is_dir = r.on_disk == "dir" || (r.on_disk == "absent" && r.base.kind == "dir");
  const std::optional<IgnoreRules::Match> ignored = scan->ignore_rules.Explain(path, is_dir);
  std::optional<std::string> unreadable;
  for (const ScanError& error : scan->errors) {
    if (IsAtOrAbove(error.path, path)) unreadable = error.path + ": " + error.error.message;
  }
  for (const ScanSkip& skip : scan->skipped) {
    if (IsAtOrAbove(skip.path, path)) {
      unreadable = skip.path + ": skipped (" + std::string(ToString(skip.reason)) + ")";
    }
  }

  // The relation of the two versions, in the planner's own terms.
  const Entry local_entry = EntryOrNone(*local_state, path);
  const Entry remote_entry = EntryOrNone(*remote, path);
  if (local_entry == remote_entry) {
    r.relation = "equal";
    r.relation_words = r.local.kind == "none" && r.remote.kind == "none"
                           ? "neither this device nor the store has synced it"
                           : "this device and the store hold the same version";
  } else {
    switch (MergeEntries(local_entry, remote_entry).action) {
      case PullAction::kKeepLocal:
        r.relation = "local_newer";
        r.relation_words = "this device's version descends from the store's: it has seen every "
                           "change the store has, and made more";
        break;
      case PullAction::kTakeRemote:
        r.relation = "remote_newer";
        r.relation_words = "the store's version descends from this device's: another device "
                           "changed it after this device's last change";
        break;
      case PullAction::kJoin:
        r.relation = "same_content";
        r.relation_words = "both hold the same content, reached by different histories";
        break;
      case PullAction::kConflict:
        r.relation = "concurrent";
        r.relation_words = "each side has a change the other has not seen: concurrent changes";
        break;
    }
  }

  // The plan item that carries the path: its own, or a directory's above it.
  const PlannedItem* item = nullptr;
  for (const PlannedItem& planned : p.plan.items) {
    if (IsAtOrAbove(planned.path, path) && (item == nullptr || planned.path.size() > item->path.size())) {
      item = &planned;
    }
  }
  if (item != nullptr) {
    r.plan_action = std::string(ActionName(item->action));
    r.plan_path = item->path;
  }

  const std::string v = Quoted(r.vault_path);
  const bool head_moved = !p.up_to_date;
  if (ignored) {
    r.decision = "ignored";
    r.local_change = "ignored";
    r.decision_words = ignored->line == 0
        ? "never synced: .hx is hx's own folder"
        : "not synced from this device: .hxignore line " + std::to_string(ignored->line) + " (" +
              ignored->rule + ") ignores " + (ignored->path == path ? "it" : ignored->path);
    r.blockers.push_back({"ignored", r.decision_words, std::nullopt});
    if (ignored->line != 0) {
      r.next.push_back("remove or negate line " + std::to_string(ignored->line) +
                       " of .hxignore (" + ignored->rule + ") if it should sync, then hx sync push " + v);
    }
  } else if (unreadable) {
    r.decision = "unreadable";
    r.local_change = "unreadable";
    r.decision_words = "the scan could not read it, so it is neither published nor replaced";
    r.blockers.push_back({"unreadable", *unreadable, std::nullopt});
    r.next.push_back("make it readable (check its permissions), then hx sync push " + v);
  } else if (item != nullptr && item->action == PullAction::kConflict) {
    r.decision = "conflict";
    const MergePolicy policy = options.auto_merge.value_or(s.local.config().default_merge_policy);
    if (IsResolvingPolicy(policy) && policy != MergePolicy::kManualPerItem) {
      HX_ASSIGN_OR_RETURN(const Resolution resolution,
                          ResolveConflicts(p.plan, p.LocalState(), p.remote.entries, policy,
                                           nullptr));
      for (const ResolvedConflict& c : resolution.conflicts) {
        if (c.path == item->path) r.resolution = c.decision;
      }
      r.decision_words = "concurrent changes; the next pull resolves them by policy " + r.policy +
                         " (" + r.resolution + ")";
      r.next.push_back("hx sync pull " + v);
    } else if (policy == MergePolicy::kManualPerItem) {
      r.resolution = "await_decision";
      r.decision_words = "concurrent changes; policy manual_per_item waits for a decision on it";
      r.blockers.push_back({"conflict", "the pull waits for a decision (local, remote or both) "
                                        "in the decisions file", std::nullopt});
      r.next.push_back("hx sync pull " + v + " --decisions FILE (with {\"" + item->path +
                       "\": \"local\"|\"remote\"|\"both\"})");
    } else {
      r.decision_words = "concurrent changes: a pull with policy " + r.policy +
                         " stops (KC_SYNC_CONFLICT) and applies nothing";
      r.blockers.push_back({"conflict", "this device and another changed " + item->path +
                                            " concurrently", std::nullopt});
      r.next.push_back("hx sync merge-preview " + v + " --policy keep_both (see what a policy "
                       "would do, changing nothing)");
      r.next.push_back("hx sync pull " + v + " --auto-merge keep_both (or local_preferred, "
                       "cloud_preferred)");
    }
  } else if (item != nullptr && item->action == PullAction::kTakeRemote) {
    r.decision = "pull";
    r.decision_words = remote_entry.kind == EntryKind::kTombstone
        ? "the next pull deletes it here (another device deleted it)"
        : "the next pull writes the store's version here";
    r.next.push_back("hx sync pull " + v);
  } else if (item != nullptr && item->action == PullAction::kJoin) {
    r.decision = "join";
    r.decision_words = "both sides hold the same content; the next pull records it as synced";
    r.next.push_back("hx sync pull " + v);
  } else if ((item != nullptr && item->action == PullAction::kKeepLocal) ||
             r.local_change != "unchanged") {
    r.decision = "push";
    r.decision_words = "the next push publishes this device's version (" + r.local_change + ")";
    if (head_moved) {
      r.decision_words += "; the store has moved on, so pull first";
      r.next.push_back("hx sync pull " + v);
    }
    r.next.push_back("hx sync push " + v);
  } else {
    r.decision = "in_sync";
    r.decision_words = "in sync: nothing to do";
  }

  // Other devices' locks on it (advisory: the conservative_plus policies
  // refuse to auto-merge a change to a locked path).
  HX_ASSIGN_OR_RETURN(const PathLockListing locks, ListPathLocks(*s.store, s.ctx));
  for (const PathLock& lock : locks.locks) {
    if (!lock.ActiveAt(options.now_ms) || !lock.Covers(path) || lock.owner == self) continue;
    r.blockers.push_back(
        {"lock", "locked by device " + lock.owner.substr(0, 8) + " (" + lock.path + ") until " +
                     std::to_string(lock.expires_ms) + " ms; the conservative_plus policies "
                     "refuse to merge changes to it",
         std::nullopt});
    r.next.push_back("ask device " + lock.owner.substr(0, 8) + " to run hx lock remove " +
                     Quoted(r.vault_path) + " " + Quoted(lock.path) + ", or wait until it expires");
  }

  // The mass-delete guard stops the whole push or pull, this path with it.
  const int max_share = s.local.config().mass_delete_max_share_pct;
  if (r.decision == "push") {
    const Status guard = CheckMassDelete(
        {.live_before = CountLiveFiles(p.base.entries),
         .deleting = CountDeletedFiles(p.base.entries, changes->deleted),
         .live_after = CountLiveFiles(*local_state),
         .max_share_pct = max_share,
         .confirmed = options.allow_mass_delete,
         .operation = "push"});
    if (!guard.ok()) {
      r.blockers.push_back({"mass_delete", guard.error().message, guard.error()});
      r.next.push_back("if the deletions are meant: hx sync push " + v + " --allow-mass-delete");
    }
  } else if (r.decision == "pull" || r.decision == "join" || r.decision == "conflict") {
    std::vector<std::string> deleting;
    for (const PlannedItem& planned : p.plan.items) {
      if (planned.action == PullAction::kTakeRemote && planned.remote->kind != EntryKind::kFile &&
          planned.remote->kind != EntryKind::kSymlink) {
        deleting.push_back(planned.path);
      }
    }
    const Status guard = CheckMassDelete({.live_before = p.scanned_live_files,
                                          .deleting = CountDeletedFiles(scan->entries, deleting),
                                          .live_after = p.plan.live_files_after,
                                          .max_share_pct = max_share,
                                          .confirmed = options.allow_mass_delete,
                                          .operation = "pull"});
    if (!guard.ok()) {
      r.blockers.push_back({"mass_delete", guard.error().message, guard.error()});
      r.next.push_back("if the deletions are meant: hx sync pull " + v + " --allow-mass-delete");
    }
  }

  // A damaged tree of the store's head hides the path's remote version.
  for (const std::string& dir : p.damaged_dirs) {
    if (!IsAtOrAbove(dir, path)) continue;
    r.blockers.push_back({"damaged_tree",
                          "the store's listing of " + dir + " is damaged; the base stands in for "
                          "the store's version",
                          p.first_damage});
    r.next.push_back("push again from a device that has " + dir + " intact");
  }

  // The last pull's failure on this path, and the last error if it names it.
  if (std::optional<json> last = LastPullReport(s); last && last->contains("items") &&
                                                    (*last)["items"].is_array()) {
    for (const json& it : (*last)["items"]) {
      if (!it.is_object() || it.value("status", "") != "failed") continue;
      const std::string failed = it.value("path", "");
      if (failed.empty() || !(IsAtOrAbove(failed, path) || IsAtOrAbove(path, failed))) continue;
      std::optional<Error> error = it.contains("error") ? ErrorFromJson(it["error"]) : std::nullopt;
      r.blockers.push_back({"failed_item",
                            "the last pull could not apply " + failed +
                                (error ? ": " + error->message : std::string()),
                            error});
      r.next.push_back("hx sync pull " + v + " (retries it; if it fails the same way, the "
                       "store's copy is damaged: push it again from a device that has it)");
    }
  }
  const bool failed_item = std::any_of(r.blockers.begin(), r.blockers.end(), [](const auto& b) {
    return b.kind == "failed_item";  // the last error then says the same
  });
  if (Result<std::optional<std::string>> last = s.index->GetMeta(kMetaLastError);
      !failed_item && last.ok() && *last) {
    const json j = json::parse(**last, nullptr, /*allow_exceptions=*/false);
    if (std::optional<Error> e = ErrorFromJson(j); e && ErrorNamesPath(*e, path)) {
      r.blockers.push_back({"last_error", "the last sync failed on it: " + e->message, e});
    }
  }
  // Dedupe the next steps, keeping their order.
  std::vector<std::string> next;
  for (std::string& step : r.next) {
    if (std::find(next.begin(), next.end(), step) == next.end()) next.push_back(std::move(step));
  }
  r.next = std::move(next);
  if (r.next.empty()) r.next.push_back("nothing");
  return r;
}

namespace {

json VersionJson(const ExplainVersion& v) {
  return {{"content", v.content}, {"kind", v.kind}, {"size", v.size}, {"vv", v.vv},
          {"vv_words", v.vv_words}};
}

std::string VersionHuman(const ExplainVersion& v) {
  if (v.kind == "none") return "none";
  std::string out = v.kind;
  if (v.kind == "file") out += ", " + std::to_string(v.size) + " bytes";
  if (!v.content.empty()) out += ", content " + v.content;
  if (v.kind == "tombstone") out = "deleted";
  return out + " — " + Printable(v.vv_words);
}

}  // namespace

json ExplainReport::ToJson() const {
  json blockers_json = json::array();
  for (const ExplainBlocker& b : blockers) {
    json error = nullptr;
    if (b.error) error = json::parse(b.error->ToJson(), nullptr, /*allow_exceptions=*/false);
    blockers_json.push_back({{"detail", b.detail}, {"error", error}, {"kind", b.kind}});
  }
  const auto seq = [](const std::optional<std::uint64_t>& s) { return s ? json(*s) : json(nullptr); };
  return {{"base", VersionJson(base)},
          {"base_head_seq", seq(base_head_seq)},
          {"blockers", blockers_json},
          {"decision", decision},
          {"decision_words", decision_words},
          {"local", VersionJson(local)},
          {"local_change", local_change},
          {"next", next},
          {"node_id", node_id},
          {"on_disk", on_disk},
          {"path", path},
          {"plan_action", plan_action},
          {"plan_path", plan_path},
          {"policy", policy},
          {"relation", relation},
          {"relation_words", relation_words},
          {"remote", VersionJson(remote)},
          {"remote_head_seq", seq(remote_head_seq)},
          {"resolution", resolution},
          {"target", target},
          {"vault_path", vault_path}};
}

std::string ExplainReport::ToHuman() const {
  std::ostringstream out;
  out << Printable(path) << "\n"
      << "  on disk:  " << on_disk << " (" << local_change << " since the last sync)\n"
      << "  local:    " << VersionHuman(local) << "\n"
      << "  base:     " << VersionHuman(base) << "\n"
      << "  remote:   " << VersionHuman(remote) << "\n"
      << "  versions: " << Printable(relation_words) << "\n"
      << "  decision: " << Printable(decision_words) << "\n";
  if (!plan_action.empty() && plan_path != path) {
    out << "  (the plan item of " << Printable(plan_path) << " carries it: " << plan_action << ")\n";
  }
  for (const ExplainBlocker& b : blockers) {
    out << "  blocked:  " << b.kind << ": " << Printable(b.detail) << "\n";
  }
  for (const std::string& step : next) out << "  next:     " << Printable(step) << "\n";
  return out.str();
}

}  // namespace hx
