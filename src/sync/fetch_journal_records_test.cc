// The fetch journal's record (fetch_journal_records.h) holds the same as a
// map of id to record would, through tail merges, erasures (marked in the
// sorted part), puts over them, whole files forgotten and Clear.
#include "sync/fetch_journal_records.h"

#include <algorithm>
#include <map>
#include <random>

#include <gtest/gtest.h>

namespace hx {
namespace {

using Record = JournalRecords::Record;

bool Same(const Record* got, const Record& want) {
  return got != nullptr && got->file == want.file && got->length == want.length &&
         got->offset == want.offset;
}

class JournalRecordsTest : public ::testing::Test {
 protected:
  ObjectId RandomId() {
    ObjectId id;
    for (std::uint8_t& b : id) b = static_cast<std::uint8_t>(rng_());
    return id;
  }
  Record RandomRecord() {
    return Record{static_cast<std::uint32_t>(rng_() % 8), static_cast<std::uint32_t>(rng_() % 5000),
                  rng_() % (std::uint64_t{1} << 40)};
  }
  // An id the model keeps (or a new one if it keeps none).
  ObjectId KeptId() {
    if (model_.empty()) return RandomId();
    auto it = model_.lower_bound(RandomId());
    return it == model_.end() ? model_.begin()->first : it->first;
  }
  void ExpectSameAsModel() {
    ASSERT_EQ(records_.size(), model_.size());
    for (const auto& [id, record] : model_) ASSERT_TRUE(Same(records_.Find(id), record));
  }

  std::mt19937_64 rng_{20261207};
  JournalRecords records_;
  std::map<ObjectId, Record> model_;
};

// Random puts (new ids and kept ones), erasures (kept and absent ids) and
// whole files forgotten, checked against a map at each step; ~60,000 puts of
// new ids take the sorted part past 32 * kMinTail, where the tail is merged
// at a 32nd of it.
TEST_F(JournalRecordsTest, HoldsWhatAMapWouldThroughMergesErasuresAndFiles) {
  std::size_t most = 0;
  for (int step = 0; step < 100'000; ++step) {
    const std::uint64_t op = rng_() % 100;
    if (op < 60) {
      const ObjectId id = RandomId();
      const Record record = RandomRecord();
      records_.Put(id, record);
      model_[id] = record;
    } else if (op < 70) {
      const ObjectId id = KeptId();
      const Record record = RandomRecord();
      records_.Put(id, record);
      model_[id] = record;
    } else if (op < 85) {
      const ObjectId id = op < 80 ? KeptId() : RandomId();
      records_.Erase(id);
      model_.erase(id);
      ASSERT_EQ(records_.Find(id), nullptr);
    } else if (step % 25'000 == 24'999) {
      const auto file = static_cast<std::uint32_t>(rng_() % 8);
      records_.EraseFile(file);
      std::erase_if(model_, [file](const auto& kv) { return kv.second.file == file; });
    } else {
      const ObjectId id = op % 2 == 0 ? KeptId() : RandomId();
      const auto it = model_.find(id);
      if (it == model_.end()) {
        ASSERT_EQ(records_.Find(id), nullptr) << step;
      } else {
        ASSERT_TRUE(Same(records_.Find(id), it->second)) << step;
      }
    }
    ASSERT_EQ(records_.size(), model_.size()) << step;
    most = std::max(most, model_.size());
  }
  ExpectSameAsModel();
  EXPECT_GT(most, 32 * JournalRecords::kMinTail);
}

// Every record erased in turn (a journal written under another key), then
// put again: each comes back, at any size of the sorted part.
TEST_F(JournalRecordsTest, EveryRecordErasedThenPutAgain) {
  for (int n = 0; n < 10'000; ++n) model_[RandomId()] = RandomRecord();
  for (const auto& [id, record] : model_) records_.Put(id, record);
  ExpectSameAsModel();
  for (const auto& [id, record] : model_) {
    records_.Erase(id);
    ASSERT_EQ(records_.Find(id), nullptr);
  }
  EXPECT_EQ(records_.size(), 0u);
  for (auto& [id, record] : model_) {
    record = RandomRecord();
    records_.Put(id, record);
  }
  ExpectSameAsModel();
  // Forgetting a file after that removes exactly its records.
  records_.EraseFile(3);
  std::erase_if(model_, [](const auto& kv) { return kv.second.file == 3; });
  ExpectSameAsModel();
}

TEST_F(JournalRecordsTest, ClearForgetsEverythingAndTheRecordStaysUsable) {
  for (int n = 0; n < 5'000; ++n) records_.Put(RandomId(), RandomRecord());
  const ObjectId id = RandomId();
  records_.Put(id, Record{1, 2, 3});
  records_.Clear();
  EXPECT_EQ(records_.size(), 0u);
  EXPECT_EQ(records_.Find(id), nullptr);
  records_.Put(id, Record{4, 5, 6});
  EXPECT_TRUE(Same(records_.Find(id), Record{4, 5, 6}));
  EXPECT_EQ(records_.size(), 1u);
}

}  // namespace
}  // namespace hx
