#include "history/reader.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <queue>
#include <set>
#include <utility>

#include "base/hex.h"
#include "base/utc_time.h"
#include "repo/object_codec.h"

namespace hx {
namespace {

SnapshotInfo InfoOf(const Snapshot& snapshot) {
  SnapshotInfo info;
  info.id = snapshot.snapshot_id;
  info.seq = snapshot.seq;
  info.created_ms = snapshot.created_ms;
  info.author = snapshot.author;
  info.parents = snapshot.parents;
  info.root = snapshot.root;
  info.summary = snapshot.summary;
  return info;
}

bool NewerFirst(const SnapshotInfo& a, const SnapshotInfo& b) {
  return a.seq != b.seq ? a.seq > b.seq : a.id > b.id;
}

bool AllOf(std::string_view text, int (*pred)(int)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [pred](char c) {
    return pred(static_cast<unsigned char>(c)) != 0;
  });
}

Error TooLong() {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "the head's history lists more than " + std::to_string(kMaxHistorySnapshots) +
                   " snapshots; refusing to read it");
}

}  // namespace

std::string FormatRestoreStamp(std::int64_t ms) {
  std::string text = FormatUtcSeconds(ms);  // 2026-12-06T08:04:38Z
  text[10] = ' ';
  text.pop_back();
  std::replace(text.begin(), text.end(), ':', '.');
  return text;
}

std::optional<std::int64_t> ParseSnapshotTime(std::string_view text) {
  if (!text.empty() && (text.back() == 'Z' || text.back() == 'z')) text.remove_suffix(1);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const std::string s(text);
  int used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &used) != 3 || used != 10) {
    return std::nullopt;
  }
  if (s.size() > 10) {
    if (s[10] != 'T' && s[10] != ' ') return std::nullopt;
    const std::string rest = s.substr(11);
    int n = 0;
    if (std::sscanf(rest.c_str(), "%2d:%2d:%2d%n", &hour, &minute, &second, &n) == 3 &&
        n == static_cast<int>(rest.size()) && n == 8) {
    } else if (second = 0, n = 0;
               std::sscanf(rest.c_str(), "%2d:%2d%n", &hour, &minute, &n) == 2 &&
               n == static_cast<int>(rest.size()) && n == 5) {
    } else {
      return std::nullopt;
    }
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60 || hour < 0 || minute < 0 || second < 0) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (t < 0) return std::nullopt;
  // A date names its whole day; a minute its whole minute.
  std::int64_t end = 999;
  if (s.size() == 10) end = 86'400'000 - 1;
  if (s.size() == 16) end = 60'000 - 1;
  return static_cast<std::int64_t>(t) * 1000 + end;
}

HistoryReader::HistoryReader(Session& s)
    : s_(s),
      fetcher_(std::make_unique<ObjectFetcher>(*s.store, s.ctx, *s.index)),
      pruned_(*s.store, s.ctx) {}

Result<std::optional<Head>> HistoryReader::ReadHeadOnce() {
  if (!head_read_) {
    HX_ASSIGN_OR_RETURN(HeadState state, ReadHead(*s_.store, s_.ctx));
    head_ = state.head;
    head_read_ = true;
  }
  return head_;
}

Result<Snapshot> HistoryReader::Read(const std::string& id) {
  HX_ASSIGN_OR_RETURN(Snapshot snapshot, ReadSnapshot(*s_.store, s_.ctx, id));
  ++snapshots_read_;
  if (snapshot.key_fingerprint != s_.config.key_fingerprint) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "snapshot " + id + " was made with another key; refusing to read it")
        .With("snapshot", id);
  }
  roots_[id] = snapshot.root;
  return snapshot;
}

bool HistoryReader::IsRelocation(const SnapshotInfo& info) const {
  if (info.parents.size() != 1 || info.summary.added != 0 || info.summary.modified != 0 ||
      info.summary.deleted != 0) {
    return false;
  }
  const auto parent = roots_.find(info.parents[0]);
  return parent != roots_.end() && parent->second == info.root;
}

Result<std::vector<SnapshotInfo>> HistoryReader::Page(std::size_t offset, std::size_t limit,
                                                      bool* more) {
  *more = false;
  std::vector<SnapshotInfo> out;
  HX_ASSIGN_OR_RETURN(std::optional<Head> head, ReadHeadOnce());
  if (!head) return out;
  if (loaded_) {
    for (std::size_t i = offset; i < all_.size() && out.size() < limit; ++i) {
      out.push_back(all_[i]);
    }
    *more = offset + out.size() < all_.size();
    return out;
  }
  // A frontier ordered newest first: a snapshot's parents are older than it
  // (their seq is smaller), so popping the newest gives the history in
  // order. Parents are read when they join the frontier (their seq orders it).
  auto older = [](const SnapshotInfo& a, const SnapshotInfo& b) { return NewerFirst(b, a); };
  std::priority_queue<SnapshotInfo, std::vector<SnapshotInfo>, decltype(older)> frontier(older);
  std::set<std::string> seen = {head->snapshot_id};
  {
    HX_ASSIGN_OR_RETURN(Snapshot at_head, Read(head->snapshot_id));
    frontier.push(InfoOf(at_head));
  }
  std::size_t index = 0;
  while (!frontier.empty()) {
    if (index >= offset + limit) {
      *more = true;
      break;
    }
    SnapshotInfo next = frontier.top();
    frontier.pop();
    for (const std::string& parent : next.parents) {
      if (!seen.insert(parent).second) continue;
      if (seen.size() > kMaxHistorySnapshots) return TooLong();
      Result<Snapshot> body = Read(parent);
      if (!body.ok()) {
        // A forgotten snapshot a prune deleted on purpose ends the branch;
        // retained snapshots may lie below it (a keep-monthly rule), which
        // only the store's listing finds: the whole history is read.
        HX_ASSIGN_OR_RETURN(const bool pruned, pruned_.ExplainsMissing(body.error(), parent));
        if (!pruned) return std::move(body).error();
        HX_RETURN_IF_ERROR(LoadAll());
        return Page(offset, limit, more);
      }
      frontier.push(InfoOf(*body));
    }
    if (index++ >= offset) out.push_back(std::move(next));
  }
  return out;
}

Status HistoryReader::LoadAll() {
  if (loaded_) return OkStatus();
  HX_ASSIGN_OR_RETURN(std::optional<Head> head, ReadHeadOnce());
  if (!head) {
    loaded_ = true;
    return OkStatus();
  }
  std::vector<std::string> todo = {head->snapshot_id};
  std::set<std::string> seen = {head->snapshot_id};
  std::vector<ObjectLocation> locations;
  bool listed = false;
  bool cut = false;  // a parent a prune deleted was met
  while (true) {
    if (todo.empty()) {
      // A snapshot that does not read (or one a prune deleted) hides its
      // parents: the store's listing finds the older history again (once).
      if ((problems_.empty() && !cut) || listed) break;
      listed = true;
      HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> keys, s_.store->List("snapshots/"));
      for (const StoreObjectInfo& info : keys) {
        std::string_view name = info.key;
        name.remove_prefix(std::string_view("snapshots/").size());
        if (!name.ends_with(".zip")) continue;
        name.remove_suffix(4);
        if (IsLowerHex(name, 64) && seen.insert(std::string(name)).second) {
          todo.emplace_back(name);
        }
      }
      if (todo.empty()) break;
    }
    const std::string id = std::move(todo.back());
    todo.pop_back();
    if (seen.size() > kMaxHistorySnapshots) return TooLong();
    Result<Snapshot> snapshot = Read(id);
    if (!snapshot.ok()) {
      const Category c = snapshot.error().category;
      const bool damaged = c == Category::kCorrupt || c == Category::kHashMismatch ||
                           c == Category::kNotFound || c == Category::kUnsupported;
      if (!damaged || id == head->snapshot_id) return std::move(snapshot).error();
      HX_ASSIGN_OR_RETURN(const bool pruned, pruned_.ExplainsMissing(snapshot.error(), id));
      if (pruned) {
        cut = true;
        continue;
      }
      problems_.push_back("snapshot " + id + " does not read (" + snapshot.error().message +
                          "); it is left out. Run 'hx sync verify' to see what it affects");
      continue;
    }
    for (const std::string& parent : snapshot->parents) {
      if (seen.insert(parent).second) todo.push_back(parent);
    }
    locations.insert(locations.end(), std::make_move_iterator(snapshot->added.begin()),
                     std::make_move_iterator(snapshot->added.end()));
    all_.push_back(InfoOf(*snapshot));
  }
  fetcher_->AddLocations(std::move(locations));
  std::sort(all_.begin(), all_.end(), NewerFirst);
  for (std::size_t i = 0; i < all_.size(); ++i) by_id_[all_[i].id] = i;
  loaded_ = true;
  return OkStatus();
}

const SnapshotInfo* HistoryReader::Find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &all_[it->second];
}

Result<const SnapshotInfo*> HistoryReader::Resolve(std::string_view spec) const {
  std::string_view text = spec;
  if (text.starts_with('#')) text.remove_prefix(1);
  const auto not_found = [&](const std::string& why) {
    return Error(SyncCode::kInputInvalid, Category::kNotFound,
                 "no snapshot of this vault matches '" + std::string(spec) + "' (" + why +
                     "); 'hx sync log' lists them")
        .With("snapshot", std::string(spec));
  };
  // "#N" is a seq; plain digits are a seq or the start of an id (ids are hex:
  // one may start with digits only), and both at once is ambiguous.
  const SnapshotInfo* by_seq = nullptr;
  const bool digits = AllOf(text, [](int c) { return std::isdigit(c); }) && text.size() < 12;
  if (digits) {
    const std::uint64_t seq = std::stoull(std::string(text));
    for (const SnapshotInfo& info : all_) {
      if (info.seq == seq) by_seq = &info;
    }
    if (spec.starts_with('#') || spec.size() < 6) {
      if (by_seq != nullptr) return by_seq;
      return not_found("no snapshot has seq " + std::string(text));
    }
  }
  if (spec.size() >= 6 && spec.size() <= 64 && IsLowerHex(spec, spec.size())) {
    const SnapshotInfo* match = nullptr;
    for (auto it = by_id_.lower_bound(std::string(spec));
         it != by_id_.end() && it->first.starts_with(spec); ++it) {
      if (match != nullptr || by_seq != nullptr) {
        return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                     "'" + std::string(spec) +
                         "' names several snapshots (an id prefix, or a seq and an id prefix); "
                         "give more digits, or #N for a seq")
            .With("snapshot", std::string(spec));
      }
      match = &all_[it->second];
    }
    if (match != nullptr) return match;
    if (by_seq != nullptr) return by_seq;
    return not_found("no snapshot id starts with it" +
                     std::string(digits ? " and no snapshot has that seq" : ""));
  }
  if (std::optional<std::int64_t> at = ParseSnapshotTime(spec)) {
    for (const SnapshotInfo& info : all_) {  // newest first
      if (info.created_ms <= *at) return &info;
    }
    return not_found("the oldest snapshot is newer than that time");
  }
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "'" + std::string(spec) +
                   "' is not a snapshot: give a snapshot id (or at least 6 of its first hex "
                   "digits), a seq (#12), or a UTC time (2026-12-06T08:04:38)")
      .With("snapshot", std::string(spec));
}

Result<std::shared_ptr<const Tree>> HistoryReader::LoadTree(const ObjectId& id) {
  if (auto it = trees_.find(id); it != trees_.end()) return it->second;
  HX_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, fetcher_->Fetch(ObjectKind::kTree, id));
  ++trees_loaded_;
  HX_ASSIGN_OR_RETURN(Tree tree, DecodeTree(std::string_view(
                                     reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  if (trees_.size() >= kMaxCachedTrees) trees_.clear();
  auto shared = std::make_shared<const Tree>(std::move(tree));
  trees_.emplace(id, shared);
  return shared;
}

Result<std::optional<PathVersion>> HistoryReader::VersionAt(const ObjectId& root,
                                                            std::string_view path) {
  if (path.empty()) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput, "the path is empty");
  }
  ObjectId dir = root;
  std::size_t depth = 0;
  while (true) {
    if (++depth > kMaxTreeDepth) {
      return Error(SyncCode::kStateFailed, Category::kCorrupt, "the path is too deep");
    }
    const std::size_t slash = path.find('/');
    const std::string_view name = path.substr(0, slash);
    HX_ASSIGN_OR_RETURN(std::shared_ptr<const Tree> tree, LoadTree(dir));
    auto it = std::lower_bound(
        tree->entries.begin(), tree->entries.end(), name,
        [](const TreeEntry& e, std::string_view n) { return std::string_view(e.name) < n; });
    if (it == tree->entries.end() || it->name != name) return std::optional<PathVersion>();
    if (slash == std::string_view::npos) {
      return std::optional<PathVersion>(PathVersion{it->entry, it->subtree});
    }
    if (!it->subtree) return std::optional<PathVersion>();
    dir = *it->subtree;
    path.remove_prefix(slash + 1);
  }
}

Result<EntryMap> HistoryReader::Flatten(const ObjectId& subtree) {
  return FlattenTrees(subtree, [this](const ObjectId& id) -> Result<Tree> {
    HX_ASSIGN_OR_RETURN(std::shared_ptr<const Tree> tree, LoadTree(id));
    return *tree;
  });
}

}  // namespace hx
