// hx sync log and hx sync diff (history.h).
#include <algorithm>
#include <set>

#include "history/forget.h"
#include "history/history.h"
#include "history/reader.h"
#include "os/vault_dir.h"
#include "sync/internal.h"
#include "sync/session.h"

namespace hx {
namespace {

LogEntry EntryOf(const SnapshotInfo& info) {
  LogEntry e;
  e.seq = info.seq;
  e.snapshot_id = info.id;
  e.created_ms = info.created_ms;
  e.author = info.author;
  e.added = info.summary.added;
  e.modified = info.summary.modified;
  e.deleted = info.summary.deleted;
  e.files = info.summary.files;
  e.bytes = info.summary.bytes;
  return e;
}

bool Live(const std::optional<PathVersion>& v) {
  return v && v->entry.kind != EntryKind::kTombstone;
}

// Whether the path's version differs between two snapshots (a directory
// differs when anything beneath it does: its listing's id).
bool Changed(const std::optional<PathVersion>& before, const std::optional<PathVersion>& now) {
  if (Live(before) != Live(now)) return true;
  if (!Live(now)) return false;
  if (!before->entry.SameContent(now->entry)) return true;
  return now->entry.kind == EntryKind::kDir && before->subtree != now->subtree;
}

}  // namespace

Status CheckUserPath(std::string_view path) {
  Status ok = VaultDir::CheckPath(path, VaultArea::kContent);
  if (ok.ok()) return ok;
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "'" + std::string(path) +
                   "' is not a path of the vault: give it relative to the vault folder, with '/' "
                   "between components, no '.' or '..', and not inside .hx/")
      .With("path", std::string(path));
}

Result<LogReport> SyncLog(const std::filesystem::path& vault, const SyncOptions& options,
                          const LogOptions& log) {
  if (log.limit == 0 || log.limit > kMaxLogLimit) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "--limit must be between 1 and " + std::to_string(kMaxLogLimit));
  }
  if (!log.path.empty()) HX_RETURN_IF_ERROR(CheckUserPath(log.path));
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HistoryReader reader(s);
  LogReport report;
  report.target = s.target.ToUri();
  report.path = log.path;
  report.offset = log.offset;
  HX_ASSIGN_OR_RETURN(const std::set<std::string> forgotten,
                      ReadForgotten(*s.store, s.ctx, nullptr));
  const auto entry_of = [&](const SnapshotInfo& info) {
    LogEntry e = EntryOf(info);
    e.forgotten = forgotten.count(info.id) != 0;
    e.relocation = reader.IsRelocation(info);
    return e;
  };
  if (log.path.empty()) {
    bool more = false;
    HX_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> page, reader.Page(log.offset, log.limit, &more));
    for (const SnapshotInfo& info : page) report.snapshots.push_back(entry_of(info));
    if (more) report.next_offset = log.offset + page.size();
    report.snapshots_read = reader.snapshots_read();
    return report;
  }
  HX_RETURN_IF_ERROR(reader.LoadAll());
  report.warnings = reader.problems();
  std::size_t matched = 0;
  for (const SnapshotInfo& info : reader.snapshots()) {
    HX_ASSIGN_OR_RETURN(std::optional<PathVersion> now, reader.VersionAt(info.root, log.path));
    std::optional<PathVersion> before;
    const SnapshotInfo* parent = info.parents.empty() ? nullptr : reader.Find(info.parents[0]);
    if (parent != nullptr) {
      HX_ASSIGN_OR_RETURN(before, reader.VersionAt(parent->root, log.path));
    }
    if (!Changed(before, now)) continue;
    if (matched++ < log.offset) continue;
    if (report.snapshots.size() == log.limit) {
      report.next_offset = log.offset + log.limit;
      break;
    }
    LogEntry e = entry_of(info);
    if (!Live(now)) {
      e.kind = "deleted";
    } else {
      e.kind = std::string(ToString(now->entry.kind));
      if (now->entry.kind == EntryKind::kFile) {
        e.size = now->entry.size;
        e.content_id = ContentId(now->entry);
      }
    }
    report.snapshots.push_back(std::move(e));
  }
  report.snapshots_read = reader.snapshots_read();
  return report;
}

Result<DiffReport> SyncDiff(const std::filesystem::path& vault, const SyncOptions& options,
                            const std::string& from, const std::string& to) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HistoryReader reader(s);
  HX_RETURN_IF_ERROR(reader.LoadAll());
  HX_ASSIGN_OR_RETURN(const SnapshotInfo* a, reader.Resolve(from));
  HX_ASSIGN_OR_RETURN(const SnapshotInfo* b, reader.Resolve(to));
  DiffReport report;
  report.warnings = reader.problems();
  report.from_snapshot_id = a->id;
  report.from_seq = a->seq;
  report.to_snapshot_id = b->id;
  report.to_seq = b->seq;
  HX_ASSIGN_OR_RETURN(const EntryMap before, reader.Flatten(a->root));
  HX_ASSIGN_OR_RETURN(const EntryMap after, reader.Flatten(b->root));
  const auto live = [](const EntryMap& m, EntryMap::const_iterator it) {
    return it != m.end() && it->second.kind != EntryKind::kTombstone;
  };
  const auto add = [](std::vector<std::string>& list, std::uint64_t& count,
                      const std::string& path) {
    ++count;
    if (list.size() < kMaxReportedPaths) list.push_back(path);
  };
  for (auto it = after.begin(); it != after.end(); ++it) {
    if (it->second.kind == EntryKind::kTombstone) continue;
    auto was = before.find(it->first);
    if (!live(before, was)) {
      add(report.added, report.added_count, it->first);
    } else if (!was->second.SameContent(it->second)) {
      add(report.modified, report.modified_count, it->first);
    }
  }
  for (auto it = before.begin(); it != before.end(); ++it) {
    if (it->second.kind == EntryKind::kTombstone) continue;
    if (!live(after, after.find(it->first))) add(report.deleted, report.deleted_count, it->first);
  }
  return report;
}

}  // namespace hx
