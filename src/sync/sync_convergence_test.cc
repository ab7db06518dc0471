// The convergence proof (seed 004, "property tests for reconciliation
// logic"): random histories of 2-5 devices creating, editing, deleting,
// renaming and chmod-ing files and syncing in random orders through a folder
// store with keep_both — and a store that rolls back: its head.json restored
// to an older copy (from a backup), after which devices keep syncing (one
// that saw a newer head is refused as for a replay, and accepts with
// `hx sync repair`, as its user would). After a final round of syncs:
//   - every device holds exactly the same folder;
//   - every version any device wrote is still live (under its name or a
//     conflict name) unless a device that held it replaced or deleted it;
//   - a deleted file never comes back unless another device acted on that
//     version concurrently (a chmod or rename the deleting device had not
//     seen);
// and, at the planner level, merging entries is commutative, idempotent and
// associative (the surviving versions and the name's winner do not depend on
// the order of merges).
//
// HX_CONVERGENCE_HISTORIES=<n> sets how many histories the history property
// runs (default 1000; the soak is 100000) and prints the count.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include "sync/mass_delete.h"
#include "sync/planner.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

// ---- Running a property a chosen number of times --------------------------

int HistoriesToRun() {
  const char* env = std::getenv("HX_CONVERGENCE_HISTORIES");
  if (env == nullptr || *env == '\0') return 1000;
  const long n = std::strtol(env, nullptr, 10);
  return n > 0 ? static_cast<int>(n) : 1000;
}

template <typename Testable>
void CheckTimes(Testable&& testable, int times) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = times;
  // The default run (the test command, CI) uses a fixed seed so that it is
  // deterministic; RC_PARAMS (e.g. seed=N) or the soak explore others. (Every
  // test binary now sets RC_PARAMS=seed=20261122 when the environment has
  // none, base/rc_default_seed_test_util.cc: the same seed, through
  // rapidcheck's configuration; the soak explores others with RC_PARAMS.)
  if (std::getenv("RC_PARAMS") == nullptr && std::getenv("HX_CONVERGENCE_HISTORIES") == nullptr) {
    params.seed = 20261122;
  }
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream ss;
    rc::detail::printResultMessage(result, ss);
    FAIL() << ss.str();
  }
  rc::detail::printResultMessage(result, std::cout);
  std::cout << "\n[ convergence ] " << metadata.id << ": "
            << result.template get<rc::detail::SuccessResult>().numSuccess
            << " histories passed\n";
}

// ---- The history model -----------------------------------------------------

// Files are written at these paths. "d/s" is a file in some histories and
// the directory of "d/s/g.txt" in others: a write replaces whatever is in
// its way (a user replacing a directory by a file, or a file by a
// directory), and the files it removes count as deleted by that user.
const std::vector<std::string> kPaths = {"a.txt",   "b.txt", "d/c.txt",
                                         "d/e.txt", "d/s",   "d/s/g.txt"};

enum class OpKind { kWrite, kDelete, kRename, kChmod, kRemoveDir, kPush, kPull, kRollback };

struct Op {
  OpKind kind = OpKind::kWrite;
  int device = 0;
  int path = 0;
  int path2 = 0;
};

std::ostream& operator<<(std::ostream& os, const Op& op) {
  static const char* names[] = {"write", "delete", "rename", "chmod",
                                "rm-r d", "push",   "pull",   "rollback"};
  if (op.kind == OpKind::kRollback) {
    return os << "store: head.json restored to published head #" << op.path << " (mod count)";
  }
  os << "dev" << op.device << " " << names[static_cast<int>(op.kind)] << " " << kPaths[op.path];
  if (op.kind == OpKind::kRename) os << " -> " << kPaths[op.path2];
  return os;
}

struct History {
  int devices = 2;
  std::vector<Op> ops;
};

std::ostream& operator<<(std::ostream& os, const History& h) {
  os << h.devices << " devices:";
  for (const Op& op : h.ops) os << "\n  " << op;
  return os;
}

// Every choice is drawn from its whole range (rapidcheck scales integer
// ranges with the size, which would make nearly every op "dev0 ... a.txt").
// `rollback_weight`: how often the store restores an older head.json, and
// `push_weight` how often a device pushes, against a weight of 12 for the
// other ops. A rollback needs two published heads: many pushes make many.
rc::Gen<History> GenHistory(int rollback_weight = 3, int push_weight = 3) {
  const auto devices_gen = rc::gen::resize(100, rc::gen::inRange(2, 6));
  return rc::gen::mapcat(devices_gen, [rollback_weight, push_weight](int devices) {
    const auto op = rc::gen::resize(
        100,
        rc::gen::build<Op>(
            rc::gen::set(&Op::kind, rc::gen::weightedElement<OpKind>({{5, OpKind::kWrite},
                                                                      {2, OpKind::kDelete},
                                                                      {1, OpKind::kRename},
                                                                      {1, OpKind::kChmod},
                                                                      {1, OpKind::kRemoveDir},
                                                                      {push_weight, OpKind::kPush},
                                                                      {2, OpKind::kPull},
                                                                      {rollback_weight,
                                                                       OpKind::kRollback}})),
            rc::gen::set(&Op::device, rc::gen::inRange(0, devices)),
            rc::gen::set(&Op::path, rc::gen::inRange(0, static_cast<int>(kPaths.size()))),
            rc::gen::set(&Op::path2, rc::gen::inRange(0, static_cast<int>(kPaths.size())))));
    return rc::gen::mapcat(rc::gen::resize(100, rc::gen::inRange(1, 17)), [devices, op](int n) {
      return rc::gen::build<History>(
          rc::gen::set(&History::devices, rc::gen::just(devices)),
          rc::gen::set(&History::ops, rc::gen::container<std::vector<Op>>(n, op)));
    });
  });
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool IsExecutable(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0;
}

// path -> "dir" or "<content>" (+ " +x"): what must be identical everywhere.
std::map<std::string, std::string> Folder(const fs::path& vault) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(vault); it != fs::end(it); ++it) {
    const std::string rel = fs::relative(it->path(), vault).generic_string();
    if (rel == ".hx") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory()) {
      out[rel] = "dir";
    } else {
      out[rel] = ReadFile(it->path()) + (IsExecutable(it->path()) ? " +x" : "");
    }
  }
  return out;
}

// A file's content without its mode mark.
std::string Plain(const std::string& what) {
  return what.ends_with(" +x") ? what.substr(0, what.size() - 3) : what;
}

// The contents of the files of a folder (without mode marks).
std::set<std::string> Contents(const fs::path& vault) {
  std::set<std::string> out;
  for (const auto& [path, what] : Folder(vault)) {
    if (what != "dir") out.insert(Plain(what));
  }
  return out;
}

struct DeleteRecord {
  int device;
  int op;
  std::string path;
  std::string content;
};

// A chmod or rename of a file holding `content`, or a conflict copy of it
// that a merge made: another device that made the same copy concurrently
// with a deletion of this one (the same name and content everywhere) keeps
// it, as it keeps an edit concurrent with a delete.
struct ActRecord {
  int device;
  int op;
  std::string content;
};

class HistoryRun {
 public:
  explicit HistoryRun(const History& h) : history_(h) {
    store_ = MakeFolderStoreFixture();
    for (int i = 0; i < h.devices; ++i) {
      devices_.push_back(std::make_unique<Device>(*store_, "dev" + std::to_string(i), i + 1));
      known_.emplace_back();
      Result<InitReport> init = devices_.back()->Init(Tick(), /*encrypted=*/false);
      RC_ASSERT(init.ok());
    }
  }

  // How many conflicts keep_both resolved along the way.
  std::size_t resolved() const { return resolved_; }
  // How many times a file replaced a directory or a directory a file.
  std::size_t replaced() const { return replaced_; }
  // How many times the store's head was restored to an older copy, and how
  // many repairs devices ran to accept one.
  std::size_t rollbacks() const { return rollbacks_; }
  std::size_t repairs() const { return repairs_; }

  // Plays the history, then the final round (everyone publishes, merging
  // first; then everyone takes the last head), then checks.
  void Run() {
    for (std::size_t i = 0; i < history_.ops.size(); ++i) {
      RecordSeen(static_cast<int>(i), history_.ops[i].device);
      Apply(static_cast<int>(i), history_.ops[i]);
    }
    // The final round's syncs are ops too (numbered after the history's).
    // The store no longer lies during it: a rollback still waiting for a
    // publish is dropped.
    armed_rollback_.reset();
    int index = static_cast<int>(history_.ops.size());
    for (bool push : {true, false}) {
      for (int d = 0; d < history_.devices; ++d, ++index) {
        RecordSeen(index, d);
        known_[d].insert(index);
        push ? Push(d, index) : Pull(d, index);
      }
    }
    Check();
  }

 private:
  // Records, before op `index`, which earlier ops its device had seen.
  void RecordSeen(int index, int device) {
    for (int seen : known_[device]) seen_at_.insert({index, seen});
  }

  fs::path At(int device, const std::string& path) const { return devices_[device]->vault() / path; }

  bool IsFile(int device, const std::string& path) const {
    std::error_code ec;
    return fs::is_regular_file(At(device, path), ec);
  }

  void Supersede(int device, const std::string& path) {
    if (IsFile(device, path)) superseded_.insert(ReadFile(At(device, path)));
  }

  void RecordDelete(int device, int index, const std::string& path) {
    deletes_.push_back({device, index, path, ReadFile(At(device, path))});
    Supersede(device, path);
  }

  // Makes room for a file at `path`: a file where one of its directories
  // must be, or a directory where it goes, is removed (its files deleted).
  void ClearWay(int device, int index, const std::string& path) {
    std::error_code ec;
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string ancestor = path.substr(0, slash);
      if (!IsFile(device, ancestor)) continue;
      ++replaced_;
      RecordDelete(device, index, ancestor);
      fs::remove(At(device, ancestor), ec);
    }
    if (!fs::is_directory(fs::symlink_status(At(device, path), ec))) return;
    ++replaced_;
    for (const auto& [p, what] : Folder(devices_[device]->vault())) {
      if (p.starts_with(path + "/") && IsFile(device, p)) RecordDelete(device, index, p);
    }
    fs::remove_all(At(device, path), ec);
  }

  void Apply(int index, const Op& op) {
    const std::string& path = kPaths[op.path];
    const fs::path full = At(op.device, path);
    std::error_code ec;
    known_[op.device].insert(index);
    switch (op.kind) {
      case OpKind::kWrite: {
        ClearWay(op.device, index, path);
        Supersede(op.device, path);
        const std::string content = "v" + std::to_string(index) + " by dev" +
                                    std::to_string(op.device);
        fs::create_directories(full.parent_path(), ec);
        std::ofstream(full, std::ios::binary | std::ios::trunc) << content;
        written_.insert(content);
        break;
      }
      case OpKind::kDelete:
        if (!IsFile(op.device, path)) break;
        RecordDelete(op.device, index, path);
        fs::remove(full, ec);
        break;
      case OpKind::kRename: {
        const std::string& to = kPaths[op.path2];
        if (!IsFile(op.device, path) || op.path == op.path2) break;
        // A file cannot move beneath itself or over a directory above it.
        if (to.starts_with(path + "/") || path.starts_with(to + "/")) break;
        const std::string content = ReadFile(full);
        acts_.push_back({op.device, index, content});
        ClearWay(op.device, index, to);
        Supersede(op.device, to);
        fs::create_directories(At(op.device, to).parent_path(), ec);
        fs::rename(full, At(op.device, to), ec);
        break;
      }
      case OpKind::kChmod:
        if (!IsFile(op.device, path)) break;
        acts_.push_back({op.device, index, ReadFile(full)});
        fs::permissions(full, fs::perms::owner_exec,
                        IsExecutable(full) ? fs::perm_options::remove : fs::perm_options::add, ec);
        break;
      case OpKind::kRemoveDir:
        // Everything under d/ (conflict copies too) is deleted by the user.
        for (const auto& [p, what] : Folder(devices_[op.device]->vault())) {
          if (!p.starts_with("d/") || !IsFile(op.device, p)) continue;
          RecordDelete(op.device, index, p);
        }
        fs::remove_all(At(op.device, "d"), ec);
        break;
      case OpKind::kPush:
        Push(op.device, index);
        break;
      case OpKind::kPull:
        Pull(op.device, index);
        break;
      case OpKind::kRollback:
        RollBack(op.path);
        break;
    }
  }

  fs::path HeadFile() const { return fs::path(store_->TargetUri()) / "head.json"; }

  // The store's head.json restored to an earlier published copy: the store
  // now holds what that head held.
  // With fewer than two heads published yet, the rollback waits for the
  // next publish (which it then undoes, at least in part).
  void RollBack(int which) {
    if (heads_.size() < 2) {
      armed_rollback_ = which;
      return;
    }
    const auto& [bytes, known] = heads_[static_cast<std::size_t>(which) % (heads_.size() - 1)];
    store_->Overwrite("head.json", bytes);
    store_known_ = known;
    ++rollbacks_;
  }

  // A push or pull refused because the head is older than one the device
  // saw, or lost: the user runs `hx sync repair`, then the sync again.
  template <typename Op>
  auto WithRepair(int d, Op op) {
    auto r = op();
    if (!r.ok() && r.error().code == SyncCode::kStateFailed &&
        r.error().message.find("hx sync repair") != std::string::npos) {
      Result<RepairReport> repaired =
          SyncRepair(devices_[d]->vault(), devices_[d]->options(Tick()));
      if (!repaired.ok()) {
        RC_FAIL("repair on dev" + std::to_string(d) + ": " + repaired.error().ToShortString());
      }
      ++repairs_;
      r = op();
    }
    return r;
  }

  // The conflict copies a merge made (sync op `index` on device d).
  void NoteCopies(int d, int index, const std::vector<PullResolution>& resolutions) {
    resolved_ += resolutions.size();
    for (const PullResolution& resolution : resolutions) {
      if (resolution.renamed_to && IsFile(d, *resolution.renamed_to)) {
        acts_.push_back({d, index, ReadFile(At(d, *resolution.renamed_to))});
      }
    }
  }

  void Push(int d, int index) {
    SyncOptions o = devices_[d]->options(Tick());
    o.auto_merge = MergePolicy::kKeepBoth;
    o.allow_mass_delete = true;
    Result<PushReport> r = WithRepair(d, [&] { return SyncPush(devices_[d]->vault(), o); });
    if (!r.ok()) RC_FAIL("push on dev" + std::to_string(d) + ": " + r.error().ToShortString());
    if (r->merged) {
      known_[d].insert(store_known_.begin(), store_known_.end());
      NoteCopies(d, index, r->merged->resolutions);
    }
    if (r->outcome == "published") {
      store_known_.insert(known_[d].begin(), known_[d].end());
      heads_.emplace_back(ReadFile(HeadFile()), store_known_);
      if (armed_rollback_ && heads_.size() >= 2) {
        const int which = *armed_rollback_;
        armed_rollback_.reset();
        RollBack(which);
      }
    }
  }

  void Pull(int d, int index) {
    SyncOptions o = devices_[d]->options(Tick());
    o.auto_merge = MergePolicy::kKeepBoth;
    o.allow_mass_delete = true;
    Result<PullReport> r = WithRepair(d, [&] { return SyncPull(devices_[d]->vault(), o); });
    if (!r.ok()) RC_FAIL("pull on dev" + std::to_string(d) + ": " + r.error().ToShortString());
    if (r->error) RC_FAIL("pull on dev" + std::to_string(d) + ": " + r->error->ToShortString());
    known_[d].insert(store_known_.begin(), store_known_.end());
    NoteCopies(d, index, r->resolutions);
  }

  // Whether a delete and another device's act on the same version were
  // concurrent: neither device had seen the other op when it acted.
  bool Concurrent(const DeleteRecord& del, const ActRecord& act) const {
    if (act.device == del.device) return false;
    return seen_at_.count({del.op, act.op}) == 0 && seen_at_.count({act.op, del.op}) == 0;
  }

  void Check() {
    const auto first = Folder(devices_[0]->vault());
    for (int d = 1; d < history_.devices; ++d) {
      RC_ASSERT(Folder(devices_[d]->vault()) == first);
    }
    const std::set<std::string> live = Contents(devices_[0]->vault());
    for (const std::string& v : written_) {
      if (live.count(v) == 0 && superseded_.count(v) == 0) {
        RC_FAIL("version \"" + v + "\" was lost");
      }
    }
    for (const DeleteRecord& del : deletes_) {
      auto at = first.find(del.path);
      if (at == first.end()) continue;
      if (Plain(at->second) != del.content) continue;
      const bool excused = std::any_of(acts_.begin(), acts_.end(), [&](const ActRecord& act) {
        return act.content == del.content && Concurrent(del, act);
      });
      if (!excused) RC_FAIL("deleted file " + del.path + " (\"" + del.content + "\") came back");
    }
  }

  std::int64_t Tick() { return now_ += 1000; }

 private:
  const History& history_;
  std::unique_ptr<StoreFixture> store_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::set<int>> known_;  // ops each device has seen
  std::set<int> store_known_;         // ops the store's head includes
  std::set<std::pair<int, int>> seen_at_;  // (op, an op its device had seen)
  std::set<std::string> written_;
  std::set<std::string> superseded_;
  std::vector<DeleteRecord> deletes_;
  std::vector<ActRecord> acts_;
  std::size_t resolved_ = 0;
  std::size_t replaced_ = 0;
  // Every head.json published, with the ops it held.
  std::vector<std::pair<std::string, std::set<int>>> heads_;
  std::size_t rollbacks_ = 0;
  std::optional<int> armed_rollback_;
  std::size_t repairs_ = 0;
  std::int64_t now_ = 1'700'000'000'000;
};

// Divergences this property found are kept as named scenarios in
// sync_policy_test.cc (KeepBothConvergenceTest).
TEST(ConvergenceTest, DevicesWithKeepBothAlwaysConvergeAndLoseNothingEvenWhenTheStoreRollsBack) {
  CheckTimes(
      [] {
        const History history = *GenHistory();
        RC_TAG(history.devices);
        HistoryRun run(history);
        run.Run();
        RC_CLASSIFY(run.resolved() > 0, "resolved conflicts");
        RC_CLASSIFY(run.replaced() > 0, "a directory replaced by a file or back");
        RC_CLASSIFY(run.rollbacks() > 0, "the store's head rolled back");
        RC_CLASSIFY(run.repairs() > 0, "a rollback accepted with hx sync repair");
      },
      HistoriesToRun());
}

// The same property on histories where the store rolls back far more often
// (the first property rolls back in about 7% of its histories; this one in
// most): a third as many histories.
TEST(ConvergenceTest, DevicesConvergeAndLoseNothingWhenTheStoreRollsBackOften) {
  CheckTimes(
      [] {
        const History history = *GenHistory(/*rollback_weight=*/4, /*push_weight=*/10);
        RC_TAG(history.devices);
        HistoryRun run(history);
        run.Run();
        RC_CLASSIFY(run.rollbacks() > 0, "the store's head rolled back");
        RC_CLASSIFY(run.repairs() > 0, "a rollback accepted with hx sync repair");
      },
      std::max(1, HistoriesToRun() / 3));
}

// ---- The merge algebra of the planner -------------------------------------

// The merge algebra's paths: files only, none also a directory (entries
// are generated per path, without the tombstones a replaced directory
// leaves beneath a file).
const std::vector<std::string> kFilePaths = {"a.txt", "b.txt", "d/c.txt", "d/e.txt", "d/s/g.txt"};

const std::vector<std::string> kNodes = {std::string(32, '1'), std::string(32, '2'),
                                         std::string(32, '3')};

rc::Gen<Entry> GenEntry() {
  return rc::gen::apply(
      [](int kind, int content, bool exec, std::vector<int> counters) {
        Entry e;
        e.kind = kind == 0 ? EntryKind::kTombstone : kind == 1 ? EntryKind::kDir : EntryKind::kFile;
        if (e.kind == EntryKind::kFile) {
          ChunkRef c;
          c.id.fill(static_cast<std::uint8_t>(content));
          c.size = 7;
          e.chunks = {c};
          e.size = 7;
          e.executable = exec;
        }
        std::map<std::string, std::uint64_t> vv;
        for (std::size_t i = 0; i < counters.size() && i < kNodes.size(); ++i) {
          if (counters[i] > 0) vv[kNodes[i]] = static_cast<std::uint64_t>(counters[i]);
        }
        e.vv = VersionVector(std::move(vv));
        return e;
      },
      rc::gen::inRange(0, 4), rc::gen::inRange(0, 3), rc::gen::arbitrary<bool>(),
      rc::gen::container<std::vector<int>>(3, rc::gen::inRange(0, 4)));
}

PullAction Mirror(PullAction a) {
  if (a == PullAction::kTakeRemote) return PullAction::kKeepLocal;
  if (a == PullAction::kKeepLocal) return PullAction::kTakeRemote;
  return a;
}

// The versions that survive merging a set of versions, as keep_both keeps
// them: those no other version descends from (same content joined).
std::vector<Entry> Survivors(const std::vector<Entry>& versions) {
  std::vector<Entry> out;
  for (const Entry& v : versions) {
    bool placed = false;
    for (Entry& kept : out) {
      EntryMerge m = MergeEntries(kept, v);
      if (m.action == PullAction::kConflict) continue;
      kept = m.entry;
      placed = true;
      break;
    }
    if (!placed) out.push_back(v);
    // Absorb versions that the update now dominates or joins.
    for (std::size_t i = 0; i < out.size(); ++i) {
      for (std::size_t j = i + 1; j < out.size();) {
        EntryMerge m = MergeEntries(out[i], out[j]);
        if (m.action == PullAction::kConflict) {
          ++j;
          continue;
        }
        out[i] = m.entry;
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(j));
      }
    }
  }
  return out;
}

// The contents of a set of versions. (Their vectors may differ with the
// order: two concurrent deletions join into one tombstone whose vector names
// both, or one of them is first absorbed by a version that saw it; either
// way the same contents survive, which is what keep_both keeps.)
std::set<std::string> AsSet(const std::vector<Entry>& entries) {
  std::set<std::string> out;
  for (const Entry& e : entries) {
    std::ostringstream content;
    content << static_cast<int>(e.kind) << ":" << e.size << ":" << e.executable << ":"
            << (e.chunks.empty() ? 0 : e.chunks[0].id[0]);
    out.insert(content.str());
  }
  return out;
}

RC_GTEST_PROP(MergeAlgebraTest, MergingTwoVersionsIsCommutative, ()) {
  const Entry a = *GenEntry();
  const Entry b = *GenEntry();
  const EntryMerge ab = MergeEntries(a, b);
  const EntryMerge ba = MergeEntries(b, a);
  RC_ASSERT(ab.entry == ba.entry);
  RC_ASSERT(ab.action == Mirror(ba.action));
}

RC_GTEST_PROP(MergeAlgebraTest, MergingAVersionWithItselfChangesNothing, ()) {
  const Entry a = *GenEntry();
  const EntryMerge aa = MergeEntries(a, a);
  RC_ASSERT(aa.action == PullAction::kJoin);
  RC_ASSERT(aa.entry == a);
}

// The versions of one path on three nodes after a random history of edits
// (a bump by the editing node) and merges from another node (a conflict
// resolved as keep_both resolves it: the winner's content, on top of both
// vectors) — the only vectors hx can produce.
rc::Gen<std::vector<Entry>> GenVersionsOfThreeNodes() {
  return rc::gen::exec([] {
    std::vector<Entry> current(3);
    for (Entry& e : current) e.kind = EntryKind::kTombstone;
    const int steps = *rc::gen::inRange(0, 12);
    for (int i = 0; i < steps; ++i) {
      const int n = *rc::gen::inRange(0, 3);
      if (*rc::gen::arbitrary<bool>()) {
        Entry edit = *GenEntry();
        edit.vv = current[n].vv;
        edit.vv.Bump(kNodes[n]);
        current[n] = edit;
      } else {
        const int m = *rc::gen::inRange(0, 3);
        EntryMerge merged = MergeEntries(current[n], current[m]);
        if (merged.action == PullAction::kConflict) {
          merged.entry.vv = current[n].vv.Merge(current[m].vv);
          merged.entry.vv.Bump(kNodes[n]);
        }
        current[n] = merged.entry;
      }
    }
    return current;
  });
}

RC_GTEST_PROP(MergeAlgebraTest, TheSurvivingVersionsDoNotDependOnMergeOrder, ()) {
  const std::vector<Entry> v = *GenVersionsOfThreeNodes();
  // (a + b) + c == a + (b + c) == any permutation, as sets of survivors.
  const auto abc = AsSet(Survivors({v[0], v[1], v[2]}));
  RC_ASSERT(abc == AsSet(Survivors({v[2], v[1], v[0]})));
  RC_ASSERT(abc == AsSet(Survivors({v[1], v[2], v[0]})));
  RC_ASSERT(abc == AsSet(Survivors({v[0], v[2], v[1]})));
}

RC_GTEST_PROP(MergeAlgebraTest, TheNameGoesToTheSameVersionWhateverTheOrder, ()) {
  // Among concurrent versions, folding MergeEntries picks the same winner
  // (the version that keeps the name under keep_both) in any order.
  Entry a = *GenEntry();
  Entry b = *GenEntry();
  Entry c = *GenEntry();
  // Distinct files, each changed by another node since a common past:
  // pairwise concurrent.
  std::uint8_t id = 10;
  for (Entry* e : {&a, &b, &c}) {
    e->kind = EntryKind::kFile;
    ChunkRef chunk;
    chunk.id.fill(id++);
    chunk.size = 7;
    e->chunks = {chunk};
    e->size = 7;
  }
  a.vv = VersionVector({{kNodes[0], *rc::gen::inRange(1, 4)}});
  b.vv = VersionVector({{kNodes[1], *rc::gen::inRange(1, 4)}});
  c.vv = VersionVector({{kNodes[2], *rc::gen::inRange(1, 4)}});
  const Entry left = MergeEntries(MergeEntries(a, b).entry, c).entry;
  const Entry right = MergeEntries(a, MergeEntries(b, c).entry).entry;
  const Entry mixed = MergeEntries(MergeEntries(c, a).entry, b).entry;
  RC_ASSERT(left == right);
  RC_ASSERT(left == mixed);
}

RC_GTEST_PROP(MergeAlgebraTest, PlanningAgainstItselfIsANoOp, ()) {
  const auto entries = *rc::gen::container<std::vector<Entry>>(kFilePaths.size(), GenEntry());
  EntryMap state;
  for (std::size_t i = 0; i < kFilePaths.size(); ++i) {
    if (entries[i].kind != EntryKind::kDir) state[kFilePaths[i]] = entries[i];
  }
  const PullPlan plan = PlanPull(state, state);
  RC_ASSERT(plan.items.empty());
  RC_ASSERT(MergedState(plan, state, state) == state);
  RC_ASSERT(plan.live_files_after == CountLiveFiles(state));
}

RC_GTEST_PROP(MergeAlgebraTest, PlansAgreeFromBothSidesOnEveryPathThatIsNotAConflict, ()) {
  const auto left = *rc::gen::container<std::vector<Entry>>(kFilePaths.size(), GenEntry());
  const auto right = *rc::gen::container<std::vector<Entry>>(kFilePaths.size(), GenEntry());
  EntryMap l, r;
  for (std::size_t i = 0; i < kFilePaths.size(); ++i) {
    // Files only, at the file paths: directory rules are covered by the
    // history property.
    if (left[i].kind != EntryKind::kDir) l[kFilePaths[i]] = left[i];
    if (right[i].kind != EntryKind::kDir) r[kFilePaths[i]] = right[i];
  }
  const PullPlan lr = PlanPull(l, r);
  const PullPlan rl = PlanPull(r, l);
  const auto conflicts = lr.ConflictPaths();
  RC_ASSERT(conflicts == rl.ConflictPaths());
  const EntryMap lr_merged = MergedState(lr, l, r);
  const EntryMap rl_merged = MergedState(rl, r, l);
  RC_ASSERT(lr.live_files_after == CountLiveFiles(lr_merged));
  for (const auto& [path, entry] : lr_merged) {
    if (std::binary_search(conflicts.begin(), conflicts.end(), path)) continue;
    // The same content either way; where both sides hold it (a join), each
    // plan records the store's entry, which is the other side's.
    const Entry& other = rl_merged.at(path);
    RC_ASSERT(other.SameContent(entry));
    const auto in_l = l.find(path);
    const auto in_r = r.find(path);
    if (in_l != l.end() && in_r != r.end() && in_l->second.SameContent(in_r->second)) {
      RC_ASSERT(entry == in_r->second);
      RC_ASSERT(other == in_l->second);
    } else {
      RC_ASSERT(other == entry);
    }
  }
}

}  // namespace
}  // namespace hx::testing
