#include "history/store_check.h"

#include <algorithm>
#include <cstring>

#include "base/hex.h"
#include "hash/blake3.h"
#include "history/forget.h"
#include "history/reader.h"
#include "meta/head.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"
#include "repo/object_codec.h"
#include "repo/pack.h"
#include "store/store_wrappers.h"

namespace hx {
namespace {

constexpr std::string_view kSnapshotsPrefix = "snapshots/";
constexpr std::string_view kBlobsPrefix = "blobs/";
// Paths and snapshots kept per damaged object (the report shows 100).
constexpr std::size_t kMaxPathsKept = 1000;

bool IdLess(const ObjectLocation& a, const ObjectLocation& b) { return a.id < b.id; }

// Whether an error is the object's or record's own (it is damaged or gone),
// as opposed to trouble reaching the store, which stops the check.
bool IsDamage(const Error& e) {
  return e.category == Category::kCorrupt || e.category == Category::kHashMismatch ||
         e.category == Category::kNotFound || e.category == Category::kUnsupported;
}

std::uint64_t SplitMix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool Selected(std::uint64_t seed, double percent, const ObjectId& id) {
  if (percent >= 100) return true;
  std::uint8_t seed_bytes[8];
  for (int i = 0; i < 8; ++i) seed_bytes[i] = static_cast<std::uint8_t>(seed >> (8 * i));
  Blake3Hasher hasher;
  hasher.Update(std::span<const std::uint8_t>(seed_bytes, 8));
  hasher.Update(id);
  Blake3Digest digest;
  hasher.Finalize(digest);
  std::uint64_t h = 0;
  for (int i = 7; i >= 0; --i) h = (h << 8) | digest[static_cast<std::size_t>(i)];
  return static_cast<double>(h % 1'000'000) < percent * 10'000;
}

}  // namespace

StoreCheck::StoreCheck(Session& s)
    : s_(s), fetcher_(std::make_unique<ObjectFetcher>(*s.store, s.ctx, *s.index)) {}

std::optional<ObjectLocation> StoreCheck::Locate(const ObjectId& id) const {
  ObjectLocation key;
  key.id = id;
  auto it = std::lower_bound(locations_.begin(), locations_.end(), key, IdLess);
  if (it != locations_.end() && it->id == id) return *it;
  return std::nullopt;
}

std::vector<ObjectLocation> StoreCheck::InBlob(const std::string& blob) const {
  std::vector<ObjectLocation> out;
  for (const ObjectLocation& loc : locations_) {
    if (loc.blob_id == blob) out.push_back(loc);
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectLocation& a, const ObjectLocation& b) { return a.offset < b.offset; });
  return out;
}

void StoreCheck::Mark(const ObjectId& id, ObjectKind kind, std::string problem,
                      std::string message) {
  if (damage_.count(id) != 0) return;
  Damage d;
  d.kind = kind;
  d.location = Locate(id);
  d.problem = std::move(problem);
  d.message = std::move(message);
  damage_.emplace(id, std::move(d));
}

bool StoreCheck::CheckLocation(const ObjectId& id, ObjectKind kind) {
  if (damage_.count(id) != 0) return false;
  const std::optional<ObjectLocation> loc = Locate(id);
  if (!loc) {
    Mark(id, kind, "not_located", "no readable snapshot records where it is");
    return false;
  }
  auto blob = blobs_.find(loc->blob_id);
  if (blob == blobs_.end()) {
    Mark(id, kind, "missing_pack", "its pack " + loc->blob_id + " is missing from the store");
    return false;
  }
  if (loc->offset + loc->length > blob->second) {
    Mark(id, kind, "truncated_pack",
         "its pack " + loc->blob_id + " has " + std::to_string(blob->second) +
             " bytes, too few for bytes " + std::to_string(loc->offset) + "+" +
             std::to_string(loc->length));
    return false;
  }
  return true;
}

Result<const Tree*> StoreCheck::CheckTree(const ObjectId& id) {
  if (auto it = trees_.find(id); it != trees_.end()) return &it->second;
  if (!CheckLocation(id, ObjectKind::kTree)) return nullptr;
  Result<std::vector<std::uint8_t>> bytes = fetcher_->Fetch(ObjectKind::kTree, id);
  if (!bytes.ok()) {
    if (!IsDamage(bytes.error())) return std::move(bytes).error();
    Mark(id, ObjectKind::kTree,
         bytes.error().category == Category::kHashMismatch ? "hash_mismatch" : "corrupt",
         bytes.error().message);
    return nullptr;
  }
  Result<Tree> tree = DecodeTree(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  if (!tree.ok()) {
    Mark(id, ObjectKind::kTree, "corrupt", tree.error().message);
    return nullptr;
  }
  return &trees_.emplace(id, std::move(*tree)).first->second;
}

const std::vector<StoreCheck::Hit>& StoreCheck::Affected(const ObjectId& id, std::size_t depth) {
  if (auto it = affected_.find(id); it != affected_.end()) return it->second;
  std::vector<Hit> out;
  if (damage_.count(id) != 0) {
    out.push_back({"", id, std::nullopt});
  } else if (auto tree = trees_.find(id); tree != trees_.end()) {
    for (const TreeEntry& child : tree->second.entries) {
      std::uint64_t offset = 0;
      for (const ChunkRef& chunk : child.entry.chunks) {
        if (damage_.count(chunk.id) != 0) {
          out.push_back({child.name, chunk.id, ChunkUse{child.name, offset, chunk.size}});
        }
        offset += chunk.size;
      }
      if (child.subtree && depth < kMaxTreeDepth) {
        // Trees are content addressed, so there is no cycle; the depth is
        // bounded as FlattenTrees bounds it.
        for (const Hit& hit : Affected(*child.subtree, depth + 1)) {
          Hit up = hit;
          up.path = hit.path.empty() ? child.name : child.name + "/" + hit.path;
          if (up.use) up.use->path = up.path;
          out.push_back(std::move(up));
        }
      }
    }
  }
  return affected_.emplace(id, std::move(out)).first->second;
}

Status StoreCheck::Run(const VerifyOptions& options, std::int64_t now_ms, VerifyReport& r) {
  const StoreCounts before = s_.counts != nullptr ? s_.counts->Counts() : StoreCounts{};
  HX_RETURN_IF_ERROR(Check(options, now_ms, r));
  if (s_.counts != nullptr) {
    const StoreCounts used = s_.counts->Counts() - before;
    for (std::size_t op = 0; op < kStoreOpCount; ++op) {
      if (used.calls[op] != 0) {
        r.requests[std::string(ToString(static_cast<StoreOp>(op)))] = used.calls[op];
      }
    }
  }
  return OkStatus();
}

Status StoreCheck::Check(const VerifyOptions& options, std::int64_t now_ms, VerifyReport& r) {
  r.target = s_.target.ToUri();
  HX_ASSIGN_OR_RETURN(const HeadState head, ReadHead(*s_.store, s_.ctx));

  // Every snapshot the store lists (none is forgotten: all are retained).
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> listed,
                      s_.store->List(kSnapshotsPrefix));
  if (listed.size() > kMaxHistorySnapshots) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "the store lists more than " + std::to_string(kMaxHistorySnapshots) +
                     " snapshots; refusing to check them");
  }
  // Forgotten snapshots (history/forget.h) are not retained: their trees
  // are not checked, but their bodies are still read (they locate objects
  // retained snapshots may use).
  HX_ASSIGN_OR_RETURN(const std::set<std::string> forgotten,
                      ReadForgotten(*s_.store, s_.ctx, nullptr));
  struct Readable {
    std::string id;
    std::uint64_t seq = 0;
    ObjectId root{};
  };
  std::vector<Readable> readable;
  std::set<std::string> listed_ids;
  std::set<std::string> wanted;  // the head's and every parent named
  if (head.head) wanted.insert(head.head->snapshot_id);
  std::map<std::string, std::vector<std::string>> parents;
  for (const StoreObjectInfo& info : listed) {
    std::string_view name = info.key;
    name.remove_prefix(kSnapshotsPrefix.size());
    if (!name.ends_with(".zip")) continue;
    name.remove_suffix(4);
    if (!IsLowerHex(name, 64)) continue;
    const std::string id(name);
    listed_ids.insert(id);
    Result<Snapshot> snapshot = ReadSnapshot(*s_.store, s_.ctx, id);
    if (snapshot.ok() && snapshot->key_fingerprint != s_.config.key_fingerprint) {
      snapshot = Error(SyncCode::kStateFailed, Category::kCorrupt,
                       "snapshot " + id + " was made with another key");
    }
    if (!snapshot.ok()) {
      if (!IsDamage(snapshot.error())) return std::move(snapshot).error();
      r.damaged_snapshots.push_back({id, "unreadable", snapshot.error().message});
      ++unreadable_snapshots_;
      continue;
    }
    wanted.insert(snapshot->parents.begin(), snapshot->parents.end());
    parents[id] = snapshot->parents;
    const bool retained = forgotten.count(id) == 0 || retain_ids_.count(id) != 0 ||
                          retain_seqs_.count(snapshot->seq) != 0 ||
                          (head.head && head.head->snapshot_id == id);
    if (!retained) {
      ++r.snapshots_forgotten;
    } else {
      readable.push_back({id, snapshot->seq, snapshot->root});
    }
    bodies_.push_back({id, snapshot->seq, retained, false, std::move(snapshot->added),
                       snapshot->parents, snapshot->root, snapshot->created_ms, info.size,
                       snapshot->summary});
  }
  // A snapshot a prune deleted on purpose (prune.json lists it) is not
  // damage: what it located, a newer snapshot locates (prune.h).
  // (prune.json is read only if a named snapshot is missing.)
  PrunedSnapshots pruned(*s_.store, s_.ctx);
  for (const std::string& id : wanted) {
    if (listed_ids.count(id) == 0) {
      HX_ASSIGN_OR_RETURN(const bool deleted, pruned.WasDeleted(id));
      if (deleted) continue;
      r.damaged_snapshots.push_back(
          {id, "missing", "snapshot " + id + " is named (by head.json or a child) but missing"});
    }
  }
  // The head's history (what a pull walks).
  std::set<std::string> history;
  if (head.head) {
    std::vector<std::string> todo = {head.head->snapshot_id};
    while (!todo.empty()) {
      const std::string id = std::move(todo.back());
      todo.pop_back();
      if (!history.insert(id).second) continue;
      if (auto it = parents.find(id); it != parents.end()) {
        todo.insert(todo.end(), it->second.begin(), it->second.end());
      }
    }
  }
  for (Body& body : bodies_) body.in_head_history = history.count(body.id) != 0;

  // Every pack, in one listing.
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> packs, s_.store->List(kBlobsPrefix));
  for (const StoreObjectInfo& info : packs) {
    const std::size_t slash = info.key.rfind('/');
    const std::string id = info.key.substr(slash + 1);
    if (IsLowerHex(id, 64)) blobs_[id] = info.size;
  }
  r.packs_listed = blobs_.size();

  // One location per object, as a reader finds it: in a pack the store
  // holds, from the newest snapshot that lists one (a prune may have
  // deleted an older copy's pack; an object packed again after that is
  // listed by a newer snapshot).
  struct Listed {
    ObjectLocation loc;
    bool stored = false;
    std::uint64_t seq = 0;
  };
  std::vector<Listed> all;
  for (const Body& body : bodies_) {
    for (const ObjectLocation& loc : body.added) {
      all.push_back({loc, blobs_.count(loc.blob_id) != 0, body.seq});
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const Listed& a, const Listed& b) {
    if (a.loc.id != b.loc.id) return a.loc.id < b.loc.id;
    if (a.stored != b.stored) return a.stored;
    return a.seq > b.seq;
  });
  std::vector<ObjectLocation> locations;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i == 0 || all[i].loc.id != all[i - 1].loc.id) locations.push_back(all[i].loc);
  }
  all = {};
  locations_ = locations;
  fetcher_->AddLocations(std::move(locations));
  std::sort(readable.begin(), readable.end(),
            [](const Readable& a, const Readable& b) { return a.seq > b.seq; });
  r.snapshots_checked = readable.size();

  // Every tree of every snapshot (each distinct tree once), and the chunks
  // they reference.
  // Level by level (every snapshot's roots, then their children, ...), each
  // level's trees declared to the fetcher first, so that trees close together
  // in a pack are read in one request.
  std::set<ObjectId> chunks;
  std::set<ObjectId> seen;
  std::vector<ObjectId> level;
  for (const Readable& snapshot : readable) {
    if (seen.insert(snapshot.root).second) level.push_back(snapshot.root);
  }
  for (std::size_t depth = 0; !level.empty() && depth <= kMaxTreeDepth; ++depth) {
    for (const ObjectId& id : level) {
      if (const std::optional<ObjectLocation> loc = Locate(id)) {
        HX_RETURN_IF_ERROR(fetcher_->Expect(id));
      }
    }
    std::vector<ObjectId> next;
    for (const ObjectId& id : level) {
      HX_ASSIGN_OR_RETURN(const Tree* tree, CheckTree(id));
      if (tree == nullptr) continue;
      for (const TreeEntry& child : tree->entries) {
        for (const ChunkRef& chunk : child.entry.chunks) chunks.insert(chunk.id);
        if (child.subtree && seen.insert(*child.subtree).second) next.push_back(*child.subtree);
      }
    }
    level = std::move(next);
  }
  r.trees_checked = trees_.size();
  r.chunks_referenced = chunks.size();
  live_trees_ = seen;
  live_chunks_ = chunks;

  // What a prune could free: packs none of whose objects a retained
  // snapshot references (forgotten snapshots' only, or no snapshot's: an
  // upload a push has not published yet, or one a failed push left), and
  // the bytes of unreferenced objects inside packs that also hold live ones.
  std::map<std::string, std::uint64_t> live_bytes;
  std::map<std::string, std::uint64_t> dead_bytes;
  for (const ObjectLocation& loc : locations_) {
    const bool live = loc.kind == ObjectKind::kTree ? seen.count(loc.id) != 0
                                                    : chunks.count(loc.id) != 0;
    (live ? live_bytes : dead_bytes)[loc.blob_id] += loc.length;
  }
  for (const auto& [blob, size] : blobs_) {
    if (live_bytes.count(blob) == 0) {
      ++r.packs_unreferenced;
      r.bytes_unreferenced += size;
    } else if (auto dead = dead_bytes.find(blob); dead != dead_bytes.end()) {
      r.garbage_bytes_in_live_packs += dead->second;
    }
  }

  // Where every chunk is; with read_data, what it holds.
  std::vector<ObjectLocation> to_read;
  r.read_data = options.read_data_percent.has_value();
  r.percent = options.read_data_percent.value_or(0);
  // A derived seed is kept to 48 bits: short to type back in.
  r.seed = options.seed.value_or(SplitMix(static_cast<std::uint64_t>(now_ms)) >> 16);
  for (const ObjectId& id : chunks) {
    if (!CheckLocation(id, ObjectKind::kChunk)) continue;
    if (r.read_data && Selected(r.seed, r.percent, id)) to_read.push_back(*Locate(id));
  }
  std::sort(to_read.begin(), to_read.end(), [](const ObjectLocation& a, const ObjectLocation& b) {
    return a.blob_id != b.blob_id ? a.blob_id < b.blob_id : a.offset < b.offset;
  });
  for (const ObjectLocation& loc : to_read) HX_RETURN_IF_ERROR(fetcher_->Expect(loc.id));
  const std::uint64_t bytes_before = fetcher_->stats().bytes;
  for (const ObjectLocation& loc : to_read) {
    Result<std::vector<std::uint8_t>> plain = fetcher_->Fetch(ObjectKind::kChunk, loc.id);
    ++r.chunks_read;
    if (plain.ok()) continue;
    if (!IsDamage(plain.error())) return std::move(plain).error();
    Mark(loc.id, ObjectKind::kChunk,
         plain.error().category == Category::kHashMismatch ? "hash_mismatch" : "corrupt",
         plain.error().message);
  }
  r.bytes_read = fetcher_->stats().bytes - bytes_before;

  // Where each damaged object is used.
  if (!damage_.empty()) {
    for (const Readable& snapshot : readable) {
      for (const Hit& hit : Affected(snapshot.root)) {
        Damage& d = damage_[hit.object];
        if (d.paths.size() < kMaxPathsKept) d.paths.insert(hit.path.empty() ? "/" : hit.path);
        if (d.seqs.size() < kMaxPathsKept) d.seqs.insert(snapshot.seq);
        if (hit.use && d.uses.size() < kMaxUsesKept) d.uses.insert(*hit.use);
      }
    }
  }
  std::set<std::string> affected;
  for (const auto& [id, d] : damage_) {
    DamagedObject o;
    o.object = ToHex(id);
    o.kind = std::string(ToString(d.kind));
    o.blob = d.location ? d.location->blob_id : "";
    o.problem = d.problem;
    o.message = d.message;
    o.path_count = d.paths.size();
    for (const std::string& path : d.paths) {
      if (o.paths.size() < 100) o.paths.push_back(path);
      affected.insert(path);
    }
    o.snapshot_count = d.seqs.size();
    for (auto it = d.seqs.rbegin(); it != d.seqs.rend() && o.seqs.size() < 100; ++it) {
      o.seqs.push_back(*it);
    }
    r.damaged_objects.push_back(std::move(o));
  }
  r.affected_path_count = affected.size();
  for (const std::string& path : affected) {
    if (r.affected_paths.size() >= 1000) break;
    r.affected_paths.push_back(path);
  }
  return OkStatus();
}

}  // namespace hx
