// hx envelope export|diff|apply against real folders: byte-identical
// exports, what is left out, the size bound, the dry-run diff, each policy,
// no silent overwrite, per-item failures.
#include "envelope/folder.h"

#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/canonical_json.h"
#include "os/env.h"
#include "json/schema_testing.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

class Dir {
 public:
  Dir() {
    std::string t = (fs::temp_directory_path() / "hx-envelope-test-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    path_ = t;
  }
  ~Dir() {
    std::error_code ec;
    fs::permissions(path_ / "ro", fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void Write(const std::string& rel, const std::string& data, bool exec = false) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary | std::ios::trunc) << data;
    fs::permissions(path_ / rel, exec ? fs::perms(0755) : fs::perms(0644));
    SetTime(rel);
  }
  void SetTime(const std::string& rel) const {
    const struct timespec t[2] = {{1'770'883'200, 0}, {1'770'883'200, 0}};
    ::utimensat(AT_FDCWD, (path_ / rel).c_str(), t, AT_SYMLINK_NOFOLLOW);
  }
  std::string Read(const std::string& rel) const {
    std::ifstream in(path_ / rel, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Everything under the folder, .hx/ included: path -> kind and content.
  std::map<std::string, std::string> Tree() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(path_)) {
      const std::string rel = fs::relative(e.path(), path_).string();
      out[rel] = e.is_symlink()     ? "link:" + fs::read_symlink(e.path()).string()
                 : e.is_directory() ? "dir"
                                    : "file:" + Read(rel);
    }
    return out;
  }

 private:
  fs::path path_;
};

Envelope Export(const Dir& d, std::size_t max_bytes = kMaxEnvelopeBytes) {
  Result<Envelope> e = ExportFolder(
      d.path(), {.now_ms = 1'770'883'200'000, .app_version = "0.1.0", .max_bytes = max_bytes});
  EXPECT_TRUE(e.ok()) << e.error().ToShortString();
  return e.ok() ? *e : Envelope{};
}

std::vector<std::string> Ids(const Envelope& e) {
  std::vector<std::string> ids;
  for (const EnvelopeItem& i : e.items) ids.push_back(i.item_type + ":" + i.item_id);
  return ids;
}

TEST(EnvelopeExportTest, SameFolderGivesTheSameBytesAndLeavesOutHxIgnoredAndSpecialFiles) {
  Dir d;
  d.Write("a.txt", "hello");
  d.Write("bin/run.sh", "#!/bin/sh\n", true);
  d.Write("scratch.tmp", "ignored");
  d.Write(".hxignore", "*.tmp\n");
  d.Write(".hx/config.json", "not an item");
  fs::create_symlink("a.txt", d.path() / "bin/link");
  ASSERT_EQ(::mkfifo((d.path() / "fifo").c_str(), 0644), 0);
  d.SetTime("bin");
  const Envelope e = Export(d);
  EXPECT_EQ(Ids(e), (std::vector<std::string>{"file:.hxignore", "file:a.txt", "directory:bin",
                                              "symlink:bin/link", "file:bin/run.sh"}));
  EXPECT_EQ(e.exported_utc, "2026-02-12T08:00:00Z");
  EXPECT_EQ(e.items[1].updated_utc, "2026-02-12T08:00:00Z");
  EXPECT_EQ(e.items[1].content, (nlohmann::json{{"data", "aGVsbG8="}, {"executable", false}}));
  EXPECT_EQ(e.items[4].content["executable"], true);
  EXPECT_EQ(e.items[3].content, (nlohmann::json{{"target", "a.txt"}}));
  EXPECT_EQ(e.source.device_id, "unlinked");
  for (const EnvelopeItem& item : e.items) EXPECT_TRUE(VerifyContentHash(item)) << item.item_id;
  EXPECT_EQ(*EncodeEnvelope(e), *EncodeEnvelope(Export(d)));
  Result<nlohmann::json> doc = ParseJson(*EncodeEnvelope(e));
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE(ValidateAgainstSchema(*doc, "schemas/envelope.schema.json"));
}

TEST(EnvelopeExportTest, AFolderAboveTheSizeBoundIsRefusedClearly) {
  Dir d;
  d.Write("big.bin", std::string(4000, 'x'));
  Result<Envelope> e =
      ExportFolder(d.path(), {.now_ms = 0, .app_version = "0.1.0", .max_bytes = 2000});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, SyncCode::kInputInvalid);
  EXPECT_NE(e.error().message.find("above the limit"), std::string::npos);
}

TEST(EnvelopeExportTest, ListedHashesEqualExportedHashes) {
  Dir d;
  d.Write("a.txt", std::string(500'000, 'q'));  // several streamed blocks
  d.Write("x", "", true);
  const Envelope e = Export(d);
  Result<std::map<std::string, LocalItem>> listed = ListFolderItems(d.path());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), e.items.size());
  for (const EnvelopeItem& item : e.items) {
    EXPECT_EQ(listed->at(item.item_id).content_hash, item.content_hash) << item.item_id;
  }
}

// A source folder and a target folder that shares, changes and lacks items.
class EnvelopeApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_.Write("same.txt", "same");
    src_.Write("conflict.txt", "envelope version");
    src_.Write("new.txt", "new");
    src_.Write("kind", "a file in the envelope");
    src_.Write("nested/deep.txt", "deep");
    envelope_ = Export(src_);

    dst_.Write("same.txt", "same");
    dst_.Write("conflict.txt", "local version");
    dst_.Write("kind/inside.txt", "a directory here");
    dst_.Write("mine.txt", "only here");
  }

  Result<EnvelopeApplyReport> Apply(MergePolicy policy, Decisions decisions = {}) {
    return ApplyEnvelope(dst_.path(), envelope_,
                         {.policy = policy, .decisions = std::move(decisions), .now_ms = 9000});
  }

  // The envelope with one more item: a copy of its last one at `id`, in the
  // items' order.
  Envelope WithExtraItem(const std::string& id) const {
    Envelope e = envelope_;
    EnvelopeItem extra = e.items.back();
    extra.item_id = id;
    e.items.push_back(std::move(extra));
    std::sort(e.items.begin(), e.items.end(),
              [](const EnvelopeItem& a, const EnvelopeItem& b) { return a.item_id < b.item_id; });
    return e;
  }

  static std::map<std::string, std::string> Statuses(const EnvelopeApplyReport& r) {
    std::map<std::string, std::string> out;
    for (const auto& i : r.items) out[i.item_id] = i.change + "/" + i.status;
    return out;
  }

  Dir src_, dst_;
  Envelope envelope_;
};

TEST_F(EnvelopeApplyTest, DiffListsNewChangedUnchangedAndConflictsAndWritesNothing) {
  const auto before = dst_.Tree();
  Result<EnvelopeDiffReport> d = DiffEnvelope(dst_.path(), envelope_);
  ASSERT_TRUE(d.ok()) << d.error().ToShortString();
  std::map<std::string, std::string> changes;
  for (const auto& i : d->items) changes[i.item_id] = i.change;
  EXPECT_EQ(changes, (std::map<std::string, std::string>{{"conflict.txt", "conflict"},
                                                         {"kind", "changed"},
                                                         {"nested", "new"},
                                                         {"nested/deep.txt", "new"},
                                                         {"new.txt", "new"},
                                                         {"same.txt", "unchanged"}}));
  EXPECT_EQ(d->new_items, 3u);
  EXPECT_EQ(d->changed, 1u);
  EXPECT_EQ(d->conflicts, 1u);
  EXPECT_EQ(d->unchanged, 1u);
  EXPECT_EQ(d->local_only, (std::vector<std::string>{"kind/inside.txt", "mine.txt"}));
  EXPECT_EQ(dst_.Tree(), before);
  EXPECT_TRUE(ValidateAgainstSchema(d->ToJson(), "schemas/envelope_diff_report.schema.json"));
}

TEST_F(EnvelopeApplyTest, LocalPreferredKeepsTheFolderAndArchivesTheEnvelopesVersion) {
  Result<EnvelopeApplyReport> r = Apply(MergePolicy::kLocalPreferred);
  ASSERT_TRUE(r.ok()) << r.error().ToShortString();
  EXPECT_EQ(r->outcome, "applied");
  EXPECT_EQ(Statuses(*r), (std::map<std::string, std::string>{{"conflict.txt", "conflict/skipped"},
                                                              {"kind", "changed/skipped"},
                                                              {"nested", "new/created"},
                                                              {"nested/deep.txt", "new/created"},
                                                              {"new.txt", "new/created"},
                                                              {"same.txt", "unchanged/skipped"}}));
  EXPECT_EQ(r->summary, (ItemSummary{.created = 3, .skipped = 3}));
  EXPECT_EQ(dst_.Read("conflict.txt"), "local version");
  EXPECT_EQ(dst_.Read(".hx/archive/envelope-9000/conflict.txt.cloud"), "envelope version");
  EXPECT_EQ(dst_.Read(".hx/archive/envelope-9000/kind.cloud"), "a file in the envelope");
  EXPECT_EQ(dst_.Read("kind/inside.txt"), "a directory here");
  EXPECT_EQ(dst_.Read("nested/deep.txt"), "deep");
  EXPECT_EQ(dst_.Read("mine.txt"), "only here");
}

TEST_F(EnvelopeApplyTest, CloudPreferredWritesTheEnvelopeAndArchivesTheFoldersVersion) {
  Result<EnvelopeApplyReport> r = Apply(MergePolicy::kCloudPreferred);
  ASSERT_TRUE(r.ok()) << r.error().ToShortString();
  EXPECT_EQ(r->summary, (ItemSummary{.created = 3, .updated = 2, .skipped = 1}));
  EXPECT_EQ(dst_.Read("conflict.txt"), "envelope version");
  EXPECT_EQ(dst_.Read(".hx/archive/envelope-9000/conflict.txt.local"), "local version");
  EXPECT_EQ(dst_.Read("kind"), "a file in the envelope");
  EXPECT_EQ(dst_.Read(".hx/archive/envelope-9000/kind.local/inside.txt"), "a directory here");
  EXPECT_EQ(dst_.Read("mine.txt"), "only here");  // an envelope never deletes
  // The written items now export exactly as in the envelope.
  const Envelope again = Export(dst_);
  for (const std::string id : {"conflict.txt", "kind", "new.txt", "nested/deep.txt"}) {
    auto find = [&](const Envelope& e) {
      return *std::find_if(e.items.begin(), e.items.end(),
                           [&](const EnvelopeItem& i) { return i.item_id == id; });
    };
    EXPECT_EQ(find(again), find(envelope_)) << id;
  }
}

// A file system without hard links (linkat: EPERM) nor RENAME_EXCHANGE
// (EINVAL) whose move of the envelope's version into `kind` fails with EIO
// while `fail_install` is set.
class NoLinksNoExchangeEnv final : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  bool fail_install = false;
  int LinkAt(int, const char*, int, const char*) override { return EPERM; }
  int RenameAt(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path,
               unsigned flags) override {
    if ((flags & RENAME_EXCHANGE) != 0) return EINVAL;
    if (fail_install && std::string_view(old_path).find("~pending-") != std::string_view::npos &&
        std::string_view(new_path) == "kind") {
      return EIO;
    }
    return EnvWrapper::RenameAt(old_dirfd, old_path, new_dirfd, new_path, flags);
  }
};

// Where hard links and RENAME_EXCHANGE are missing, the folder's version is
// renamed into the archive first and the envelope's moved into the freed
// path (sync/displace.h): the same result; an install that fails puts the
// folder's version (here a directory holding a file) back.
TEST_F(EnvelopeApplyTest, WithoutHardLinksOrExchangeTheLoserIsRenamedAsideAndPutBackOnFailure) {
  NoLinksNoExchangeEnv env(Env::Default());
  const auto apply = [&] {
    return ApplyEnvelope(
        dst_.path(), envelope_,
        {.policy = MergePolicy::kCloudPreferred, .decisions = {}, .now_ms = 9000, .env = &env});
  };
  env.fail_install = true;
  Result<EnvelopeApplyReport> failed = apply();
  ASSERT_TRUE(failed.ok()) << failed.error().ToShortString();
  EXPECT_EQ(failed->outcome, "partial");
  EXPECT_EQ(Statuses(*failed).at("kind"), "changed/failed");
  EXPECT_EQ(dst_.Read("kind/inside.txt"), "a directory here");  // put back
  EXPECT_EQ(dst_.Read("conflict.txt"), "envelope version");
  EXPECT_EQ(dst_.Read(".hx/archive/envelope-9000/conflict.txt.local"), "local version");

  env.fail_install = false;
  Result<EnvelopeApplyReport> r = apply();
  ASSERT_TRUE(r.ok()) << r.error().ToShortString();
  EXPECT_EQ(r->outcome, "applied");
  EXPECT_EQ(dst_.Read("kind"), "a file in the envelope");
  // The rerun of the same millisecond archives beside the first run.
  EXPECT_EQ(dst_.Read(".hx/archive/envelope-9000-2/kind.local/inside.txt"), "a directory here");
}

TEST_F(EnvelopeApplyTest, ManualPerItemAppliesNothingUntilEveryConflictHasADecision) {
  const auto before = dst_.Tree();
  Result<EnvelopeApplyReport> r =
      Apply(MergePolicy::kManualPerItem, {{"conflict.txt", ManualChoice::kRemote}});
  ASSERT_TRUE(r.ok()) << r.error().ToShortString();
  EXPECT_EQ(r->outcome, "needs_decisions");
  EXPECT_EQ(r->error->code, SyncCode::kConflict);
  EXPECT_EQ(r->summary, (ItemSummary{.skipped = 5, .conflicted = 1}));
  auto after = dst_.Tree();
  after.erase(".hx");
  after.erase(".hx/reports");
  after.erase(".hx/reports/envelope_apply_9000.json");
  EXPECT_EQ(after, before);

  Result<EnvelopeApplyReport> done = ApplyEnvelope(
      dst_.path(), envelope_,
      {.policy = MergePolicy::kManualPerItem,
       .decisions = {{"conflict.txt", ManualChoice::kRemote}, {"kind", ManualChoice::kLocal}},
       .now_ms = 9001});
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->outcome, "applied");
  EXPECT_EQ(done->summary, (ItemSummary{.created = 3, .updated = 1, .skipped = 2}));
  EXPECT_EQ(dst_.Read("conflict.txt"), "envelope version");
  EXPECT_TRUE(fs::is_directory(dst_.path() / "kind"));
}

TEST_F(EnvelopeApplyTest, DecisionsForItemsThatDoNotDifferAreRefused) {
  Result<EnvelopeApplyReport> r =
      Apply(MergePolicy::kManualPerItem, {{"same.txt", ManualChoice::kLocal}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyncCode::kInputInvalid);
  Result<EnvelopeApplyReport> p = Apply(MergePolicy::kKeepBoth);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, SyncCode::kMergePolicyUnsupported);
}

TEST_F(EnvelopeApplyTest, AnUnwritablePathFailsThatItemAndTheOthersAreApplied) {
  // mine.txt is a file here, so nothing can be created inside it (this
  // holds for root too, unlike a read-only directory).
  Envelope e = WithExtraItem("mine.txt/blocked.txt");
  Result<EnvelopeApplyReport> r = ApplyEnvelope(
      dst_.path(), e, {.policy = MergePolicy::kCloudPreferred, .decisions = {}, .now_ms = 9000});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, "partial");
  EXPECT_EQ(r->summary, (ItemSummary{.created = 3, .updated = 2, .skipped = 1, .failed = 1}));
  EXPECT_EQ(Statuses(*r).at("mine.txt/blocked.txt"), "new/failed");
  EXPECT_EQ(r->error->code, SyncCode::kApplyFailed);
  EXPECT_EQ(r->error->details.at("first_item_id"), "mine.txt/blocked.txt");
  EXPECT_EQ(dst_.Read("new.txt"), "new");
  EXPECT_EQ(dst_.Read("mine.txt"), "only here");
  if (::geteuid() != 0) {
    dst_.Write("ro/keep.txt", "x");
    fs::permissions(dst_.path() / "ro", fs::perms(0555));
    e.items.back().item_id = "ro/new.txt";
    Result<EnvelopeApplyReport> ro = ApplyEnvelope(
        dst_.path(), e, {.policy = MergePolicy::kCloudPreferred, .decisions = {}, .now_ms = 9100});
    ASSERT_TRUE(ro.ok());
    EXPECT_EQ(Statuses(*ro).at("ro/new.txt"), "new/failed");
  }
}

TEST_F(EnvelopeApplyTest, AnEnvelopeNeverWritesThroughASymlinkInTheFolder) {
  Dir outside;
  fs::create_directory_symlink(outside.path(), dst_.path() / "out");
  const Envelope e = WithExtraItem("out/escaped.txt");
  Result<EnvelopeApplyReport> r = ApplyEnvelope(
      dst_.path(), e, {.policy = MergePolicy::kCloudPreferred, .decisions = {}, .now_ms = 9000});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Statuses(*r).at("out/escaped.txt"), "new/failed");
  EXPECT_TRUE(fs::is_empty(outside.path()));
}

TEST_F(EnvelopeApplyTest, AnEnvelopeNeverWritesThroughASymlinkedParentAtAnyDepth) {
  for (const std::string parent : {"p", "d1/p", "d1/d2/p"}) {
    SCOPED_TRACE(parent);
    Dir outside;
    fs::create_directories((dst_.path() / parent).parent_path());
    fs::create_directory_symlink(outside.path(), dst_.path() / parent);
    const Envelope e = WithExtraItem(parent + "/new/escaped.txt");
    Result<EnvelopeApplyReport> r = ApplyEnvelope(
        dst_.path(), e, {.policy = MergePolicy::kCloudPreferred, .decisions = {}, .now_ms = 9000});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Statuses(*r).at(parent + "/new/escaped.txt"), "new/failed");
    for (const auto& item : r->items) {
      if (item.item_id == parent + "/new/escaped.txt") {
        EXPECT_EQ(item.error->code, SyncCode::kApplyFailed);
        EXPECT_EQ(item.error->category, Category::kConflict);
      }
    }
    EXPECT_TRUE(fs::is_empty(outside.path()));
    fs::remove_all(dst_.path() / "d1");
    fs::remove(dst_.path() / "p");
  }
}

TEST_F(EnvelopeApplyTest, AnEnvelopeNeverWritesIntoHxNorThroughASymlinkedArchive) {
  Dir outside;
  fs::create_directories(dst_.path() / ".hx");
  fs::create_directory_symlink(outside.path(), dst_.path() / ".hx/archive");
  const Envelope e = WithExtraItem(".hx/evil.txt");
  // local_preferred: the envelope's conflict.txt would be written into the
  // archive; cloud_preferred: the folder's would be moved there.
  std::int64_t now = 9000;
  for (const MergePolicy policy : {MergePolicy::kLocalPreferred, MergePolicy::kCloudPreferred}) {
    SCOPED_TRACE(MergePolicyName(policy));
    Result<EnvelopeApplyReport> r =
        ApplyEnvelope(dst_.path(), e, {.policy = policy, .decisions = {}, .now_ms = now += 100});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Statuses(*r).at(".hx/evil.txt"), "new/failed");
    EXPECT_EQ(Statuses(*r).at("conflict.txt"), "conflict/failed");
    EXPECT_TRUE(fs::is_empty(outside.path()));
    EXPECT_FALSE(fs::exists(dst_.path() / ".hx/evil.txt"));
    EXPECT_EQ(dst_.Read("conflict.txt"), "local version");
  }
}

TEST_F(EnvelopeApplyTest, AContentHashThatDoesNotMatchIsAFailedItemNeverWritten) {
  Envelope e = envelope_;
  for (EnvelopeItem& item : e.items) {
    if (item.item_id == "new.txt") item.content["data"] = EncodeBase64("tampered");
  }
  Result<EnvelopeApplyReport> r = ApplyEnvelope(
      dst_.path(), e, {.policy = MergePolicy::kLocalPreferred, .decisions = {}, .now_ms = 9000});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Statuses(*r).at("new.txt"), "new/failed");
  EXPECT_FALSE(fs::exists(dst_.path() / "new.txt"));
  EXPECT_EQ(r->summary.failed, 1u);
}

TEST_F(EnvelopeApplyTest, TheReportIsSavedAsCanonicalJson) {
  Result<EnvelopeApplyReport> r = Apply(MergePolicy::kCloudPreferred);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->report_file, ".hx/reports/envelope_apply_9000.json");
  EXPECT_EQ(dst_.Read(*r->report_file), *WriteCanonicalJson(r->ToJson()));
}

TEST_F(EnvelopeApplyTest, EveryApplyReportMatchesItsSchema) {
  constexpr const char* kSchema = "schemas/envelope_apply_report.schema.json";
  Result<EnvelopeApplyReport> waiting = Apply(MergePolicy::kManualPerItem);
  ASSERT_TRUE(waiting.ok());
  EXPECT_TRUE(ValidateAgainstSchema(waiting->ToJson(), kSchema));
  Envelope e = envelope_;
  e.items.front().content["data"] = EncodeBase64("tampered");
  Result<EnvelopeApplyReport> partial = ApplyEnvelope(
      dst_.path(), e, {.policy = MergePolicy::kLocalPreferred, .decisions = {}, .now_ms = 9500});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->outcome, "partial");
  EXPECT_TRUE(ValidateAgainstSchema(partial->ToJson(), kSchema));
  Result<EnvelopeApplyReport> applied = Apply(MergePolicy::kCloudPreferred);
  ASSERT_TRUE(applied.ok());
  EXPECT_TRUE(ValidateAgainstSchema(applied->ToJson(), kSchema));
}

}  // namespace
}  // namespace hx
