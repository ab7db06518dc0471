// The fetch journal's record (fetch_journal.h): where the bytes of each
// object it keeps are, by id, in about 50 bytes an object.
//
// A pull keeps a record of every object it fetched (100,000 and more) through
// its apply, alongside the plan and what is read ahead; a hash map of them
// cost ~80 bytes an object (a node with its next pointer and cached hash, and
// a bucket). Here:
//   - the main part: the records sorted by id, packed (48 bytes: the id, the
//     file's number, the plaintext's length, the header's offset), held in
//     blocks of kBlockRecords, so growing it never copies it nor holds it
//     twice. Found by binary search within a fence: ids are uniform, so the
//     main part's first index of each of n/8 leading-bit prefixes (4 bytes
//     each, half a byte a record) narrows it to ~8 records;
//   - the tail: a hash map of what was put since the last merge, at most a
//     16th of the main part (and at least kMinTail): when full, it is sorted
//     and merged into the main part in place, from the back. A record is
//     moved ~16 times over a run of puts (amortised constant; a tail of a
//     fixed size would make a pull's merges quadratic);
//   - a record erased from the main part is marked, not moved out (a journal
//     written under another key drops every record in turn: moving the rest
//     each time would be quadratic). Find skips it, a Put of its id uses its
//     place again, and the next merge compacts the marks away.
// A find (the fetcher's pattern: puts in fetch order, finds of ids mostly
// absent during a first pull) is a hash probe and ~3 comparisons.
//
// Thread-safety: not thread-safe (the journal's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "repo/tree.h"

namespace hx {

class JournalRecords {
 public:
  // Where an object's record is in the journal's files. A length fits 32
  // bits: an object is at most kMaxObjectSize (64 MiB; the journal refuses
  // longer ones).
  struct Record {
    std::uint32_t file = 0;
    std::uint32_t length = 0;  // of the plaintext
    std::uint64_t offset = 0;  // of the header
  };
  // The main part grows by this many records (48 KiB) at a time.
  static constexpr std::size_t kBlockRecords = 1024;
  // The tail is merged once it holds this many, or a 16th of the main part.
  static constexpr std::size_t kMinTail = 1024;

  JournalRecords() = default;
  JournalRecords(const JournalRecords&) = delete;
  JournalRecords& operator=(const JournalRecords&) = delete;

  // The record of `id`, or nullptr. Valid until the next call that changes
  // the records.
  const Record* Find(const ObjectId& id) const;
  // Keeps `record` as the one of `id`, in place of one already kept.
  void Put(const ObjectId& id, Record record);
  // Forgets the record of `id` (nothing if there is none).
  void Erase(const ObjectId& id);
  // Forgets every record in `file`.
  void EraseFile(std::uint32_t file);
  // Forgets every record and gives their memory back.
  void Clear();
  // The records kept.
  std::size_t size() const { return main_size_ - marked_ + tail_.size(); }

 private:
  struct Packed {
    ObjectId id;
    Record record;
  };
  static_assert(sizeof(Packed) == 48);
  struct IdHash {
    std::size_t operator()(const ObjectId& id) const noexcept;
  };
  Packed& At(std::size_t i) { return blocks_[i / kBlockRecords][i % kBlockRecords]; }
  const Packed& At(std::size_t i) const {
    return blocks_[i / kBlockRecords][i % kBlockRecords];
  }
  // The main part's position of `id` (marked or not); main_size_ if absent.
  std::size_t FindMain(const ObjectId& id) const;
  void Merge();
  // Makes fence_ for the main part as it is now.
  void BuildFence();
  // Keeps the main part's records `keep` accepts, in order, and frees the
  // blocks no longer used.
  template <typename Keep>
  void Compact(Keep keep);
  void Resize(std::size_t records);

  std::vector<std::unique_ptr<Packed[]>> blocks_;
  std::size_t main_size_ = 0;  // records in the main part, marked ones too
  std::size_t marked_ = 0;     // of them, erased
  // fence_[p]: the main part's first record whose id's leading fence_bits_
  // bits are p or more; fence_[2^fence_bits_] = main_size_.
  std::vector<std::uint32_t> fence_ = {0, 0};
  int fence_bits_ = 0;
  std::unordered_map<ObjectId, Record, IdHash> tail_;
};

}  // namespace hx
