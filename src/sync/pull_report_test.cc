// The pull report: at scale, a pull lists at most 1,000 items (the items not
// applied first), counts the rest in items_omitted, and a small pull's report
// is the document it always was. Names other devices chose are printed
// escaped; a store that refuses only this device's manifest (read-only
// credentials) leaves a warning, not a failure; a foreign pack names the
// object it broke.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/printable.h"
#include "json/canonical_json.h"
#include "json/schema_testing.h"
#include "meta/manifest.h"
#include "store/store_wrappers.h"
#include "sync/engine.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using ::hx::testing::Device;

constexpr char kPullSchema[] = "schemas/sync_pull_report.schema.json";

// File names that sort in creation order: "f0000.txt", "f0001.txt", ...
std::string FileName(int i) {
  std::string digits = std::to_string(i);
  return "f" + std::string(4 - digits.size(), '0') + digits + ".txt";
}

std::string ReadWhole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class PullReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    HX_ASSERT_OK(b_.Init(1000));
  }

  std::unique_ptr<::hx::testing::StoreFixture> store_ = ::hx::testing::MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  Device b_{*store_, "b", 2};
};

TEST_F(PullReportTest, ASmallPullListsEveryItemAndNoOmittedCount) {
  a_.Write("one.txt", "1");
  a_.Write("two.txt", "2");
  HX_ASSERT_OK(a_.Push(2000));
  Result<PullReport> pull = b_.Pull(3000);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->items.size(), 2u);
  EXPECT_EQ(pull->items[0].path, "one.txt");
  EXPECT_EQ(pull->items[1].path, "two.txt");
  EXPECT_EQ(pull->items_omitted, 0u);
  const nlohmann::json json = pull->ToJson();
  EXPECT_FALSE(json.contains("items_omitted"));
  EXPECT_TRUE(ValidateAgainstSchema(json, kPullSchema));
}

TEST_F(PullReportTest, ALargePullListsAThousandItemsAndCountsTheRest) {
  for (int i = 0; i < 1005; ++i) a_.Write(FileName(i), "content " + std::to_string(i));
  HX_ASSERT_OK(a_.Push(2000));
  Result<PullReport> pull = b_.Pull(3000);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(pull->outcome, "applied");
  ASSERT_EQ(pull->items.size(), 1000u);
  EXPECT_EQ(pull->items_omitted, 5u);
  // The listed ones are the first in the plan's order.
  EXPECT_EQ(pull->items.front().path, FileName(0));
  EXPECT_EQ(pull->items.back().path, FileName(999));
  // The summary still counts every change, and every file arrived.
  EXPECT_EQ(pull->changes.added, 1005u);
  EXPECT_EQ(b_.Read(FileName(1004)), "content 1004");

  const nlohmann::json json = pull->ToJson();
  EXPECT_EQ(json.at("items_omitted"), 5);
  EXPECT_EQ(json.at("items").size(), 1000u);
  EXPECT_TRUE(ValidateAgainstSchema(json, kPullSchema));
  // The saved report is the same capped document.
  const auto saved = b_.vault() / ".hx" / "reports" / "pull_3000.json";
  ASSERT_TRUE(std::filesystem::exists(saved));
  const nlohmann::json file = nlohmann::json::parse(ReadWhole(saved));
  EXPECT_EQ(file.at("items_omitted"), 5);
  EXPECT_EQ(file.at("items").size(), 1000u);
}

TEST_F(PullReportTest, AnItemNotAppliedIsListedEvenBeyondTheFirstThousand) {
  a_.Write("zzz.txt", "v1");
  HX_ASSERT_OK(a_.Push(2000));
  HX_ASSERT_OK(b_.Pull(3000));
  // The store changes zzz.txt and adds 1,000 files that sort before it.
  a_.Write("zzz.txt", "v2");
  for (int i = 0; i < 1000; ++i) a_.Write(FileName(i), "x");
  HX_ASSERT_OK(a_.Push(4000));
  // b edits zzz.txt while the pull runs: that item is skipped, not applied.
  SyncOptions options = b_.options(5000);
  options.checkpoint = [&](std::string_view point) {
    if (point == "pull.before_apply") b_.Write("zzz.txt", "edited on b during the pull");
  };
  Result<PullReport> pull = SyncPull(b_.vault(), options);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->items.size(), 1000u);
  EXPECT_EQ(pull->items_omitted, 1u);
  EXPECT_EQ(pull->items.back().path, "zzz.txt");
  EXPECT_EQ(pull->items.back().status, "skipped_local_change");
  // The 999 applied items that fit keep the plan's order.
  EXPECT_EQ(pull->items.front().path, FileName(0));
  EXPECT_EQ(pull->items[998].path, FileName(998));
  EXPECT_EQ(b_.Read("zzz.txt"), "edited on b during the pull");
  EXPECT_TRUE(ValidateAgainstSchema(pull->ToJson(), kPullSchema));
}

// ---------------------------------------------------------- hostile names

// A name another device may give a file: an OSC title change, a forged
// report line after a newline, a carriage return and erase-line, a C1 CSI,
// a right-to-left override. Valid UTF-8 without '/' or NUL: a legal name.
const std::string kHostileName =
    "evil\x1b]0;pwned\x07\n  applied: fake.txt\r\x1b[2K\xc2\x9b" "31m\xe2\x80\xaetxt.exe";

// True if `text` holds no byte that a terminal would act on, other than the
// layout's own newlines.
bool TerminalInert(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      return false;
    }
    if (text.compare(i, 3, "\xe2\x80\xae") == 0) return false;
  }
  return true;
}

TEST_F(PullReportTest, HostileNamesFromAnotherDeviceArePrintedEscapedInThePullReport) {
  a_.Write(kHostileName, "v1");
  HX_ASSERT_OK(a_.Push(2000));
  HX_ASSERT_OK(b_.Pull(3000));
  EXPECT_EQ(b_.Read(kHostileName), "v1");  // the name itself is legal and kept
  a_.Write(kHostileName, "v2");
  HX_ASSERT_OK(a_.Push(4000));
  // b edits the file while the pull runs: the report lists it as skipped.
  SyncOptions options = b_.options(5000);
  options.checkpoint = [&](std::string_view point) {
    if (point == "pull.before_apply") b_.Write(kHostileName, "edited on b");
  };
  Result<PullReport> pull = SyncPull(b_.vault(), options);
  HX_ASSERT_OK(pull);
  ASSERT_EQ(pull->items.size(), 1u);
  EXPECT_EQ(pull->items[0].status, "skipped_local_change");

  const std::string human = pull->ToHuman();
  EXPECT_TRUE(TerminalInert(human)) << human;
  EXPECT_NE(human.find("  skipped_local_change: " + Printable(kHostileName) + "\n"),
            std::string::npos)
      << human;
  EXPECT_NE(human.find("evil\\e]0;pwned\\x07\\n  applied: fake.txt\\r\\e[2K\\u{9b}31m"
                       "\\u{202e}txt.exe"),
            std::string::npos)
      << human;
  // Two lines: the summary and the skipped item; no forged "applied:" line.
  EXPECT_EQ(std::count(human.begin(), human.end(), '\n'), 2) << human;

  // --json is safe as it is: every control character is a JSON escape, and
  // a JSON reader gets the name back byte for byte.
  Result<std::string> json = WriteCanonicalJson(pull->ToJson());
  HX_ASSERT_OK(json);
  EXPECT_TRUE(std::none_of(json->begin(), json->end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      << *json;
  EXPECT_EQ(nlohmann::json::parse(*json).at("items").at(0).at("path"), kHostileName);
}

TEST(PullReportRenderingTest, EveryNameAndMessageOfAPullReportIsEscaped) {
  PullReport report;
  report.outcome = "partial";
  report.head_seq = 7;
  report.policy = "keep_both";
  report.items.push_back({kHostileName, "write", "failed",
                          Error(SyncCode::kApplyFailed, Category::kIo,
                                "cannot create " + kHostileName + ": Permission denied")});
  report.resolutions.push_back({kHostileName, "kept_both", kHostileName + ".conflict-b",
                                ".hx/archive/" + kHostileName, "applied", std::nullopt});
  report.warnings.push_back(
      Error(SyncCode::kAuthFailed, Category::kAuth, "refused: " + kHostileName));
  const std::string human = report.ToHuman();
  EXPECT_TRUE(TerminalInert(human)) << human;
  // The summary, the failed item, the resolution, the warning.
  EXPECT_EQ(std::count(human.begin(), human.end(), '\n'), 4) << human;
  const std::string name = Printable(kHostileName);
  EXPECT_NE(human.find("  failed: " + name + " (cannot create " + name + ": Permission denied)\n"),
            std::string::npos)
      << human;
  EXPECT_NE(human.find("  keep_both: " + name + " kept_both, other version at " + name +
                       ".conflict-b, other version archived at .hx/archive/" + name + "\n"),
            std::string::npos)
      << human;
  EXPECT_NE(human.find("warning: refused: " + name + "\n"), std::string::npos) << human;
}

// ------------------------------------------------------ a read-only store

// RefuseManifestWrites: sync_test_util.h.

TEST_F(PullReportTest, APullFromAReadOnlyStoreSucceedsWithAWarningWhenOnlyTheManifestIsRefused) {
  a_.Write("one.txt", "1");
  HX_ASSERT_OK(a_.Push(2000));
  b_.wrap_store = testing::RefuseManifestWrites();
  Result<PullReport> pull = b_.Pull(3000);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(pull->outcome, "applied");
  EXPECT_FALSE(pull->error.has_value());
  EXPECT_EQ(b_.Read("one.txt"), "1");
  const nlohmann::json json = pull->ToJson();
  testing::ExpectManifestRefusedWarning(pull->warnings, pull->ToHuman(), json, "pulled");
  const std::string node_id = pull->warnings.at(0).details.at("key").substr(10, 32);
  EXPECT_EQ(pull->warnings.at(0).details.at("key"), ManifestKey(node_id));
  EXPECT_TRUE(ValidateAgainstSchema(json, kPullSchema));

  // The base moved on: the next pull is up to date, and later changes
  // arrive the same way (warned again, never failed).
  Result<PullReport> again = b_.Pull(4000);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->outcome, "up_to_date");
  a_.Write("two.txt", "2");
  HX_ASSERT_OK(a_.Push(5000));
  Result<PullReport> later = b_.Pull(6000);
  HX_ASSERT_OK(later);
  EXPECT_EQ(later->outcome, "applied");
  EXPECT_EQ(later->warnings.size(), 1u);
  EXPECT_EQ(b_.Read("two.txt"), "2");
  // Once the store accepts it again, the manifest is written and no warning.
  b_.wrap_store = nullptr;
  a_.Write("three.txt", "3");
  HX_ASSERT_OK(a_.Push(7000));
  Result<PullReport> writable = b_.Pull(8000);
  HX_ASSERT_OK(writable);
  EXPECT_TRUE(writable->warnings.empty());
  EXPECT_FALSE(writable->ToJson().contains("warnings"));
}

TEST_F(PullReportTest, AManifestWriteThatFailsForAnotherReasonStillFailsThePull) {
  a_.Write("one.txt", "1");
  HX_ASSERT_OK(a_.Push(2000));
  b_.wrap_store = testing::RefuseManifestWrites(Category::kNoSpace);
  Result<PullReport> pull = b_.Pull(3000);
  ASSERT_FALSE(pull.ok());
  EXPECT_EQ(pull.error().category, Category::kNoSpace);
}

// ------------------------------------------------------------ foreign packs

// The blob keys ("blobs/...") of a store.
std::set<std::string> BlobKeys(const ::hx::testing::StoreFixture& store) {
  std::set<std::string> keys;
  for (const auto& [key, bytes] : store.Objects()) {
    if (key.starts_with("blobs/")) keys.insert(key);
  }
  return keys;
}

// The one key in `after` that is not in `before`.
std::string NewKey(const std::set<std::string>& before, const std::set<std::string>& after) {
  std::vector<std::string> added;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(added));
  EXPECT_EQ(added.size(), 1u);
  return added.empty() ? std::string() : added.front();
}

std::string Pseudorandom(std::size_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  for (char& c : out) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(seed >> 56);
  }
  return out;
}

class ForeignPackTest : public PullReportTest {
 protected:
  void SetUp() override {
    PullReportTest::SetUp();
    // Push 1 packs big.bin's chunks (and a root tree no later pull needs);
    // push 2 packs small.txt and the root tree the head names.
    const std::set<std::string> none = BlobKeys(*store_);
    a_.Write("big.bin", big_);
    HX_ASSERT_OK(a_.Push(2000));
    const std::set<std::string> one = BlobKeys(*store_);
    chunk_pack_ = NewKey(none, one);
    a_.Write("small.txt", "small");
    HX_ASSERT_OK(a_.Push(3000));
    tree_pack_ = NewKey(one, BlobKeys(*store_));
    // A stranger vault, same content: its pack is well-formed, but not ours.
    Device stranger(*stranger_store_, "stranger", 9);
    HX_ASSERT_OK(stranger.Init(1000));
    stranger.Write("big.bin", big_);
    stranger.Write("small.txt", "small");
    HX_ASSERT_OK(stranger.Push(2000));
    for (const auto& [key, bytes] : stranger_store_->Objects()) {
      if (key.starts_with("blobs/") && bytes.size() > foreign_.size()) foreign_ = bytes;
    }
  }

  // Expects `e` to name an object of `kind` in `pack` (a store key ending
  // in "/<blob id>").
  static void ExpectNamesObject(const Error& e, std::string_view kind, const std::string& pack) {
    const std::string blob = pack.substr(pack.rfind('/') + 1);
    EXPECT_EQ(e.details.count("object"), 1u) << e.ToShortString();
    EXPECT_EQ(e.details.count("kind") ? e.details.at("kind") : "", kind) << e.ToShortString();
    EXPECT_EQ(e.details.count("blob") ? e.details.at("blob") : "", blob) << e.ToShortString();
    const std::string object = e.details.count("object") ? e.details.at("object") : "?";
    EXPECT_NE(e.message.find(std::string(kind) + " " + object + " in pack " + blob),
              std::string::npos)
        << e.message;
  }

  const std::string big_ = Pseudorandom(3 << 20, 42);
  std::unique_ptr<::hx::testing::StoreFixture> stranger_store_ =
      ::hx::testing::MakeFolderStoreFixture();
  std::string chunk_pack_;
  std::string tree_pack_;
  std::string foreign_;
};

TEST_F(ForeignPackTest, AForeignPackFailsOnlyTheFilesWhoseObjectsItHoldsAndNamesTheObject) {
  // Long enough for every range read: the objects fail to authenticate.
  std::string padded = foreign_;
  padded.resize(std::max(foreign_.size(), store_->Objects().at(chunk_pack_).size()), 'x');
  store_->Overwrite(chunk_pack_, padded);
  Result<PullReport> pull = b_.Pull(4000);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(pull->outcome, "partial");
  EXPECT_EQ(b_.Read("small.txt"), "small");
  EXPECT_FALSE(b_.Exists("big.bin"));
  ASSERT_TRUE(pull->error.has_value());
  EXPECT_EQ(pull->error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(pull->error->details.at("first_path"), "big.bin");
  const auto failed = std::find_if(pull->items.begin(), pull->items.end(),
                                   [](const PullItem& i) { return i.path == "big.bin"; });
  ASSERT_NE(failed, pull->items.end());
  ASSERT_TRUE(failed->error.has_value());
  EXPECT_EQ(failed->error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(failed->error->category, Category::kCorrupt);
  ExpectNamesObject(*failed->error, "chunk", chunk_pack_);
  EXPECT_NE(failed->error->message.find("from another vault"), std::string::npos)
      << failed->error->message;
}

TEST_F(ForeignPackTest, APackTooShortForItsObjectsIsTheObjectsFailureNotTheStores) {
  store_->Overwrite(chunk_pack_, foreign_.substr(0, 100));
  Result<PullReport> pull = b_.Pull(4000);
  HX_ASSERT_OK(pull);
  EXPECT_EQ(b_.Read("small.txt"), "small");
  const auto failed = std::find_if(pull->items.begin(), pull->items.end(),
                                   [](const PullItem& i) { return i.path == "big.bin"; });
  ASSERT_NE(failed, pull->items.end());
  ASSERT_TRUE(failed->error.has_value());
  // Not KC_SYNC_STATE_FAILED from the store's range check: the object's code.
  EXPECT_EQ(failed->error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(failed->error->category, Category::kCorrupt);
  ExpectNamesObject(*failed->error, "chunk", chunk_pack_);
  EXPECT_NE(failed->error->message.find("too short"), std::string::npos) << failed->error->message;
}

TEST_F(ForeignPackTest, AForeignPackHoldingTheRootTreeFailsTheWholePullNamingTheTree) {
  std::string padded = foreign_;
  padded.resize(std::max(foreign_.size(), store_->Objects().at(tree_pack_).size()), 'x');
  store_->Overwrite(tree_pack_, padded);
  Result<PullReport> pull = b_.Pull(4000);
  ASSERT_FALSE(pull.ok());
  // Nothing can be planned without the root: the store's state is damaged
  // (docs/ERRORS.md), and the error says which object and which pack.
  EXPECT_EQ(pull.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(pull.error().category, Category::kCorrupt);
  ExpectNamesObject(pull.error(), "tree", tree_pack_);
  EXPECT_FALSE(b_.Exists("small.txt"));
  EXPECT_FALSE(b_.Exists("big.bin"));
}

}  // namespace
}  // namespace hx
