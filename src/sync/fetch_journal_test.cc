// The fetch journal (fetch_journal.h): what it keeps survives the process,
// is used only once it hashes to its id, stays under its cap (the oldest
// evicted), and is gone after Clear.
#include "sync/fetch_journal.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "repo/object_codec.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> Bytes(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  return out;
}

// An object of its own for each n (Bytes has only 256).
std::vector<std::uint8_t> Numbered(std::uint32_t n, std::size_t size = 64) {
  std::vector<std::uint8_t> out = Bytes(size, static_cast<std::uint8_t>(n));
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return out;
}

class FetchJournalTest : public ::testing::Test {
 protected:
  FetchJournalTest() { fs::create_directories(vault() / ".hx"); }
  fs::path vault() const { return dir_.path() / "v"; }
  fs::path staging() const { return vault() / ".hx" / "staging"; }

  std::unique_ptr<FetchJournal> Open(FetchJournalOptions options = {}) {
    Result<std::unique_ptr<FetchJournal>> journal =
        FetchJournal::Open(Env::Default(), vault(), staging(), ctx_, std::move(options));
    EXPECT_TRUE(journal.ok()) << journal.error().ToShortString();
    return journal.ok() ? std::move(journal).value() : nullptr;
  }
  ObjectId Add(FetchJournal& journal, const std::vector<std::uint8_t>& bytes,
               ObjectKind kind = ObjectKind::kChunk) {
    const ObjectId id = ComputeObjectId(ctx_, kind, bytes);
    journal.Add(kind, id, bytes);
    return id;
  }
  std::uint64_t journal_bytes_on_disk() const {
    std::uint64_t out = 0;
    for (const fs::path& f : Files()) out += fs::file_size(f);
    return out;
  }
  std::vector<fs::path> Files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(staging())) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_;
  VaultContext ctx_;
};

TEST_F(FetchJournalTest, WhatWasKeptIsFoundByTheNextRunAfterTheProcessEnds) {
  const auto chunk = Bytes(5000, 1);
  const auto tree = Bytes(300, 2);
  ObjectId chunk_id, tree_id;
  {
    std::unique_ptr<FetchJournal> journal = Open();
    chunk_id = Add(*journal, chunk);
    tree_id = Add(*journal, tree, ObjectKind::kTree);
    // Readable before it is written out, too.
    EXPECT_EQ(journal->Get(ObjectKind::kChunk, chunk_id), chunk);
  }
  std::unique_ptr<FetchJournal> journal = Open();
  EXPECT_EQ(journal->stats().kept_objects, 2u);
  EXPECT_TRUE(journal->Has(chunk_id));
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, chunk_id), chunk);
  EXPECT_EQ(journal->Get(ObjectKind::kTree, tree_id), tree);
  EXPECT_EQ(journal->stats().reused_objects, 2u);
  EXPECT_FALSE(journal->Get(ObjectKind::kChunk, ComputeObjectId(ctx_, ObjectKind::kChunk,
                                                                 Bytes(10, 9))));
}

TEST_F(FetchJournalTest, ADamagedRecordIsDroppedNotUsed) {
  const auto first = Bytes(4000, 3);
  const auto second = Bytes(4000, 4);
  ObjectId first_id, second_id;
  {
    std::unique_ptr<FetchJournal> journal = Open();
    first_id = Add(*journal, first);
    second_id = Add(*journal, second);
  }
  // Flip one byte of the first object's plaintext (after its 48-byte header).
  const fs::path file = Files().at(0);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(48 + 100);
    f.put(static_cast<char>(first[100] ^ 0x20));
  }
  std::unique_ptr<FetchJournal> journal = Open();
  EXPECT_FALSE(journal->Get(ObjectKind::kChunk, first_id).has_value());
  EXPECT_EQ(journal->stats().dropped, 1u);
  EXPECT_FALSE(journal->Has(first_id));
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, second_id), second);
  // Asked for as the wrong kind: not used either.
  EXPECT_FALSE(journal->Get(ObjectKind::kTree, second_id).has_value());
}

TEST_F(FetchJournalTest, ATornTailIsIgnoredAndTheRecordsBeforeItKept) {
  const auto first = Bytes(4000, 5);
  ObjectId first_id;
  {
    std::unique_ptr<FetchJournal> journal = Open();
    first_id = Add(*journal, first);
    Add(*journal, Bytes(4000, 6));
  }
  const fs::path file = Files().at(0);
  fs::resize_file(file, fs::file_size(file) - 10);
  std::unique_ptr<FetchJournal> journal = Open();
  EXPECT_EQ(journal->stats().kept_objects, 1u);
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, first_id), first);
}

TEST_F(FetchJournalTest, TheJournalStaysUnderItsCapByEvictingTheOldestFiles) {
  FetchJournalOptions options;
  options.max_bytes = 40'000;
  options.segment_bytes = 10'000;
  options.buffer_bytes = 1;  // write each record at once
  std::unique_ptr<FetchJournal> journal = Open(options);
  std::vector<ObjectId> ids;
  for (int i = 0; i < 30; ++i) {
    ids.push_back(Add(*journal, Bytes(4000, static_cast<std::uint8_t>(i))));
    std::uint64_t on_disk = 0;
    for (const fs::path& f : Files()) on_disk += fs::file_size(f);
    EXPECT_LE(on_disk, options.max_bytes + options.segment_bytes);
  }
  EXPECT_GT(journal->stats().evicted_files, 0u);
  EXPECT_FALSE(journal->Has(ids.front()));  // the oldest went first
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, ids.back()), Bytes(4000, 29));
}

TEST_F(FetchJournalTest, ClearDeletesEveryFileAndKeepsNothingMore) {
  std::unique_ptr<FetchJournal> journal = Open();
  const ObjectId id = Add(*journal, Bytes(100, 1));
  journal->Flush();
  ASSERT_FALSE(Files().empty());
  journal->Clear();
  EXPECT_TRUE(Files().empty());
  EXPECT_FALSE(journal->Has(id));
  Add(*journal, Bytes(100, 2));
  journal->Flush();
  EXPECT_TRUE(Files().empty());
  // RemoveAll does the same for files an earlier run left.
  Add(*Open(), Bytes(100, 3));
  ASSERT_FALSE(Files().empty());
  FetchJournal::RemoveAll(Env::Default(), vault(), staging());
  EXPECT_TRUE(Files().empty());
}

// A pull seals its journal once nothing more is fetched (the memory of its
// record goes); what was buffered is written, the files stay for Clear or
// for the run that retries, and nothing more is added.
TEST_F(FetchJournalTest, SealWritesWhatIsBufferedAndKeepsTheFilesForClearOrTheNextRun) {
  const auto chunk = Bytes(700, 4);
  ObjectId id;
  {
    std::unique_ptr<FetchJournal> journal = Open();
    id = Add(*journal, chunk);  // buffered, not yet written
    journal->Seal();
    EXPECT_FALSE(journal->Has(id));
    const ObjectId late = Add(*journal, Bytes(80, 5));
    EXPECT_FALSE(journal->Has(late));
  }
  std::unique_ptr<FetchJournal> journal = Open();
  EXPECT_EQ(journal->stats().kept_objects, 1u);
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, id), chunk);
  journal->Seal();
  ASSERT_FALSE(Files().empty());
  journal->Clear();
  EXPECT_TRUE(Files().empty());
}

// More records than the record's tail holds (JournalRecords::kMinTail): most
// are found in the sorted part after merges, the rest in the tail.
constexpr std::uint32_t kManyObjects = 3 * JournalRecords::kMinTail + 100;

TEST_F(FetchJournalTest, ManyObjectsAreAllFoundAcrossMergesAndNoneTwice) {
  std::unique_ptr<FetchJournal> journal = Open();
  std::vector<ObjectId> ids;
  for (std::uint32_t n = 0; n < kManyObjects; ++n) ids.push_back(Add(*journal, Numbered(n)));
  for (std::uint32_t n = 0; n < kManyObjects; ++n) {
    ASSERT_TRUE(journal->Has(ids[n])) << n;
    ASSERT_EQ(journal->Get(ObjectKind::kChunk, ids[n]), Numbered(n)) << n;
  }
  EXPECT_FALSE(journal->Has(ComputeObjectId(ctx_, ObjectKind::kChunk, Numbered(kManyObjects))));
  // An id already kept is not appended again, whether merged (the first)
  // or still in the tail (the last).
  const std::uint64_t bytes = journal->bytes();
  journal->Add(ObjectKind::kChunk, ids.front(), Numbered(0));
  journal->Add(ObjectKind::kChunk, ids.back(), Numbered(kManyObjects - 1));
  EXPECT_EQ(journal->bytes(), bytes);
  journal.reset();
  journal = Open();
  EXPECT_EQ(journal->stats().kept_objects, kManyObjects);
  for (std::uint32_t n = 0; n < kManyObjects; n += 97) {
    EXPECT_EQ(journal->Get(ObjectKind::kChunk, ids[n]), Numbered(n)) << n;
  }
}

// The first object is merged into the sorted part, then its bytes on disk
// are damaged: it is dropped, forgotten, and kept again when fetched again
// (and that copy is the one the next run uses).
TEST_F(FetchJournalTest, ARecordDroppedAfterAMergeIsForgottenThenKeptAgain) {
  std::unique_ptr<FetchJournal> journal = Open();
  std::vector<ObjectId> ids;
  for (std::uint32_t n = 0; n < kManyObjects; ++n) ids.push_back(Add(*journal, Numbered(n)));
  journal->Flush();
  {
    std::fstream f(Files().at(0), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(48 + 10);
    f.put(static_cast<char>(Numbered(0)[10] ^ 0x20));
  }
  EXPECT_FALSE(journal->Get(ObjectKind::kChunk, ids[0]).has_value());
  EXPECT_EQ(journal->stats().dropped, 1u);
  EXPECT_FALSE(journal->Has(ids[0]));
  EXPECT_FALSE(journal->Get(ObjectKind::kChunk, ids[0]).has_value());
  EXPECT_EQ(journal->stats().dropped, 1u);  // forgotten, not dropped twice
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, ids[1]), Numbered(1));
  const std::uint64_t bytes = journal->bytes();
  Add(*journal, Numbered(0));
  EXPECT_GT(journal->bytes(), bytes);
  EXPECT_TRUE(journal->Has(ids[0]));
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, ids[0]), Numbered(0));
  journal.reset();
  journal = Open();
  EXPECT_EQ(journal->stats().kept_objects, kManyObjects);  // the later record of ids[0] wins
  EXPECT_EQ(journal->Get(ObjectKind::kChunk, ids[0]), Numbered(0));
  EXPECT_EQ(journal->stats().dropped, 0u);
}

// Records spread over several files are all found by the next run; when the
// cap evicts the oldest files, exactly their records go, from the sorted
// part and the tail alike.
TEST_F(FetchJournalTest, ReopenedWithRecordsFromSeveralFilesThenEvicted) {
  FetchJournalOptions options;
  options.segment_bytes = 64 << 10;
  options.buffer_bytes = 16 << 10;
  std::vector<ObjectId> ids;
  {
    std::unique_ptr<FetchJournal> journal = Open(options);
    for (std::uint32_t n = 0; n < kManyObjects; ++n) ids.push_back(Add(*journal, Numbered(n, 100)));
  }
  ASSERT_GE(Files().size(), 5u);
  std::unique_ptr<FetchJournal> journal = Open(options);
  EXPECT_EQ(journal->stats().kept_objects, kManyObjects);
  for (std::uint32_t n = 0; n < kManyObjects; ++n) {
    ASSERT_EQ(journal->Get(ObjectKind::kChunk, ids[n]), Numbered(n, 100)) << n;
  }
  // A third run with a cap of about half the files: the oldest go.
  journal.reset();
  options.max_bytes = journal_bytes_on_disk() / 2;
  journal = Open(options);
  EXPECT_GT(journal->stats().evicted_files, 0u);
  EXPECT_FALSE(journal->Has(ids.front()));
  EXPECT_TRUE(journal->Has(ids.back()));
  std::size_t kept = 0;
  for (std::uint32_t n = 0; n < kManyObjects; ++n) {
    if (!journal->Has(ids[n])) {
      EXPECT_EQ(kept, 0u) << n;  // only the oldest are gone
      continue;
    }
    ++kept;
    ASSERT_EQ(journal->Get(ObjectKind::kChunk, ids[n]), Numbered(n, 100)) << n;
  }
  EXPECT_LT(kept, kManyObjects);
  journal.reset();
  EXPECT_EQ(Open(options)->stats().kept_objects, kept);
}

TEST_F(FetchJournalTest, AStagingDirectoryThatIsASymlinkIsRefused) {
  fs::create_directories(dir_.path() / "elsewhere");
  fs::create_directory_symlink(dir_.path() / "elsewhere", staging());
  Result<std::unique_ptr<FetchJournal>> journal =
      FetchJournal::Open(Env::Default(), vault(), staging(), ctx_);
  EXPECT_FALSE(journal.ok());
  FetchJournal::RemoveAll(Env::Default(), vault(), staging());  // and touches nothing
  EXPECT_TRUE(fs::is_empty(dir_.path() / "elsewhere"));
}

}  // namespace
}  // namespace hx
