#include "sync/fetch_journal_records.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace hx {
namespace {

// The length of a main-part record that was erased (no object is this long).
constexpr std::uint32_t kMarked = std::numeric_limits<std::uint32_t>::max();

// The first `bits` bits of `id` (0 to 31).
std::size_t Leading(const ObjectId& id, int bits) {
  const std::uint32_t first = (std::uint32_t{id[0]} << 24) | (std::uint32_t{id[1]} << 16) |
                              (std::uint32_t{id[2]} << 8) | id[3];
  return bits == 0 ? 0 : first >> (32 - bits);
}

}  // namespace

std::size_t JournalRecords::IdHash::operator()(const ObjectId& id) const noexcept {
  // Ids are keyed BLAKE3 outputs: any 8 of their bytes are uniform.
  std::size_t h = 0;
  std::memcpy(&h, id.data(), sizeof(h));
  return h;
}

std::size_t JournalRecords::FindMain(const ObjectId& id) const {
  const std::size_t prefix = Leading(id, fence_bits_);
  std::size_t lo = fence_[prefix];
  std::size_t hi = fence_[prefix + 1];
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (At(mid).id < id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < main_size_ && At(lo).id == id ? lo : main_size_;
}

const JournalRecords::Record* JournalRecords::Find(const ObjectId& id) const {
  if (auto it = tail_.find(id); it != tail_.end()) return &it->second;
  const std::size_t at = FindMain(id);
  return at != main_size_ && At(at).record.length != kMarked ? &At(at).record : nullptr;
}

void JournalRecords::Put(const ObjectId& id, Record record) {
  if (const std::size_t at = FindMain(id); at != main_size_) {
    if (At(at).record.length == kMarked) --marked_;
    At(at).record = record;
    return;
  }
  tail_.insert_or_assign(id, record);
  if (tail_.size() >= std::max(kMinTail, main_size_ / 16)) Merge();
}

void JournalRecords::Erase(const ObjectId& id) {
  if (tail_.erase(id) != 0) return;
  const std::size_t at = FindMain(id);
  if (at == main_size_ || At(at).record.length == kMarked) return;
  At(at).record.length = kMarked;
  ++marked_;
}

void JournalRecords::EraseFile(std::uint32_t file) {
  std::erase_if(tail_, [file](const auto& kv) { return kv.second.file == file; });
  Compact([file](const Packed& p) { return p.record.file != file; });
}

void JournalRecords::Clear() {
  blocks_ = decltype(blocks_)();
  main_size_ = 0;
  marked_ = 0;
  tail_ = decltype(tail_)();
  BuildFence();
}

void JournalRecords::Merge() {
  std::vector<Packed> sorted;
  sorted.reserve(tail_.size());
  for (const auto& [id, record] : tail_) sorted.push_back(Packed{id, record});
  tail_.clear();
  std::sort(sorted.begin(), sorted.end(),
            [](const Packed& a, const Packed& b) { return a.id < b.id; });
  if (marked_ != 0) Compact([](const Packed&) { return true; });
  // The tail's ids are not in the main part (Put looks there first): merged
  // from the back, each record moves once, into room the main part already has.
  std::size_t from = main_size_;
  std::size_t left = sorted.size();
  Resize(main_size_ + sorted.size());
  for (std::size_t to = main_size_; left != 0;) {
    if (from != 0 && sorted[left - 1].id < At(from - 1).id) {
      At(--to) = At(--from);
    } else {
      At(--to) = sorted[--left];
    }
  }
  BuildFence();
}

void JournalRecords::BuildFence() {
  // ~8 records a prefix: few enough to compare, few prefixes enough to cost
  // half a byte a record.
  fence_bits_ = 0;
  while (fence_bits_ < 31 && (std::size_t{8} << (fence_bits_ + 1)) <= main_size_) ++fence_bits_;
  fence_.assign((std::size_t{1} << fence_bits_) + 1, 0);
  std::size_t next = 0;  // the next prefix whose first record is not yet found
  for (std::size_t i = 0; i < main_size_; ++i) {
    const std::size_t prefix = Leading(At(i).id, fence_bits_);
    while (next <= prefix) fence_[next++] = static_cast<std::uint32_t>(i);
  }
  while (next < fence_.size()) fence_[next++] = static_cast<std::uint32_t>(main_size_);
}

template <typename Keep>
void JournalRecords::Compact(Keep keep) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < main_size_; ++i) {
    const Packed& p = At(i);
    if (p.record.length == kMarked || !keep(p)) continue;
    if (kept != i) At(kept) = p;
    ++kept;
  }
  marked_ = 0;
  Resize(kept);
  BuildFence();
}

void JournalRecords::Resize(std::size_t records) {
  const std::size_t blocks = (records + kBlockRecords - 1) / kBlockRecords;
  while (blocks_.size() < blocks) {
    blocks_.push_back(std::make_unique_for_overwrite<Packed[]>(kBlockRecords));
  }
  blocks_.resize(blocks);
  main_size_ = records;
}

}  // namespace hx
