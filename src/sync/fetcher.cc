#include "sync/fetcher.h"

#include "base/hex.h"
#include "repo/object_codec.h"
#include "repo/pack.h"

namespace hx {
namespace {

// A read covers the wanted object and the expected objects after it in the
// same pack while the gaps between them are small and the read stays
// bounded: fewer requests, at the cost of reading a few unneeded bytes.
constexpr std::uint64_t kMaxSegmentBytes = std::uint64_t{8} << 20;
constexpr std::uint64_t kMaxGapBytes = std::uint64_t{256} << 10;

std::string RawKey(const ObjectId& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

}  // namespace

ObjectFetcher::ObjectFetcher(Store& store, const VaultContext& ctx, Index& index)
    : store_(store), ctx_(ctx), index_(index) {}

void ObjectFetcher::AddLocations(const std::vector<ObjectLocation>& locations) {
  for (const ObjectLocation& loc : locations) extra_.emplace(RawKey(loc.id), loc);
}

Result<std::optional<ObjectLocation>> ObjectFetcher::Locate(const ObjectId& id) {
  auto it = extra_.find(RawKey(id));
  if (it != extra_.end()) return std::optional<ObjectLocation>(it->second);
  return index_.FindObject(id);
}

Status ObjectFetcher::Expect(const ObjectId& id, std::uint64_t uses) {
  const std::string key = RawKey(id);
  auto [it, inserted] = uses_.emplace(key, 0);
  it->second += uses;
  if (!inserted) return OkStatus();
  HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> loc, Locate(id));
  if (loc) expected_[loc->blob_id].emplace(loc->offset, *loc);
  return OkStatus();
}

Status ObjectFetcher::ReadSegment(const ObjectLocation& first) {
  // Extend the read over expected, not yet cached objects that follow.
  std::uint64_t end = first.offset + first.length;
  std::vector<ObjectLocation> covered = {first};
  auto blob = expected_.find(first.blob_id);
  if (blob != expected_.end()) {
    for (auto it = blob->second.upper_bound(first.offset); it != blob->second.end(); ++it) {
      const ObjectLocation& next = it->second;
      if (next.offset < end) continue;  // overlapping: cannot happen in a valid pack
      if (next.offset - end > kMaxGapBytes) break;
      if (next.offset + next.length - first.offset > kMaxSegmentBytes) break;
      if (cache_.count(RawKey(next.id)) != 0) continue;
      covered.push_back(next);
      end = next.offset + next.length;
    }
  }
  HX_ASSIGN_OR_RETURN(Bytes bytes,
                      store_.GetRange(BlobKey(first.blob_id), {first.offset, end - first.offset}));
  ++stats_.requests;
  stats_.bytes += bytes.size();
  for (const ObjectLocation& loc : covered) {
    const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(loc.offset - first.offset);
    cache_[RawKey(loc.id)] =
        std::vector<std::uint8_t>(from, from + static_cast<std::ptrdiff_t>(loc.length));
  }
  return OkStatus();
}

Result<std::vector<std::uint8_t>> ObjectFetcher::Fetch(ObjectKind kind, const ObjectId& id) {
  HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> loc, Locate(id));
  if (!loc) {
    return Error(SyncCode::kApplyFailed, Category::kNotFound,
                 "object " + ToHex(id) + " is not in any snapshot this device has read")
        .With("object", ToHex(id));
  }
  if (loc->kind != kind) {
    return Error(SyncCode::kApplyFailed, Category::kCorrupt,
                 "object " + ToHex(id) + " is indexed as another kind")
        .With("object", ToHex(id));
  }
  const std::string key = RawKey(id);
  if (cache_.count(key) == 0) HX_RETURN_IF_ERROR(ReadSegment(*loc));
  auto cached = cache_.find(key);
  Result<std::vector<std::uint8_t>> plain = OpenObject(ctx_, *loc, cached->second);
  ++stats_.objects;
  // Drop what will not be needed again.
  auto uses = uses_.find(key);
  if (uses == uses_.end() || uses->second <= 1) {
    cache_.erase(cached);
    if (uses != uses_.end()) {
      uses_.erase(uses);
      auto blob = expected_.find(loc->blob_id);
      if (blob != expected_.end()) blob->second.erase(loc->offset);
    }
  } else {
    --uses->second;
  }
  return plain;
}

}  // namespace hx
