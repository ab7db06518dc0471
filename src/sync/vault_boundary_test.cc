// The vault boundary: a pull (and link, and an envelope apply) never writes
// outside the vault through a symlinked parent directory — one the scan never
// looked at (hidden by .hxignore, created after the scan) or one swapped in
// while the pull runs, at any depth — and never writes into .hx/ from a
// synced path. The affected items fail (KC_SYNC_APPLY_FAILED naming the path)
// or are skipped; the others are applied.
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "meta/head.h"
#include "meta/snapshot.h"
#include "os/env.h"
#include "repo/object_codec.h"
#include "sync/apply.h"
#include "sync/archive.h"
#include "sync/fetcher.h"
#include "sync/local_state.h"
#include "sync/session.h"
#include "sync/uploader.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Everything under `dir` (relative paths), to prove an outside folder is
// untouched.
std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    out.push_back(it->path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Replaces the vault directory `victim` by a symlink to `outside` (the real
// directory is renamed to `moved`, inside the vault): what an attacker who
// can write in the vault does while a pull runs.
void SwapForSymlink(const fs::path& victim, const fs::path& moved, const fs::path& outside) {
  fs::rename(victim, moved);
  fs::create_directory_symlink(outside, victim);
}

// An Env that runs `action` once, just before its Nth call (counting every
// call from Arm), then forwards the call: a race at one exact point,
// deterministic (no threads, no timing).
class RaceEnv final : public EnvWrapper {
 public:
  RaceEnv() : EnvWrapper(Env::Default()) {}

  void Arm(std::uint64_t nth, std::function<void()> action) {
    nth_ = nth;
    calls_ = 0;
    armed_ = true;
    action_ = std::move(action);
  }
  void Disarm() { armed_ = false; }
  std::uint64_t calls() const { return calls_; }
  bool fired() const { return fired_; }
  bool walk = false;

  int Open(int d, const char* p, int f, mode_t m, int* fd) override {
    Tick();
    return EnvWrapper::Open(d, p, f, m, fd);
  }
  int OpenBeneath(int d, const char* p, int f, mode_t m, int* fd) override {
    Tick();
    // walk: as on a kernel without openat2.
    return walk ? OpenBeneathByWalk(d, p, f, m, fd) : EnvWrapper::OpenBeneath(d, p, f, m, fd);
  }
  int Write(int fd, const void* b, std::size_t n, std::size_t* w) override {
    Tick();
    return EnvWrapper::Write(fd, b, n, w);
  }
  int Fsync(int fd) override {
    Tick();
    return EnvWrapper::Fsync(fd);
  }
  int SyncFs(int fd) override {
    Tick();
    return EnvWrapper::SyncFs(fd);
  }
  int Futimens(int fd, const struct timespec t[2]) override {
    Tick();
    return EnvWrapper::Futimens(fd, t);
  }
  int StatAt(int d, const char* p, struct stat* st, int f) override {
    Tick();
    return EnvWrapper::StatAt(d, p, st, f);
  }
  int MkdirAt(int d, const char* p, mode_t m) override {
    Tick();
    return EnvWrapper::MkdirAt(d, p, m);
  }
  int UnlinkAt(int d, const char* p, int f) override {
    Tick();
    return EnvWrapper::UnlinkAt(d, p, f);
  }
  int RenameAt(int od, const char* op, int nd, const char* np, unsigned f) override {
    Tick();
    return EnvWrapper::RenameAt(od, op, nd, np, f);
  }
  int LinkAt(int od, const char* op, int nd, const char* np) override {
    Tick();
    return EnvWrapper::LinkAt(od, op, nd, np);
  }
  int SymlinkAt(const char* t, int d, const char* p) override {
    Tick();
    return EnvWrapper::SymlinkAt(t, d, p);
  }
  int ReadDir(int d, std::vector<DirEntry>* e) override {
    Tick();
    return EnvWrapper::ReadDir(d, e);
  }

 private:
  void Tick() {
    if (!armed_) return;
    if (++calls_ == nth_ && action_) {
      fired_ = true;
      action_();
    }
  }
  bool armed_ = false;
  bool fired_ = false;
  std::uint64_t nth_ = 0;
  std::uint64_t calls_ = 0;
  std::function<void()> action_;
};

const PullItem* FindItem(const PullReport& report, const std::string& path) {
  for (const PullItem& item : report.items) {
    if (item.path == path) return &item;
  }
  return nullptr;
}

// The item was not applied: failed with KC_SYNC_APPLY_FAILED naming it, or
// skipped as a local change.
void ExpectRefused(const PullReport& report, const std::string& path) {
  const PullItem* item = FindItem(report, path);
  ASSERT_NE(item, nullptr) << path;
  if (item->status == "failed") {
    ASSERT_TRUE(item->error.has_value());
    EXPECT_EQ(item->error->code, SyncCode::kApplyFailed) << item->error->ToShortString();
    EXPECT_THAT(item->error->details.at("path"), HasSubstr(path.substr(0, path.find('/'))));
  } else {
    EXPECT_EQ(item->status, "skipped_local_change") << path;
  }
}

class VaultBoundaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MakeFolderStoreFixture();
    a_ = std::make_unique<Device>(*store_, "a");
    HX_ASSERT_OK(a_->Init(Tick()));
  }

  std::int64_t Tick() { return now_ += 1000; }

  std::unique_ptr<Device> Joined(const std::string& name) {
    auto d = std::make_unique<Device>(*store_, name);
    auto init = d->Init(Tick());
    EXPECT_TRUE(init.ok()) << init.error().ToShortString();
    return d;
  }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_;
  TempDir outside_;
  std::int64_t now_ = 1'700'000'000'000;
};

// The parent paths of the three depths: a symlink at "p", "d1/p", "d1/d2/p".
const std::vector<std::string> kParents = {"p", "d1/p", "d1/d2/p"};

TEST_F(VaultBoundaryTest, ASymlinkedParentHiddenByHxignoreIsNeverWrittenThrough) {
  for (const std::string& parent : kParents) {
    SCOPED_TRACE(parent);
    SetUp();
    a_->Write("top.txt", "top");
    a_->Write(parent + "/f.txt", "from a");
    a_->Write(parent + "/deeper/g.txt", "from a");
    HX_ASSERT_OK(a_->Push(Tick()));

    auto b = Joined("b");
    fs::create_directories((b->vault() / parent).parent_path());
    fs::create_directory_symlink(outside_.path(), b->vault() / parent);
    b->Write(".hxignore", ".hxignore\n/" + parent + "\n");
    Result<PullReport> pulled = b->Pull(Tick());
    ASSERT_TRUE(pulled.ok()) << pulled.error().ToShortString();
    EXPECT_EQ(pulled->outcome, "partial");
    ASSERT_TRUE(pulled->error.has_value());
    EXPECT_EQ(pulled->error->code, SyncCode::kApplyFailed);
    EXPECT_EQ(b->Read("top.txt"), "top");
    // The symlink itself is a local change; what lies beneath it fails,
    // naming the path and the symlinked directory.
    EXPECT_EQ(FindItem(*pulled, parent)->status, "skipped_local_change");
    for (const std::string& path :
         {parent + "/f.txt", parent + "/deeper", parent + "/deeper/g.txt"}) {
      const PullItem* item = FindItem(*pulled, path);
      ASSERT_NE(item, nullptr) << path;
      ASSERT_EQ(item->status, "failed") << path;
      EXPECT_EQ(item->error->code, SyncCode::kApplyFailed);
      EXPECT_EQ(item->error->category, Category::kConflict);
      EXPECT_EQ(item->error->details.at("path"), (b->vault() / path).string());
      EXPECT_THAT(item->error->message, HasSubstr("symlink"));
    }
    EXPECT_TRUE(Listing(outside_.path()).empty())
        << ::testing::PrintToString(Listing(outside_.path()));
    EXPECT_TRUE(fs::is_symlink(b->vault() / parent));
  }
}

TEST_F(VaultBoundaryTest, ASymlinkedParentCreatedAfterTheScanIsNeverWrittenThrough) {
  for (const std::string& parent : kParents) {
    SCOPED_TRACE(parent);
    SetUp();
    auto b = Joined("b");
    a_->Write("top.txt", "top");
    a_->Write(parent + "/f.txt", "from a");
    a_->Write(parent + "/deeper/g.txt", "from a");
    HX_ASSERT_OK(a_->Push(Tick()));

    // Between b's scan and its apply, the parent appears as a symlink.
    SyncOptions o = b->options(Tick());
    const fs::path vault = b->vault();
    const fs::path outside = outside_.path();
    o.checkpoint = [&](std::string_view point) {
      if (point != "pull.before_apply") return;
      fs::create_directories((vault / parent).parent_path());
      fs::create_directory_symlink(outside, vault / parent);
    };
    Result<PullReport> pulled = SyncPull(vault, o);
    ASSERT_TRUE(pulled.ok()) << pulled.error().ToShortString();
    EXPECT_EQ(pulled->outcome, "partial");
    ASSERT_TRUE(pulled->error.has_value());
    EXPECT_EQ(pulled->error->code, SyncCode::kApplyFailed);
    EXPECT_EQ(b->Read("top.txt"), "top");
    for (const std::string& path :
         {parent, parent + "/f.txt", parent + "/deeper", parent + "/deeper/g.txt"}) {
      ExpectRefused(*pulled, path);
    }
    // The file items fail naming a symlink.
    const PullItem* f = FindItem(*pulled, parent + "/f.txt");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(f->status, "failed");
    EXPECT_EQ(f->error->category, Category::kConflict);
    EXPECT_THAT(f->error->message, HasSubstr("symlink"));
    EXPECT_TRUE(Listing(outside_.path()).empty())
        << ::testing::PrintToString(Listing(outside_.path()));
  }
}

// A pull whose parent directory (at depth 1, 2 or 3) is swapped for a
// symlink at every single file-system call of its apply phase, one run per
// call: whatever the point, nothing lands outside the vault, every item at
// or below the swapped directory is applied into the real (moved) directory
// or refused with a code, and the others are applied.
TEST_F(VaultBoundaryTest, AParentSwappedForASymlinkMidPullAtEveryPointIsNeverWrittenThrough) {
  for (const bool walk : {false, true}) {
    for (const std::string& victim :
         {std::string("d1"), std::string("d1/d2"), std::string("d1/d2/d3")}) {
      SCOPED_TRACE(victim + (walk ? " (O_NOFOLLOW walk)" : " (openat2)"));
      SetUp();
      a_->Write("top.txt", "top");
      a_->Write("d1/d2/d3/f.txt", "f");
      a_->Write("d1/d2/d3/g.txt", "g");
      a_->Write("d1/d2/d3/sub/h.txt", "h");
      HX_ASSERT_OK(a_->Push(Tick()));

      // One pull by a new device whose vault already has `victim` (a real,
      // scanned directory); `arm` is called at the start of the apply.
      auto pull = [&](RaceEnv& env, const std::function<void(const fs::path&)>& arm,
                      std::unique_ptr<Device>& b) {
        b = Joined("b");
        fs::create_directories(b->vault() / victim);
        SyncOptions o = b->options(Tick());
        o.env = &env;
        const fs::path vault = b->vault();
        o.checkpoint = [&](std::string_view point) {
          if (point == "pull.before_apply") arm(vault);
          if (point == "pull.after_apply") env.Disarm();
        };
        return SyncPull(vault, o);
      };

      // An unarmed run counts the calls of the apply phase.
      RaceEnv counter;
      counter.walk = walk;
      std::unique_ptr<Device> b0;
      Result<PullReport> counted = pull(
          counter, [&](const fs::path&) { counter.Arm(~std::uint64_t{0}, nullptr); }, b0);
      HX_ASSERT_OK(counted);
      const std::uint64_t apply_calls = counter.calls();
      ASSERT_GT(apply_calls, 10u);
      std::cout << "[ swap sweep ] " << victim << ": " << apply_calls << " calls in the apply\n";

      bool refused_any = false;
      for (std::uint64_t nth = 1; nth <= apply_calls; ++nth) {
        SCOPED_TRACE("swap before call " + std::to_string(nth));
        TempDir outside;
        RaceEnv env;
        env.walk = walk;
        std::unique_ptr<Device> b;
        fs::path moved;
        Result<PullReport> pulled = pull(
            env,
            [&](const fs::path& vault) {
              moved = vault / "moved-away";
              env.Arm(nth, [&, vault] { SwapForSymlink(vault / victim, moved, outside.path()); });
            },
            b);
        EXPECT_TRUE(Listing(outside.path()).empty())
            << ::testing::PrintToString(Listing(outside.path()));
        ASSERT_TRUE(pulled.ok()) << pulled.error().ToShortString();
        ASSERT_TRUE(env.fired());
        EXPECT_EQ(b->Read("top.txt"), "top");
        for (const PullItem& item : pulled->items) {
          const bool affected = item.path == victim || item.path.starts_with(victim + "/");
          if (!affected) {
            EXPECT_EQ(item.status, "applied") << item.path;
          } else if (item.status == "applied") {
            // Applied through the descriptor opened before the swap: into the
            // real directory, which now lives at moved-away/.
            if (item.path != victim && item.action == "write") {
              EXPECT_TRUE(fs::exists(moved.string() + item.path.substr(victim.size())))
                  << item.path;
            }
          } else {
            refused_any = true;
            ExpectRefused(*pulled, item.path);
          }
        }
      }
      // At some points the swap came before the writes below it: refused.
      EXPECT_TRUE(refused_any);
    }
  }
}

// A hostile device (anything holding the vault's key) publishes a snapshot
// whose root tree lists ".hx" (and ".hx/config.json"), written with the
// repo's own tree writer and the uploader: the pulling device refuses the
// whole snapshot naming ".hx", and nothing is written into its .hx/.
TEST_F(VaultBoundaryTest, ARemoteTreeEntryNamedHxIsRefusedWhateverAnotherDeviceSent) {
  a_->Write("ok.txt", "ok");
  HX_ASSERT_OK(a_->Push(Tick()));
  auto b = Joined("b");
  HX_ASSERT_OK(b->Pull(Tick()));
  const std::string config_before = b->Read(".hx/config.json");
  {
    Result<Session> s = OpenSession(a_->vault(), a_->options(Tick()));
    ASSERT_TRUE(s.ok()) << s.error().ToShortString();
    Result<HeadState> head = ReadHead(*s->store, s->ctx);
    ASSERT_TRUE(head.ok() && head->head.has_value());
    const VersionVector vv({{s->node_id(), 99}});
    auto entry = [&](EntryKind kind) {
      Entry e;
      e.kind = kind;
      e.vv = vv;
      return e;
    };
    EntryMap hostile = {{".hx", entry(EntryKind::kDir)},
                        {".hx/config.json", entry(EntryKind::kFile)},  // empty: no chunk
                        {".hx/evil", entry(EntryKind::kFile)},
                        {"new.txt", entry(EntryKind::kFile)}};
    ObjectUploader uploader(*s->store, s->ctx, *s->index);
    BuildTreesOptions tree_options;
    tree_options.sink = [&uploader](const ObjectId& id, std::string bytes) {
      return uploader.Add(
          ObjectKind::kTree, id,
          std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    };
    Result<BuiltTrees> trees = BuildTrees(hostile, TreeIdFn(s->ctx), tree_options);
    ASSERT_TRUE(trees.ok()) << trees.error().ToShortString();
    HX_ASSERT_OK(uploader.Flush());
    Snapshot snapshot;
    snapshot.created_ms = Tick();
    snapshot.root = trees->root;
    snapshot.snapshot_id = SnapshotId(trees->root, snapshot.created_ms);
    snapshot.vault_id = s->ctx.vault_id;
    snapshot.parents = {head->head->snapshot_id};
    snapshot.author = s->node_id();
    snapshot.seq = head->head->seq + 1;
    snapshot.key_fingerprint = s->config.key_fingerprint;
    snapshot.added = uploader.added();
    HX_ASSERT_OK(WriteSnapshot(*s->store, s->ctx, snapshot));
    HX_ASSERT_OK(PublishHead(*s->store, s->ctx, *head,
                             Head{s->ctx.vault_id, snapshot.seq, snapshot.snapshot_id}));
  }
  Result<PullReport> pulled = b->Pull(Tick());
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(pulled.error().category, Category::kCorrupt);
  EXPECT_THAT(pulled.error().message, HasSubstr("\".hx\""));
  EXPECT_EQ(pulled.error().details.at("path"), ".hx");
  EXPECT_FALSE(b->Exists(".hx/evil"));
  EXPECT_FALSE(b->Exists("new.txt"));
  EXPECT_EQ(b->Read(".hx/config.json"), config_before);
  EXPECT_EQ(b->Read("ok.txt"), "ok");
}

// The last guard: whatever a plan says, the applier never creates,
// replaces or links anything in .hx/ from a synced path.
TEST_F(VaultBoundaryTest, TheApplierNeverWritesIntoHxFromASyncedPath) {
  auto b = Joined("b");
  const auto before = Listing(b->vault() / ".hx");
  Result<Session> s = OpenSession(b->vault(), b->options(Tick()));
  ASSERT_TRUE(s.ok()) << s.error().ToShortString();
  ObjectFetcher fetcher(*s->store, s->ctx, *s->index);
  ScanResult scan;
  StatCache cache;
  const ApplyInput input{.vault = b->vault(),
                         .staging = s->local.staging_dir(),
                         .scan = &scan,
                         .cache = &cache,
                         .checkpoint = nullptr};
  std::vector<PlannedItem> items;
  EntryMap remote;  // what the items point at (planner.h)
  auto add = [&](const std::string& path, EntryKind kind) {
    Entry& entry = remote[path];
    entry.kind = kind;
    if (kind == EntryKind::kSymlink) entry.symlink_target = "/tmp";
    items.push_back({path, PullAction::kTakeRemote, &NoEntry(), &entry});
  };
  add(".hx", EntryKind::kTombstone);
  add(".hx/archive", EntryKind::kDir);
  add(".hx/config.json", EntryKind::kSymlink);
  add(".hx/evil", EntryKind::kFile);  // empty: no chunk to fetch
  add(".hx/staging/x", EntryKind::kFile);
  add("ok.txt", EntryKind::kFile);
  std::vector<AppliedItem> applied = ApplyPlan(input, items, fetcher);
  ASSERT_EQ(applied.size(), items.size());
  for (std::size_t i = 0; i + 1 < items.size(); ++i) {
    SCOPED_TRACE(items[i].path);
    ASSERT_EQ(applied[i].status, ApplyStatus::kFailed);
    EXPECT_EQ(applied[i].error->code, SyncCode::kApplyFailed);
    EXPECT_EQ(applied[i].error->category, Category::kInvalidInput);
    EXPECT_THAT(applied[i].error->message, HasSubstr(".hx"));
  }
  EXPECT_EQ(applied.back().status, ApplyStatus::kApplied);
  EXPECT_TRUE(b->Exists("ok.txt"));
  // Nothing was created, replaced or removed in .hx/ (the index's own
  // journal files aside).
  auto without_index = [](std::vector<std::string> names) {
    std::erase_if(names, [](const std::string& n) { return n.starts_with("index.sqlite"); });
    return names;
  };
  EXPECT_EQ(without_index(Listing(b->vault() / ".hx")), without_index(before));
  EXPECT_FALSE(fs::is_symlink(b->vault() / ".hx/config.json"));
  EXPECT_TRUE(fs::is_regular_file(b->vault() / ".hx/config.json"));
}

}  // namespace
}  // namespace hx::testing
