#include "sync/governance.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "base/hex.h"
#include "base/printable.h"
#include "base/utc_time.h"
#include "meta/manifest.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"

namespace hx {
namespace {

using json = nlohmann::json;

// Whether a failure to read a snapshot is a fact about the chain (missing,
// damaged, foreign) rather than trouble reaching the store.
bool IsChainDamage(const Error& error) {
  return error.category == Category::kNotFound || error.category == Category::kCorrupt ||
         error.category == Category::kUnsupported || error.category == Category::kHashMismatch;
}

// Authors are known if the record lists them or they have a manifest; the
// manifests are looked up once per author.
class AuthorBook {
 public:
  AuthorBook(Session& s, const Membership& membership) : s_(s), membership_(membership) {}

  Result<bool> Known(const std::string& author) {
    if (author == s_.node_id() || membership_.Find(author) != nullptr) return true;
    if (const auto it = known_.find(author); it != known_.end()) return it->second;
    Result<bool> exists = s_.store->Exists(ManifestKey(author));
    if (!exists.ok()) return std::move(exists).error();
    known_.emplace(author, *exists);
    return *exists;
  }

 private:
  Session& s_;
  const Membership& membership_;
  std::map<std::string, bool> known_;
};

Error ReaderError(std::string_view node_id, std::string_view doing) {
  return Error(SyncCode::kAuthFailed, Category::kAuth,
               "this device (" + std::string(node_id) + ") is a reader of this vault and cannot " +
                   std::string(doing) + "; a writer device can make it a writer with `hx member " +
                   "set-role <vault> " + std::string(node_id) + " writer`")
      .With("node_id", std::string(node_id))
      .With("role", "reader");
}

// Index meta: the highest membership seq this device has seen. A store that
// serves a lower one (an old copy, or no record at all) rolled it back.
constexpr std::string_view kMetaMembershipSeq = "membership_seq_seen";

struct CheckedMembership {
  MembershipState state;
  std::uint64_t seen = 0;  // the highest seq this device saw before this read
  bool rolled_back() const { return state.membership.seq < seen; }
};

Result<CheckedMembership> ReadCheckedMembership(Session& s) {
  CheckedMembership out;
  HX_ASSIGN_OR_RETURN(out.state, ReadMembership(*s.store, s.ctx));
  HX_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> seen,
                      s.index->GetMetaUint64(kMetaMembershipSeq));
  out.seen = seen.value_or(0);
  return out;
}

Error RolledBack(const CheckedMembership& checked) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "the store's membership record (seq " +
                   std::to_string(checked.state.membership.seq) +
                   ") is older than one this device has seen (seq " +
                   std::to_string(checked.seen) +
                   "): the store lost it or served an old copy; a writer device can rewrite it "
                   "with `hx member set-role`")
      .With("key", std::string(kMembershipKey))
      .With("seq", std::to_string(checked.state.membership.seq))
      .With("seen_seq", std::to_string(checked.seen));
}

// Remembers a newer seq (best effort: failing to remember only weakens the
// rollback check, it must not fail the command).
void RememberMembership(Session& s, std::uint64_t seq, std::uint64_t seen) {
  if (seq > seen) (void)s.index->SetMeta(kMetaMembershipSeq, std::to_string(seq));
}

// The membership for a decision this device acts on: a rollback is an error.
Result<Membership> ReadMembershipToAct(Session& s) {
  HX_ASSIGN_OR_RETURN(CheckedMembership checked, ReadCheckedMembership(s));
  if (checked.rolled_back()) return RolledBack(checked);
  RememberMembership(s, checked.state.membership.seq, checked.seen);
  return std::move(checked.state.membership);
}

PathLockView ViewOf(PathLock lock, std::string_view self, std::int64_t now_ms) {
  PathLockView view;
  view.active = lock.ActiveAt(now_ms);
  view.mine = lock.owner == self;
  view.lock = std::move(lock);
  return view;
}

json LockJson(const PathLockView& view) {
  return json{{"active", view.active},
              {"created_ms", view.lock.created_ms},
              {"expires_ms", view.lock.expires_ms},
              {"mine", view.mine},
              {"owner", view.lock.owner},
              {"path", view.lock.path}};
}

std::string LockLine(const PathLockView& view) {
  std::string line = Printable(view.lock.path) + "  " +
                     (view.mine ? "this device" : Printable(view.lock.owner)) + "  until " +
                     FormatUtcSeconds(view.lock.expires_ms);
  if (!view.active) line += "  (expired)";
  return line + "\n";
}

}  // namespace

// ---- The merge context --------------------------------------------------------

Result<TrustChain> CheckTrustChain(Session& s, const Snapshot& head_snapshot,
                                   const std::optional<std::string>& base_snapshot_id,
                                   const Membership& membership) {
  TrustChain chain;
  chain.expected_key_fingerprint = s.ctx.key_fingerprint;
  chain.seen_key_fingerprint = head_snapshot.key_fingerprint;
  if (chain.seen_key_fingerprint != chain.expected_key_fingerprint) {
    chain.author_chain_ok = false;
    chain.problems.push_back("the head snapshot " + head_snapshot.snapshot_id +
                             " carries another key fingerprint than this device's key");
  }
  if (base_snapshot_id && head_snapshot.snapshot_id == *base_snapshot_id) return chain;

  AuthorBook book(s, membership);
  std::set<std::string> authors;
  std::set<std::string> visited = {head_snapshot.snapshot_id};
  PrunedSnapshots pruned_snapshots(*s.store, s.ctx);
  bool reached_base = !base_snapshot_id.has_value();
  // Each entry: a snapshot to check, and the seq of the child that named it
  // as a parent (its own seq must be lower).
  std::vector<std::pair<Snapshot, std::uint64_t>> todo;
  todo.emplace_back(head_snapshot, std::numeric_limits<std::uint64_t>::max());
  while (!todo.empty()) {
    auto [snapshot, child_seq] = std::move(todo.back());
    todo.pop_back();
    ++chain.snapshots_checked;
    authors.insert(snapshot.author);
    HX_ASSIGN_OR_RETURN(const bool known, book.Known(snapshot.author));
    if (!known) {
      chain.author_chain_ok = false;
      chain.problems.push_back("snapshot " + snapshot.snapshot_id + " was authored by device " +
                               snapshot.author + ", which this vault does not know");
    }
    if (snapshot.seq >= child_seq) {
      chain.author_chain_ok = false;
      chain.problems.push_back("snapshot " + snapshot.snapshot_id +
                               " does not precede the snapshot that names it as a parent");
    }
    for (const std::string& parent : snapshot.parents) {
      if (base_snapshot_id && parent == *base_snapshot_id) {
        reached_base = true;
        continue;
      }
      if (!visited.insert(parent).second) continue;
      if (visited.size() > kMaxTrustChainSnapshots) {
        chain.author_chain_ok = false;
        chain.problems.push_back("more than " + std::to_string(kMaxTrustChainSnapshots) +
                                 " snapshots since this device's base; the chain was not "
                                 "verified to the end");
        todo.clear();
        break;
      }
      Result<Snapshot> read = ReadSnapshot(*s.store, s.ctx, parent);
      if (!read.ok()) {
        // A forgotten snapshot a prune deleted on purpose, older than every
        // device's base (prune_record.h): the chain ends there.
        HX_ASSIGN_OR_RETURN(const bool pruned,
                            pruned_snapshots.ExplainsMissing(read.error(), parent));
        if (pruned) continue;
        if (!IsChainDamage(read.error())) return std::move(read).error();
        chain.author_chain_ok = false;
        chain.problems.push_back("snapshot " + parent + " (a parent of " +
                                 snapshot.snapshot_id + ") cannot be read: " +
                                 read.error().message);
        continue;
      }
      todo.emplace_back(std::move(*read), snapshot.seq);
    }
  }
  if (!reached_base) {
    chain.author_chain_ok = false;
    chain.problems.push_back("the head does not descend from this device's base snapshot " +
                             *base_snapshot_id);
  }
  chain.authors.assign(authors.begin(), authors.end());
  return chain;
}

std::vector<SyncMergeLockV2> LocksCovering(const std::vector<PathLock>& locks,
                                           const std::vector<std::string>& changed_paths,
                                           std::string_view self, std::int64_t now_ms) {
  // What a lock covers is its path and a contiguous range of the sorted
  // paths (those starting with "<path>/"), so each lock costs two binary
  // searches plus its matches, however many paths changed.
  std::vector<std::string_view> sorted(changed_paths.begin(), changed_paths.end());
  std::sort(sorted.begin(), sorted.end());
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<SyncMergeLockV2> out;
  auto add = [&](std::string_view path, const PathLock& lock) {
    std::string hash = ObjectHashOfPath(path);
    if (!seen.emplace(hash, lock.owner).second) return;
    out.push_back(SyncMergeLockV2{
        .object_hash = std::move(hash), .owner = lock.owner, .expires_at_ms = lock.expires_ms});
  };
  for (const PathLock& lock : locks) {
    if (lock.owner == self || !lock.ActiveAt(now_ms)) continue;
    if (std::binary_search(sorted.begin(), sorted.end(), std::string_view(lock.path))) {
      add(lock.path, lock);
    }
    const std::string prefix = lock.path + "/";
    for (auto it = std::lower_bound(sorted.begin(), sorted.end(), std::string_view(prefix));
         it != sorted.end() && it->starts_with(prefix); ++it) {
      add(*it, lock);
    }
  }
  std::sort(out.begin(), out.end(), [](const SyncMergeLockV2& a, const SyncMergeLockV2& b) {
    return std::tie(a.object_hash, a.owner, a.expires_at_ms) <
           std::tie(b.object_hash, b.owner, b.expires_at_ms);
  });
  return out;
}

Result<SyncMergeContextV2> BuildMergeContext(Session& s, const PreparedPull& prepared,
                                             std::int64_t now_ms) {
  SyncMergeContextV2 context;
  context.expected_key_fingerprint = s.ctx.key_fingerprint;
  context.seen_key_fingerprint = s.ctx.key_fingerprint;
  HX_ASSIGN_OR_RETURN(const CheckedMembership checked, ReadCheckedMembership(s));
  const Membership& membership = checked.state.membership;
  context.local_role = std::string(ToString(membership.RoleOf(s.node_id())));
  // A rolled-back record cannot vouch for anyone's role: a trust fact (this
  // function writes nothing, so it does not remember the seq either).
  if (checked.rolled_back()) context.author_chain_ok = false;
  if (prepared.up_to_date || !prepared.snapshot) return context;

  HX_ASSIGN_OR_RETURN(const TrustChain chain, CheckTrustChain(s, *prepared.snapshot,
                                                              prepared.base.snapshot_id,
                                                              membership));
  context.seen_key_fingerprint = chain.seen_key_fingerprint;
  context.author_chain_ok = context.author_chain_ok && chain.author_chain_ok;
  for (const std::string& author : chain.authors) {
    if (membership.RoleOf(author) != DeviceRole::kWriter) {
      context.unauthorized_remote_authors.push_back(author);
    }
  }

  const LocalChanges& local = prepared.local;
  if (!local.empty()) {
    std::vector<std::string> changed;
    changed.reserve(local.added.size() + local.modified.size() + local.deleted.size());
    for (const auto* list : {&local.added, &local.modified, &local.deleted}) {
      changed.insert(changed.end(), list->begin(), list->end());
    }
    HX_ASSIGN_OR_RETURN(const PathLockListing listing, ListPathLocks(*s.store, s.ctx));
    context.active_locks = LocksCovering(listing.locks, changed, s.node_id(), now_ms);
  }
  return context;
}

Status EnsureMayPush(Session& s) {
  HX_ASSIGN_OR_RETURN(const Membership membership, ReadMembershipToAct(s));
  if (membership.RoleOf(s.node_id()) == DeviceRole::kReader) {
    return ReaderError(s.node_id(), "push");
  }
  return OkStatus();
}

// ---- hx lock ------------------------------------------------------------------

Result<std::string> ResolveLockPath(const std::filesystem::path& vault, std::string_view path) {
  const std::filesystem::path given(path);
  if (!given.is_absolute()) return NormalizeLockPath(path);
  const std::filesystem::path relative =
      given.lexically_normal().lexically_relative(vault.lexically_normal());
  if (relative.empty() || *relative.begin() == "..") {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the lock path is outside the vault folder " + vault.string() +
                            "; give a path inside it, or relative to it");
  }
  return NormalizeLockPath(relative.generic_string());
}

Result<LockReport> SyncLockAdd(const std::filesystem::path& vault, const SyncOptions& options,
                               std::string_view path, std::int64_t ttl_ms) {
  HX_ASSIGN_OR_RETURN(const std::string normalized, ResolveLockPath(vault, path));
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HX_ASSIGN_OR_RETURN(const Membership membership, ReadMembershipToAct(s));
  if (membership.RoleOf(s.node_id()) == DeviceRole::kReader) {
    return ReaderError(s.node_id(), "lock paths");
  }
  HX_ASSIGN_OR_RETURN(PathLock lock, AddPathLock(*s.store, s.ctx, s.node_id(), normalized,
                                                 options.now_ms, ttl_ms));
  return LockReport{.action = "added",
                    .lock = ViewOf(std::move(lock), s.node_id(), options.now_ms),
                    .path = normalized};
}

Result<LockReport> SyncLockRemove(const std::filesystem::path& vault, const SyncOptions& options,
                                  std::string_view path, bool force) {
  HX_ASSIGN_OR_RETURN(const std::string normalized, ResolveLockPath(vault, path));
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HX_ASSIGN_OR_RETURN(std::optional<PathLock> removed,
                      RemovePathLock(*s.store, s.ctx, s.node_id(), normalized, options.now_ms,
                                     force));
  LockReport report{.action = "removed", .lock = std::nullopt, .path = normalized};
  if (removed) report.lock = ViewOf(std::move(*removed), s.node_id(), options.now_ms);
  return report;
}

Result<LockListReport> SyncLockList(const std::filesystem::path& vault,
                                    const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HX_ASSIGN_OR_RETURN(PathLockListing listing, ListPathLocks(*s.store, s.ctx));
  LockListReport report;
  report.node_id = s.node_id();
  report.now_ms = options.now_ms;
  for (PathLock& lock : listing.locks) {
    report.locks.push_back(ViewOf(std::move(lock), s.node_id(), options.now_ms));
  }
  report.damaged = std::move(listing.damaged);
  return report;
}

json LockReport::ToJson() const {
  return json{{"action", action},
              {"lock", lock ? LockJson(*lock) : json(nullptr)},
              {"path", path}};
}

std::string LockReport::ToHuman() const {
  if (action == "removed") {
    if (!lock) return "removed the damaged lock of " + Printable(path) + "\n";
    return "unlocked " + Printable(path) +
           (lock->mine ? "\n" : " (held by " + Printable(lock->lock.owner) + ")\n");
  }
  return "locked " + Printable(path) + " until " +
         FormatUtcSeconds(lock ? lock->lock.expires_ms : 0) + "\n";
}

json LockListReport::ToJson() const {
  json locks_json = json::array();
  for (const PathLockView& view : locks) locks_json.push_back(LockJson(view));
  return json{{"damaged", damaged}, {"locks", std::move(locks_json)}, {"node_id", node_id}};
}

std::string LockListReport::ToHuman() const {
  if (locks.empty() && damaged.empty()) return "no path locks\n";
  std::string text;
  for (const PathLockView& view : locks) text += LockLine(view);
  for (const std::string& key : damaged) {
    text += "damaged lock " + Printable(key) +
            " (remove it with `hx lock remove --force <path>`)\n";
  }
  return text;
}

// ---- hx member ----------------------------------------------------------------

namespace {

Result<MemberReport> MakeMemberReport(Session& s, const Membership& membership) {
  HX_ASSIGN_OR_RETURN(const std::vector<std::string> with_manifest, ListManifests(*s.store));
  std::set<std::string> ids(with_manifest.begin(), with_manifest.end());
  ids.insert(s.node_id());
  for (const Member& member : membership.members) ids.insert(member.node_id);
  MemberReport report;
  report.node_id = s.node_id();
  report.seq = membership.seq;
  for (const std::string& id : ids) {
    MemberView view;
    view.node_id = id;
    view.role = membership.RoleOf(id);
    if (const Member* member = membership.Find(id)) {
      view.listed = true;
      view.set_by = member->set_by;
      view.set_ms = member->set_ms;
    }
    view.has_manifest = std::binary_search(with_manifest.begin(), with_manifest.end(), id);
    view.this_device = id == s.node_id();
    report.members.push_back(std::move(view));
  }
  return report;
}

// A full node id, or the one known device whose id starts with `given`.
Result<std::string> ResolveNodeId(const MemberReport& known, std::string_view given) {
  if (IsLowerHex(given, 32)) return std::string(given);
  const bool hex_prefix = given.size() >= 4 && given.size() < 32 && IsLowerHex(given, given.size());
  if (!hex_prefix) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "not a node id: give the 32 hex digits or a unique prefix of at least 4 "
                        "(`hx member list` shows them)");
  }
  std::vector<std::string> matches;
  for (const MemberView& member : known.members) {
    if (std::string_view(member.node_id).starts_with(given)) matches.push_back(member.node_id);
  }
  if (matches.size() != 1) {
    return InvalidInput(SyncCode::kInputInvalid,
                        std::string(matches.empty() ? "no known device" : "several devices") +
                            " with an id starting with " + std::string(given) +
                            " (`hx member list` shows them)");
  }
  return matches.front();
}

}  // namespace

Result<MemberReport> SyncMemberList(const std::filesystem::path& vault,
                                    const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HX_ASSIGN_OR_RETURN(const MembershipState state, ReadMembership(*s.store, s.ctx));
  return MakeMemberReport(s, state.membership);
}

Result<MemberReport> SyncMemberSetRole(const std::filesystem::path& vault,
                                       const SyncOptions& options, std::string_view node_id,
                                       DeviceRole role) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  HX_ASSIGN_OR_RETURN(const CheckedMembership before, ReadCheckedMembership(s));
  HX_ASSIGN_OR_RETURN(const MemberReport known, MakeMemberReport(s, before.state.membership));
  HX_ASSIGN_OR_RETURN(const std::string target, ResolveNodeId(known, node_id));
  std::vector<std::string> devices;
  for (const MemberView& member : known.members) devices.push_back(member.node_id);
  // Writing above the highest seq seen is how a writer repairs a record the
  // store lost or rolled back.
  HX_ASSIGN_OR_RETURN(const Membership after,
                      SetDeviceRole(*s.store, s.ctx, s.node_id(), target, role, options.now_ms,
                                    devices, before.seen));
  RememberMembership(s, after.seq, before.seen);
  HX_ASSIGN_OR_RETURN(MemberReport report, MakeMemberReport(s, after));
  report.changed = after.seq != before.state.membership.seq;
  return report;
}

json MemberReport::ToJson() const {
  json members_json = json::array();
  for (const MemberView& member : members) {
    json item{{"has_manifest", member.has_manifest},
              {"listed", member.listed},
              {"node_id", member.node_id},
              {"role", std::string(hx::ToString(member.role))},
              {"this_device", member.this_device}};
    if (member.listed) {
      item["set_by"] = member.set_by;
      item["set_ms"] = member.set_ms;
    }
    members_json.push_back(std::move(item));
  }
  return json{{"changed", changed},
              {"members", std::move(members_json)},
              {"node_id", node_id},
              {"seq", static_cast<std::int64_t>(seq)}};
}

std::string MemberReport::ToHuman() const {
  std::string text;
  for (const MemberView& member : members) {
    text += Printable(member.node_id) + "  " + std::string(hx::ToString(member.role));
    if (!member.listed) text += " (default)";
    if (member.this_device) text += "  this device";
    text += "\n";
  }
  return text;
}

}  // namespace hx
