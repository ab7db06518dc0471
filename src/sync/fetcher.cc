#include "sync/fetcher.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "base/hex.h"
#include "repo/object_codec.h"
#include "repo/pack.h"
#include "sync/fetch_journal.h"

// jemalloc's control interface when the binary is linked with jemalloc (hx
// is; the tests and the sanitizer builds are not): a weak reference, null
// otherwise.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace hx {
namespace {

// The allocator arena of the calling thread (jemalloc only).
std::optional<unsigned> ThreadArena() {
  if (mallctl == nullptr) return std::nullopt;
  unsigned arena = 0;
  std::size_t length = sizeof(arena);
  if (mallctl("thread.arena", &arena, &length, nullptr, 0) != 0) return std::nullopt;
  return arena;
}

// Makes the calling thread allocate from `arena`. A read-ahead worker
// allocates the objects it reads, which the pull's thread frees: in the
// worker's own arena they left its pages partly used and resident (a first
// pull of 100,000 files held ~30 MB more than its heap; in the caller's
// arena they are reused).
void UseArena(std::optional<unsigned> arena) {
  if (!arena || mallctl == nullptr) return;
  unsigned wanted = *arena;
  (void)mallctl("thread.arena", nullptr, nullptr, &wanted, sizeof(wanted));
}

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

// What an object read ahead costs beside its bytes, counted in the window:
// its cache entry (a hash node and a vector, ~110 bytes with the
// allocator's headers), or while in flight its place in the read's list
// and in the in-flight set. Without it, a window of tiny objects held ~3x
// what it counted (a first pull of 100,000 12-byte files read every one
// ahead: 18 MiB against a window of 32).
constexpr std::uint64_t kAheadObjectCost = 128;

// The window's charge for `bytes` of one object.
std::uint64_t ObjectCharge(std::uint64_t bytes) { return bytes + kAheadObjectCost; }

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

ObjectFetcher::~ObjectFetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ObjectFetcher::ReadAhead(int requests, std::uint64_t window_bytes) {
  max_requests_ = std::max(0, requests);
  window_bytes_ = window_bytes;
}

void ObjectFetcher::EndReadAhead() {
  max_requests_ = 0;
  order_ = std::vector<OrderEntry>();
  next_ = 0;
  blocked_at_ = kNoOrder;
  prefetched_ = std::unordered_set<ObjectId, IdHash>();
  for (auto& [id, uses] : uses_) uses.order = kNoOrder;  // places in the order just dropped
  std::vector<std::thread> workers;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (const Segment& queued : queue_) {
      --requests_;
      window_used_ -= SegmentCharge(queued);
      for (const Covered& c : queued.covered) in_flight_.erase(c.object.id);
    }
    queue_.clear();
    landed_cv_.wait(lock, [&] { return requests_ == 0; });
    stop_ = true;
    workers.swap(workers_);
  }
  work_cv_.notify_all();
  for (std::thread& t : workers) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
  passed_ = 0;
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.ahead) {
      window_used_ -= ObjectCharge(it->second.bytes.size());
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

std::uint64_t ObjectFetcher::read_ahead_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return window_used_;
}

FetchStats ObjectFetcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ObjectFetcher::AddLocations(std::vector<ObjectLocation> locations) {
  std::map<std::string, std::uint32_t> numbers;
  for (std::size_t i = 0; i < learned_blobs_.size(); ++i) {
    numbers.emplace(learned_blobs_[i], static_cast<std::uint32_t>(i));
  }
  learned_.reserve(learned_.size() + locations.size());
  for (const ObjectLocation& loc : locations) {
    const auto [number, added] =
        numbers.try_emplace(loc.blob_id, static_cast<std::uint32_t>(learned_blobs_.size()));
    if (added) learned_blobs_.push_back(loc.blob_id);
    learned_.push_back(
        Learned{loc.id, loc.offset, loc.length, loc.raw_length, number->second, loc.kind});
  }
  locations = std::vector<ObjectLocation>();
  // A sorted vector instead of a hash map: no node and no key copy per
  // object. Stable, so that of two locations of one id the first added wins.
  const auto id_less = [](const Learned& a, const Learned& b) { return a.id < b.id; };
  std::stable_sort(learned_.begin(), learned_.end(), id_less);
  learned_.erase(std::unique(learned_.begin(), learned_.end(),
                             [](const Learned& a, const Learned& b) { return a.id == b.id; }),
                 learned_.end());
  learned_.shrink_to_fit();
}

ObjectLocation ObjectFetcher::Expand(const Learned& learned) const {
  ObjectLocation loc;
  loc.id = learned.id;
  loc.kind = learned.kind;
  loc.blob_id = learned_blobs_[learned.blob];
  loc.offset = learned.offset;
  loc.length = learned.length;
  loc.raw_length = learned.raw_length;
  return loc;
}

std::vector<ObjectLocation> ObjectFetcher::TakeLearned() {
  std::vector<ObjectLocation> out;
  out.reserve(learned_.size());
  for (const Learned& learned : learned_) out.push_back(Expand(learned));
  learned_ = std::vector<Learned>();
  learned_blobs_ = std::vector<std::string>();
  return out;
}

Result<std::optional<ObjectLocation>> ObjectFetcher::Locate(const ObjectId& id) {
  auto it = std::lower_bound(learned_.begin(), learned_.end(), id,
                             [](const Learned& l, const ObjectId& want) { return l.id < want; });
  if (it != learned_.end() && it->id == id) return std::optional<ObjectLocation>(Expand(*it));
  return index_.FindObject(id);
}

Status ObjectFetcher::Expect(const ObjectId& id, std::uint64_t uses) {
  auto [it, inserted] = uses_.emplace(id, Uses{});
  it->second.left += uses;
  if (!inserted) return OkStatus();
  // Kept by the journal: no read of the store to coalesce it into.
  if (journal_ != nullptr && journal_->Has(id)) return OkStatus();
  HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> loc, Locate(id));
  if (!loc) return OkStatus();
  auto blob = expected_.try_emplace(loc->blob_id).first;
  blob->second.emplace(loc->offset, Expected{loc->id, loc->length});
  if (max_requests_ > 0) {
    it->second.order = order_.size();
    order_.push_back(OrderEntry{blob, loc->offset});
  }
  return OkStatus();
}

ObjectFetcher::Segment ObjectFetcher::PlanSegment(const std::string& blob,
                                                  std::uint64_t offset, const Expected& first,
                                                  std::size_t first_order,
                                                  std::uint64_t max_bytes) {
  Segment segment{blob, offset, first.length, {Covered{offset, first, first_order}}};
  ++stats_.planned;
  std::uint64_t end = offset + first.length;
  auto objects = expected_.find(blob);
  if (objects == expected_.end()) return segment;
  for (auto it = objects->second.upper_bound(offset); it != objects->second.end(); ++it) {
    ++stats_.planned;
    const std::uint64_t at = it->first;
    const Expected& next = it->second;
    if (at < end) continue;  // overlapping: cannot happen in a valid pack
    if (at - end > kMaxGapBytes) break;
    if (at + next.length - offset > max_bytes) break;
    if (segment.covered.size() >= kMaxSegmentObjects) break;
    // Already read (or being read): the segment ends there. Skipping over
    // it and scanning on made each plan walk every object read ahead of it
    // (quadratic in a pull of 100,000 small files: a fifth of its CPU).
    if (cache_.count(next.id) != 0 || in_flight_.count(next.id) != 0) break;
    auto uses = uses_.find(next.id);
    segment.covered.push_back(
        Covered{at, next, uses == uses_.end() ? kNoOrder : uses->second.order});
    end = at + next.length;
  }
  segment.length = end - offset;
  return segment;
}

Status ObjectFetcher::ReadSegment(const ObjectLocation& first) {
  // Extend the read over expected objects that follow, neither cached nor
  // being read ahead.
  Segment segment;
  {
    std::lock_guard<std::mutex> lock(mu_);
    segment = PlanSegment(first.blob_id, first.offset, Expected{first.id, first.length}, kNoOrder,
                          kMaxSegmentBytes);
  }
  const std::string key = BlobKey(first.blob_id);
  HX_ASSIGN_OR_RETURN(Bytes bytes, store_.GetRange(key, {segment.offset, segment.length}));
  // The store's reply is not trusted to be the length asked for (a hub, or
  // any server behind a store, may send less): the objects are cut from it.
  if (bytes.size() != segment.length) {
    return StoreObjectCorrupt(key, "is shorter than the range asked for (" +
                                       std::to_string(bytes.size()) + " of " +
                                       std::to_string(segment.length) + " bytes at " +
                                       std::to_string(segment.offset) + ")");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.requests;
  stats_.bytes += bytes.size();
  for (const Covered& c : segment.covered) {
    const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(c.offset - segment.offset);
    cache_[c.object.id] = Cached{
        std::vector<std::uint8_t>(from, from + static_cast<std::ptrdiff_t>(c.object.length)),
        false};
  }
  return OkStatus();
}

void ObjectFetcher::PassTo(std::size_t to) {
  for (; passed_ < to && passed_ < order_.size(); ++passed_) {
    const OrderEntry& e = order_[passed_];
    auto object = e.blob->second.find(e.offset);
    if (object == e.blob->second.end()) continue;  // used up
    auto cached = cache_.find(object->second.id);
    if (cached == cache_.end() || !cached->second.ahead) continue;
    window_used_ -= ObjectCharge(cached->second.bytes.size());
    cache_.erase(cached);
  }
}

void ObjectFetcher::Pump() {
  while (requests_ < max_requests_ && next_ < order_.size()) {
    const OrderEntry& e = order_[next_];
    auto object = e.blob->second.find(e.offset);
    if (object == e.blob->second.end() || next_ < passed_ ||
        cache_.count(object->second.id) != 0 || in_flight_.count(object->second.id) != 0) {
      ++next_;  // used up, passed over, or already read
      continue;
    }
    // The read planned here last time did not fit the window: it is planned
    // again only once the window has room for it. (A plan walks up to
    // kMaxSegmentObjects objects; planning it after every fetch and dropping
    // it made a pull of 100,000 tiny files spend two thirds of its CPU here.)
    // (The plan made then is checked against the window as well.)
    if (blocked_at_ == next_ && WindowFull(blocked_charge_)) return;
    Segment segment = PlanSegment(e.blob->first, e.offset, object->second, next_,
                                  kAheadSegmentBytes);
    const std::uint64_t charge = SegmentCharge(segment);
    if (WindowFull(charge)) {
      blocked_at_ = next_;
      blocked_charge_ = charge;
      return;
    }
    Dispatch(std::move(segment));
    ++next_;
  }
}

std::uint64_t ObjectFetcher::SegmentCharge(const Segment& segment) {
  return segment.length + segment.covered.size() * kAheadObjectCost;
}

bool ObjectFetcher::WindowFull(std::uint64_t charge) const {
  return window_used_ > 0 && window_used_ + charge > window_bytes_;
}

bool ObjectFetcher::Dispatch(Segment segment) {
  const std::uint64_t charge = SegmentCharge(segment);
  if (WindowFull(charge)) return false;
  for (const Covered& c : segment.covered) in_flight_.insert(c.object.id);
  window_used_ += charge;
  ++requests_;
  queue_.push_back(std::move(segment));
  if (workers_.size() < static_cast<std::size_t>(max_requests_)) {
    workers_.emplace_back([this, arena = ThreadArena()] {
      UseArena(arena);
      Work();
    });
  }
  work_cv_.notify_one();
  return true;
}

Status ObjectFetcher::Prefetch(const std::vector<ObjectId>& ids) {
  if (max_requests_ <= 0 || ids.empty()) return OkStatus();
  std::vector<ObjectLocation> found;
  for (const ObjectId& id : ids) {
    if (prefetched_.count(id) != 0) continue;
    if (journal_ != nullptr && journal_->Has(id)) continue;
    HX_ASSIGN_OR_RETURN(std::optional<ObjectLocation> loc, Locate(id));
    if (loc) found.push_back(std::move(*loc));
  }
  std::sort(found.begin(), found.end(), [](const ObjectLocation& a, const ObjectLocation& b) {
    return a.blob_id != b.blob_id ? a.blob_id < b.blob_id : a.offset < b.offset;
  });
  std::lock_guard<std::mutex> lock(mu_);
  Segment segment;
  // Queues the segment unless the window is full; its objects are then
  // prefetched (and not read again by a later Prefetch).
  const auto send = [&] {
    if (WindowFull(SegmentCharge(segment))) return false;
    for (const Covered& c : segment.covered) prefetched_.insert(c.object.id);
    return Dispatch(std::exchange(segment, Segment{}));
  };
  for (const ObjectLocation& loc : found) {
    if (cache_.count(loc.id) != 0 || in_flight_.count(loc.id) != 0) continue;
    const std::uint64_t end = segment.offset + segment.length;
    if (!segment.covered.empty() && loc.blob_id == segment.blob && loc.offset < end) continue;
    if (!segment.covered.empty() &&
        (loc.blob_id != segment.blob || loc.offset - end > kMaxGapBytes ||
         loc.offset + loc.length - segment.offset > kAheadSegmentBytes)) {
      if (!send()) return OkStatus();
    }
    if (segment.covered.empty()) {
      segment.blob = loc.blob_id;
      segment.offset = loc.offset;
    }
    segment.covered.push_back(Covered{loc.offset, Expected{loc.id, loc.length}, kNoOrder});
    segment.length = loc.offset + loc.length - segment.offset;
  }
  if (!segment.covered.empty()) (void)send();
  return OkStatus();
}

void ObjectFetcher::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Segment segment = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Result<Bytes> bytes = store_.GetRange(BlobKey(segment.blob), {segment.offset, segment.length});
    lock.lock();
    --requests_;
    window_used_ -= SegmentCharge(segment);
    for (const Covered& c : segment.covered) in_flight_.erase(c.object.id);
    // A failed (or short) read is forgotten: the Fetch that needs one of
    // its objects reads it itself, and fails with its own read's error.
    if (bytes.ok()) {
      ++stats_.requests;
      stats_.bytes += bytes->size();
    }
    if (bytes.ok() && bytes->size() == segment.length) {
      for (const Covered& c : segment.covered) {
        if (c.order != kNoOrder && c.order < passed_) continue;  // passed over meanwhile
        if (cache_.count(c.object.id) != 0) continue;
        const auto from = bytes->begin() + static_cast<std::ptrdiff_t>(c.offset - segment.offset);
        cache_[c.object.id] = Cached{
            std::vector<std::uint8_t>(from, from + static_cast<std::ptrdiff_t>(c.object.length)),
            true};
        window_used_ += ObjectCharge(c.object.length);
      }
    }
    landed_cv_.notify_all();
  }
}

Status ObjectFetcher::TakeSealed(const ObjectLocation& loc, std::vector<std::uint8_t>* out) {
  auto uses = uses_.find(loc.id);
  const bool last = uses == uses_.end() || uses->second.left <= 1;
  std::unique_lock<std::mutex> lock(mu_);
  if (max_requests_ > 0) {
    if (uses != uses_.end() && uses->second.order != kNoOrder) PassTo(uses->second.order);
    Pump();
    landed_cv_.wait(lock, [&] { return in_flight_.count(loc.id) == 0; });
  }
  auto cached = cache_.find(loc.id);
  if (cached == cache_.end()) {
    lock.unlock();
    HX_RETURN_IF_ERROR(ReadSegment(loc));
    lock.lock();
    cached = cache_.find(loc.id);
  }
  if (cached->second.ahead) {
    window_used_ -= ObjectCharge(cached->second.bytes.size());
    cached->second.ahead = false;
  }
  if (last) {
    *out = std::move(cached->second.bytes);
    cache_.erase(cached);
  } else {
    *out = cached->second.bytes;
  }
  // The room this made is filled while the caller opens and writes it.
  if (max_requests_ > 0) Pump();
  return OkStatus();
}

Result<std::vector<std::uint8_t>> ObjectFetcher::Fetch(ObjectKind kind, const ObjectId& id) {
  if (journal_ != nullptr && [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return cache_.count(id) == 0;
      }()) {
    if (std::optional<std::vector<std::uint8_t>> kept = journal_->Get(kind, id)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.objects;
        ++stats_.journal_objects;
        stats_.journal_bytes += kept->size();
      }
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
  std::vector<std::uint8_t> sealed;
  if (Status read = TakeSealed(*loc, &sealed); !read.ok()) {
    return ObjectFailure(std::move(read).error(), kind, *loc);
  }
  Result<std::vector<std::uint8_t>> plain = OpenObject(ctx_, *loc, sealed);
  if (!plain.ok()) {
    plain = ObjectFailure(std::move(plain).error(), kind, *loc);
  } else if (journal_ != nullptr) {
    journal_->Add(kind, id, *plain);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.objects;
  }
  Used(id, &*loc);
  return plain;
}

void ObjectFetcher::Used(const ObjectId& id, const ObjectLocation* loc) {
  // Drop what will not be needed again.
  auto uses = uses_.find(id);
  if (uses == uses_.end() || uses->second.left <= 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto cached = cache_.find(id);
      if (cached != cache_.end()) {
        if (cached->second.ahead) window_used_ -= ObjectCharge(cached->second.bytes.size());
        cache_.erase(cached);
      }
    }
    if (uses != uses_.end()) {
      uses_.erase(uses);
      if (loc != nullptr) {
        auto blob = expected_.find(loc->blob_id);
        if (blob != expected_.end()) blob->second.erase(loc->offset);
      }
    }
  } else {
    --uses->second.left;
  }
}

}  // namespace hx
