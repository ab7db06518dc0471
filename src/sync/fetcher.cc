#include "sync/fetcher.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "base/hex.h"
#include "repo/object_codec.h"
#include "repo/pack.h"
#include "sync/fetch_journal.h"

namespace hx {
namespace {

// A read covers the wanted object and the expected objects after it in the
// same pack while the gaps between them are small and the read stays
// bounded: fewer requests, at the cost of reading a few unneeded bytes.
constexpr std::uint64_t kMaxSegmentBytes = std::uint64_t{8} << 20;
constexpr std::uint64_t kMaxGapBytes = std::uint64_t{256} << 10;
// And at most this many objects: each one read is cached on its own until
// used (a vector and a hash node, ~130 bytes beside its bytes), so 8 MiB of
// tiny objects (a first pull of 100,000 small files: ~115,000 of them in one
// read) held ~20 MB at the pull's peak. 4,096 objects keep it under 1 MB
// and cost a tiny-file pull one request per 4,096 files.
constexpr std::size_t kMaxSegmentObjects = 4096;

bool IdLess(const ObjectLocation& a, const ObjectLocation& b) { return a.id < b.id; }

// A failure to read or open the object at `loc`, naming it: which object, of
// which kind, in which pack. One that is the object's own (its pack is
// missing or too short, its bytes do not open: a damaged or foreign pack) is
// KC_SYNC_APPLY_FAILED as docs/FORMAT.md ("Opening") promises, so that it
// fails only the items that need the object; trouble reaching the store
// (network, auth, ...) keeps its code and stops the pull.
Error ObjectFailure(Error error, ObjectKind kind, const ObjectLocation& loc) {
  const Category c = error.category;
  if (c == Category::kCorrupt || c == Category::kHashMismatch || c == Category::kNotFound) {
    error.code = SyncCode::kApplyFailed;
  }
  const std::string id = ToHex(loc.id);
  error.message = std::string(ToString(kind)) + " " + id + " in pack " + loc.blob_id + " (bytes " +
                  std::to_string(loc.offset) + "+" + std::to_string(loc.length) +
                  "): " + error.message;
  return std::move(error)
      .With("object", id)
      .With("kind", std::string(ToString(kind)))
      .With("blob", loc.blob_id);
}

}  // namespace

std::size_t ObjectFetcher::IdHash::operator()(const ObjectId& id) const {
  // Ids are keyed BLAKE3 outputs: any 8 of their bytes are already uniform.
  std::size_t h = 0;
  std::memcpy(&h, id.data(), sizeof(h));
  return h;
}

ObjectFetcher::ObjectFetcher(Store& store, const VaultContext& ctx, Index& index)
    : store_(store), ctx_(ctx), index_(index) {}

void ObjectFetcher::AddLocations(std::vector<ObjectLocation> locations) {
  // A sorted vector instead of a hash map: no node and no key copy per
  // object. Stable, so that of two locations of one id the first added wins.
  if (learned_.empty()) {
    learned_ = std::move(locations);
  } else {
    learned_.insert(learned_.end(), std::make_move_iterator(locations.begin()),
                    std::make_move_iterator(locations.end()));
  }
  std::stable_sort(learned_.begin(), learned_.end(), IdLess);
  learned_.erase(std::unique(learned_.begin(), learned_.end(),
                             [](const ObjectLocation& a, const ObjectLocation& b) {
                               return a.id == b.id;
                             }),
                 learned_.end());
  learned_.shrink_to_fit();
}

std::vector<ObjectLocation> ObjectFetcher::TakeLearned() {
  std::vector<ObjectLocation> out = std::move(learned_);
  learned_.clear();
  return out;
}

Result<std::optional<ObjectLocation>> ObjectFetcher::Locate(const ObjectId& id) {
  ObjectLocation key;
  key.id = id;
  auto it = std::lower_bound(learned_.begin(), learned_.end(), key, IdLess);
  if (it != learned_.end() && it->id == id) return std::optional<ObjectLocation>(*it);
  return index_.FindObject(id);
}

Status ObjectFetcher::Expect(const ObjectId& id, std::uint64_t uses) {
  auto [it, inserted] = uses_.emplace(id, 0);
  it->second += uses;
  if (!inserted) return OkStatus();
  // Kept by the journal: no read of the store to coalesce it into.
  if (journal_ != nullptr && journal_->Has(id)) return OkStatus();
  HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> loc, Locate(id));
  if (loc) expected_[loc->blob_id].emplace(loc->offset, Expected{loc->id, loc->length});
  return OkStatus();
}

Status ObjectFetcher::ReadSegment(const ObjectLocation& first) {
  // Extend the read over expected, not yet cached objects that follow.
  std::uint64_t end = first.offset + first.length;
  // (offset, object) of each object the read covers.
  std::vector<std::pair<std::uint64_t, Expected>> covered = {
      {first.offset, Expected{first.id, first.length}}};
  auto blob = expected_.find(first.blob_id);
  if (blob != expected_.end()) {
    for (auto it = blob->second.upper_bound(first.offset); it != blob->second.end(); ++it) {
      const std::uint64_t offset = it->first;
      const Expected& next = it->second;
      if (offset < end) continue;  // overlapping: cannot happen in a valid pack
      if (offset - end > kMaxGapBytes) break;
      if (offset + next.length - first.offset > kMaxSegmentBytes) break;
      if (covered.size() >= kMaxSegmentObjects) break;
      if (cache_.count(next.id) != 0) continue;
      covered.emplace_back(offset, next);
      end = offset + next.length;
    }
  }
  HX_ASSIGN_OR_RETURN(Bytes bytes,
                      store_.GetRange(BlobKey(first.blob_id), {first.offset, end - first.offset}));
  ++stats_.requests;
  stats_.bytes += bytes.size();
  for (const auto& [offset, object] : covered) {
    const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(offset - first.offset);
    cache_[object.id] =
        std::vector<std::uint8_t>(from, from + static_cast<std::ptrdiff_t>(object.length));
  }
  return OkStatus();
}

Result<std::vector<std::uint8_t>> ObjectFetcher::Fetch(ObjectKind kind, const ObjectId& id) {
  if (journal_ != nullptr && cache_.count(id) == 0) {
    if (std::optional<std::vector<std::uint8_t>> kept = journal_->Get(kind, id)) {
      ++stats_.objects;
      ++stats_.journal_objects;
      stats_.journal_bytes += kept->size();
      Used(id, nullptr);
      return std::move(*kept);
    }
  }
  HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> loc, Locate(id));
  if (!loc) {
    return Error(SyncCode::kApplyFailed, Category::kNotFound,
                 "object " + ToHex(id) + " is not in any snapshot this device has read")
        .With("object", ToHex(id));
  }
  if (loc->kind != kind) {
    return ObjectFailure(Error(SyncCode::kApplyFailed, Category::kCorrupt,
                               "indexed as a " + std::string(ToString(loc->kind))),
                         kind, *loc);
  }
  if (cache_.count(id) == 0) {
    if (Status read = ReadSegment(*loc); !read.ok()) {
      return ObjectFailure(std::move(read).error(), kind, *loc);
    }
  }
  auto cached = cache_.find(id);
  Result<std::vector<std::uint8_t>> plain = OpenObject(ctx_, *loc, cached->second);
  if (!plain.ok()) {
    plain = ObjectFailure(std::move(plain).error(), kind, *loc);
  } else if (journal_ != nullptr) {
    journal_->Add(kind, id, *plain);
  }
  ++stats_.objects;
  Used(id, &*loc);
  return plain;
}

void ObjectFetcher::Used(const ObjectId& id, const ObjectLocation* loc) {
  // Drop what will not be needed again.
  auto uses = uses_.find(id);
  if (uses == uses_.end() || uses->second <= 1) {
    cache_.erase(id);
    if (uses != uses_.end()) {
      uses_.erase(uses);
      if (loc != nullptr) {
        auto blob = expected_.find(loc->blob_id);
        if (blob != expected_.end()) blob->second.erase(loc->offset);
      }
    }
  } else {
    --uses->second;
  }
}

}  // namespace hx
