// The local I/O fault sweep (issue 11, item 6): every local file-system call
// of push, pull, link and hx envelope apply goes through the Env (os/env.h),
// so each one can fail. For each command, on a small vault (a few files in two directories,
// a folder store, which is local too):
//
//   1. the command runs once through an unarmed FaultInjectingEnv, which
//      counts its calls (N);
//   2. for every n in 1..N and every fault kind (ENOSPC, EIO, EACCES, a
//      crash from n on; a short write where call n is a Write), the world
//      is restored to the same starting state, the nth call fails, and the
//      command must either succeed or fail with a KC_SYNC_* code (never
//      KC_SYNC_INTERNAL) whose message or details name a file, and whose
//      category is the errno's (no_space, auth, io);
//   3. right after it, nothing is lost: every vault file holds its old or
//      its new content (never a third, partial one), and nothing but .hx/
//      holds temporary files;
//   4. the fault is disarmed and the command runs again: it succeeds, and
//      the result is the one an unfaulted run gives (the vault byte for
//      byte, and a second device's pull of the store).
//
// The calls are counted on one scan thread (SyncOptions::scan_threads), so
// call n is the same call on every run, except for the store writes the
// uploader and the fetcher make from their worker threads: there the nth
// call may differ between runs, which the checks do not depend on.
//
// Restoring copies the folders back (contents, modes and mtimes), so files
// get new inodes and the stat cache misses; the scanner then hashes every
// file, which is the path with the most calls.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "envelope/folder.h"
#include "merge/policy.h"
#include "os/env.h"
#include "os/fault_env.h"
#include "sync/engine.h"
#include "sync/link.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

// Copies `from` to `to` (which must not exist): directories, files with
// their mode and mtime, symlinks as links.
void CopyTree(const fs::path& from, const fs::path& to) {
  fs::create_directory(to);
  fs::permissions(to, fs::status(from).permissions());
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path target = to / entry.path().filename();
    if (entry.is_symlink()) {
      fs::copy_symlink(entry.path(), target);
    } else if (entry.is_directory()) {
      CopyTree(entry.path(), target);
    } else {
      fs::copy_file(entry.path(), target);
      fs::last_write_time(target, fs::last_write_time(entry.path()));
    }
  }
}

// A set of folders saved once and put back before every run.
class Checkpoint {
 public:
  explicit Checkpoint(std::vector<fs::path> folders) : folders_(std::move(folders)) {
    for (std::size_t i = 0; i < folders_.size(); ++i) {
      CopyTree(folders_[i], saved_.path() / std::to_string(i));
    }
  }
  void Restore() const {
    for (std::size_t i = 0; i < folders_.size(); ++i) {
      fs::remove_all(folders_[i]);
      CopyTree(saved_.path() / std::to_string(i), folders_[i]);
    }
  }

 private:
  std::vector<fs::path> folders_;
  TempDir saved_;
};

using Tree = std::map<std::string, std::string>;
Tree ReadTree(const fs::path& root) { return ReadFolderTree(root); }

// Files of the folder store whose names are temporary (".tmp~...").
std::vector<std::string> StoreTempFiles(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename().string().starts_with(".tmp~")) {
      out.push_back(fs::relative(entry.path(), root).string());
    }
  }
  return out;
}

Category ExpectedCategory(EnvFault fault) {
  switch (fault) {
    case EnvFault::kNoSpace:
      return Category::kNoSpace;
    case EnvFault::kAccess:
      return Category::kAuth;
    default:
      return Category::kIo;
  }
}

// What is wrong with the error a faulted run returned (empty: nothing).
std::string JudgeError(const Error& error, EnvFault fault) {
  std::string problems;
  const std::string code(ToString(error.code));
  if (!code.starts_with("KC_SYNC_") || error.code == SyncCode::kInternal) {
    problems += "code " + code + "; ";
  }
  const bool names_a_file = error.details.contains("path") || error.details.contains("key") ||
                            error.message.find('/') != std::string::npos;
  if (!names_a_file) problems += "names no file; ";
  if (error.category != ExpectedCategory(fault)) {
    problems += "category " + std::string(ToString(error.category)) + ", expected " +
                std::string(ToString(ExpectedCategory(fault))) + "; ";
  }
  return problems;
}

// Every path of `now` holds what it held in `before` or in `after`, and
// every path of either is in `now` or absent in one of them.
std::string JudgeVault(const Tree& before, const Tree& after, const Tree& now) {
  std::string problems;
  std::set<std::string> paths;
  for (const Tree* t : {&before, &after, &now}) {
    for (const auto& [path, value] : *t) paths.insert(path);
  }
  for (const std::string& path : paths) {
    auto find = [&](const Tree& t) -> std::optional<std::string> {
      auto it = t.find(path);
      if (it == t.end()) return std::nullopt;
      return it->second;
    };
    const std::optional<std::string> was = find(before), will = find(after), is = find(now);
    if (is != was && is != will) {
      problems += path + (is ? " holds " + is->substr(0, 40) : std::string(" is missing")) + "; ";
    }
  }
  return problems;
}

// One failure of the sweep, for the final listing.
struct Finding {
  std::string command;
  std::uint64_t n;
  EnvFault fault;
  std::string call;
  std::string what;
};

std::string Describe(const std::vector<Finding>& findings) {
  std::ostringstream out;
  for (const Finding& f : findings) {
    out << f.command << " n=" << f.n << " " << ToString(f.fault) << " (" << f.call
        << "): " << f.what << "\n";
  }
  return out.str();
}

constexpr std::int64_t kT0 = 1'700'000'000'000;

// The sweep over one command. `setup` has built the world and `folders`
// are everything it consists of; `run` runs the command through the given
// options; `check_after_fault` judges the state a faulted run left (returns
// problems); `check_recovered` judges the state after the unfaulted rerun.
class Sweep {
 public:
  Sweep(std::string command, std::vector<fs::path> folders)
      : command_(std::move(command)), checkpoint_(std::move(folders)) {}

  using RunFn = std::function<Status(const SyncOptions&)>;
  using JudgeFn = std::function<std::string()>;

  // Runs the sweep; returns the findings.
  // `rerun` (default: `run`) is the unfaulted rerun.
  std::vector<Finding> Run(const SyncOptions& base, const RunFn& run,
                           const JudgeFn& after_fault, const JudgeFn& after_recovery,
                           std::uint64_t* calls_out, RunFn rerun = nullptr) {
    if (!rerun) rerun = run;
    FaultInjectingEnv env(Env::Default());
    // 2100-01-01: long after the files were written, so none is racy and
    // the scanner's stat-cache writes are swept too.
    FakeClock clock(4'102'444'800'000);
    SyncOptions options = base;
    options.env = &env;
    options.clock = &clock;
    options.scan_threads = 1;

    // 1. How many calls does an unfaulted run make?
    checkpoint_.Restore();
    env.Disarm();
    Status clean = run(options);
    EXPECT_TRUE(clean.ok()) << command_ << ": " << clean.error().ToShortString();
    const std::uint64_t n_calls = env.calls();
    *calls_out = n_calls;
    EXPECT_GT(n_calls, 0u);

    std::vector<Finding> findings;
    std::map<std::uint64_t, std::string> call_names;
    for (const EnvFault fault : {EnvFault::kIo, EnvFault::kNoSpace, EnvFault::kAccess,
                                 EnvFault::kCrash, EnvFault::kShortWrite}) {
      for (std::uint64_t n = 1; n <= n_calls; ++n) {
        // A short write differs from EIO only at a Write (the kIo pass
        // learnt which calls are writes).
        if (fault == EnvFault::kShortWrite && call_names[n] != "Write") continue;
        checkpoint_.Restore();
        std::string call;
        env.set_on_fault([&call](std::string_view name) { call = std::string(name); });
        env.Arm(n, fault);
        const Status faulted = run(options);
        const bool fired = env.fired();
        env.Disarm();
        env.set_on_fault(nullptr);
        if (fault == EnvFault::kIo) call_names[n] = call;
        ++runs_;
        if (!faulted.ok()) ++failed_;
        auto note = [&](std::string what) {
          findings.push_back({command_, n, fault, call, std::move(what)});
        };
        // Call n comes before anything the fault changes, so it is reached.
        if (!fired) note("the fault never fired (the run made fewer calls)");
        if (!faulted.ok()) {
          const std::string problems = JudgeError(faulted.error(), fault);
          if (!problems.empty()) {
            note(problems + "[" + faulted.error().ToShortString() + "]");
          }
        }
        if (std::string problems = after_fault(); !problems.empty()) {
          note("after the fault: " + problems);
        }
        if (fault != EnvFault::kCrash && call != "UnlinkAt") {
          // Only a crash or a failed removal of the temporary name may leave
          // a temporary file in the store (folder_store.h).
          for (const std::string& temp : StoreTempFiles(store_root_)) {
            note("temporary file left in the store: " + temp);
          }
        }
        // The rerun comes in the same millisecond: names made from the time
        // (link's archive folder, reports) must not collide with the faulted
        // run's.
        const Status again = rerun(options);
        if (!again.ok()) {
          note("the rerun failed: " + again.error().ToShortString());
          continue;
        }
        if (std::string problems = after_recovery(); !problems.empty()) {
          note("after the rerun: " + problems);
        }
      }
    }
    return findings;
  }

  void set_store_root(fs::path root) { store_root_ = std::move(root); }
  // Faulted runs, and how many of them returned an error.
  int runs() const { return runs_; }
  int failed() const { return failed_; }

 private:
  int runs_ = 0;
  int failed_ = 0;
  std::string command_;
  Checkpoint checkpoint_;
  fs::path store_root_;
};

// A command's outcome as a Status: its error, or the error its report
// carries (a partial pull or link).
template <typename Report>
Status Outcome(Result<Report> r) {
  if (!r.ok()) return std::move(r).error();
  if (r->error) return *r->error;
  return OkStatus();
}

// hx sync pull of `vault`, with `policy` (none: the vault's default).
Sweep::RunFn PullOf(const fs::path& vault, std::optional<MergePolicy> policy = std::nullopt) {
  return [vault, policy](const SyncOptions& o) -> Status {
    SyncOptions with_policy = o;
    if (policy) with_policy.auto_merge = *policy;
    return Outcome(SyncPull(vault, with_policy));
  };
}

// hx sync link of `vault`.
Sweep::RunFn LinkOf(const fs::path& vault, LinkOptions link = {}) {
  return [vault, link](const SyncOptions& o) { return Outcome(SyncLink(vault, o, link)); };
}

// The rerun of a link: linking a folder that a link already synced is
// refused ("use hx sync pull"), so after a faulted link that completed, the
// rerun is that pull.
Sweep::RunFn LinkOrPullOf(const fs::path& vault, LinkOptions link = {}) {
  return [vault, link](const SyncOptions& o) -> Status {
    Status linked = LinkOf(vault, link)(o);
    if (linked.ok() || linked.error().code != SyncCode::kInputInvalid) return linked;
    return PullOf(vault)(o);
  };
}

// The small vault: five files in two directories (one nested), one
// executable, one empty, one large enough for several chunks.
void WriteVersion1(const Device& d) {
  d.Write("notes.txt", "first notes\n");
  d.Write("docs/readme.md", "# readme\n");
  d.Write("docs/empty", "");
  d.Write("src/lib/code.c", "int main() { return 0; }\n");
  std::string big;
  for (int i = 0; big.size() < 300'000; ++i) {
    big += "line " + std::to_string(i * 7919 % 10007) + "\n";
  }
  d.Write("src/big.bin", big);
  fs::permissions(d.vault() / "src/lib/code.c", fs::perms::owner_exec, fs::perm_options::add);
}

// Changes on top of version 1: an edit, a new file in a new directory, a
// deletion, an edit of the large file.
void WriteVersion2(const Device& d) {
  d.Write("notes.txt", "second notes, longer than the first\n");
  d.Write("docs/new/added.txt", "added\n");
  d.Remove("docs/empty");
  std::string big = d.Read("src/big.bin");
  big.replace(100'000, 10, "CHANGED!!!");
  d.Write("src/big.bin", big);
}

class LocalFaultSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MakeFolderStoreFixture();
    a_ = std::make_unique<Device>(*store_, "a", 11);
    b_ = std::make_unique<Device>(*store_, "b", 22);
    HX_ASSERT_OK(a_->Init(kT0));
    WriteVersion1(*a_);
    HX_ASSERT_OK(a_->Push(kT0 + 1000));
    HX_ASSERT_OK(b_->Init(kT0 + 2000));
    HX_ASSERT_OK(b_->Pull(kT0 + 3000));
    ASSERT_EQ(ReadTree(a_->vault()), ReadTree(b_->vault()));
  }

  fs::path StoreRoot() const { return fs::path(store_->TargetUri()); }

  void Report(const Sweep& sweep, const std::vector<Finding>& findings, std::uint64_t calls) {
    std::cout << "[sweep] " << calls << " local calls per run, " << sweep.runs()
              << " faulted runs (" << sweep.failed() << " returned an error), " << findings.size()
              << " findings\n";
    // Most faults must surface: a sweep whose faults all vanish proves nothing.
    EXPECT_GT(sweep.failed(), sweep.runs() / 2);
    EXPECT_TRUE(findings.empty()) << Describe(findings);
  }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_;
  std::unique_ptr<Device> b_;
};

TEST_F(LocalFaultSweep, PushLosesNothingAndConvergesAfterAnyLocalFault) {
  WriteVersion2(*a_);
  const Tree a_tree = ReadTree(a_->vault());
  const Tree b_old = ReadTree(b_->vault());
  Sweep sweep("push", {StoreRoot(), a_->vault(), b_->vault()});
  sweep.set_store_root(StoreRoot());
  auto push = [&](const SyncOptions& o) -> Status {
    Result<PushReport> r = SyncPush(a_->vault(), o);
    if (!r.ok()) return std::move(r).error();
    return OkStatus();
  };
  // A push never writes to the vault.
  auto after_fault = [&]() { return JudgeVault(a_tree, a_tree, ReadTree(a_->vault())); };
  // The rerun published A's vault: another device pulls exactly it.
  auto after_recovery = [&]() -> std::string {
    std::string problems = JudgeVault(a_tree, a_tree, ReadTree(a_->vault()));
    Result<PullReport> pulled = b_->Pull(kT0 + 9000);
    if (!pulled.ok()) return problems + "b's pull failed: " + pulled.error().ToShortString();
    if (ReadTree(b_->vault()) != a_tree) problems += "b's pull differs from a's vault; ";
    (void)b_old;
    return problems;
  };
  std::uint64_t calls = 0;
  const std::vector<Finding> findings =
      sweep.Run(a_->options(kT0 + 5000), push, after_fault, after_recovery, &calls);
  Report(sweep, findings, calls);
}

TEST_F(LocalFaultSweep, PullLosesNothingAndConvergesAfterAnyLocalFault) {
  WriteVersion2(*a_);
  HX_ASSERT_OK(a_->Push(kT0 + 4000));
  const Tree old_tree = ReadTree(b_->vault());
  const Tree new_tree = ReadTree(a_->vault());
  Sweep sweep("pull", {StoreRoot(), b_->vault()});
  sweep.set_store_root(StoreRoot());
  const Sweep::RunFn pull = PullOf(b_->vault());
  // Each file is old or new, never partial; nothing else appears.
  auto after_fault = [&]() { return JudgeVault(old_tree, new_tree, ReadTree(b_->vault())); };
  auto after_recovery = [&]() -> std::string {
    const Tree now = ReadTree(b_->vault());
    return now == new_tree ? std::string() : "b's vault differs from a's: " +
                                                 JudgeVault(new_tree, new_tree, now);
  };
  std::uint64_t calls = 0;
  const std::vector<Finding> findings =
      sweep.Run(b_->options(kT0 + 5000), pull, after_fault, after_recovery, &calls);
  Report(sweep, findings, calls);
}

// Whether some file under <vault>/.hx/archive holds exactly `bytes`.
bool Archived(const fs::path& vault, const std::string& bytes) {
  const fs::path archive = vault / ".hx" / "archive";
  if (!fs::exists(archive)) return false;
  for (const auto& entry : fs::recursive_directory_iterator(archive)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream got;
    got << in.rdbuf();
    if (got.str() == bytes) return true;
  }
  return false;
}

// Whether some vault file (not under .hx/) holds exactly `bytes`.
bool InVault(const Tree& tree, const std::string& bytes) {
  return std::any_of(tree.begin(), tree.end(),
                     [&](const auto& entry) { return entry.second == "file:" + bytes; });
}

// What `run` leaves in `vault` when nothing fails; `folders` are put back
// as they were.
Tree CleanResult(const std::vector<fs::path>& folders, const fs::path& vault,
                 const Sweep::RunFn& run, const SyncOptions& o) {
  Checkpoint checkpoint(folders);
  const Status clean = run(o);
  EXPECT_TRUE(clean.ok()) << (clean.ok() ? "" : clean.error().ToShortString());
  Tree tree = ReadTree(vault);
  checkpoint.Restore();
  return tree;
}

// A resolved conflict never loses its losing version and never leaves its
// path empty: after any fault, every path holds its old or its new version
// (the applier keeps a displaced local version at its new name as it
// replaces it: apply.h), and the local version of the conflicting file is
// in the vault or in .hx/archive. Then the rerun gives what an unfaulted run
// gives.
class ResolutionSweep : public LocalFaultSweep {
 protected:
  // B edits notes.txt while A's edit is in the store.
  void SetUp() override {
    LocalFaultSweep::SetUp();
    WriteVersion2(*a_);
    HX_ASSERT_OK(a_->Push(kT0 + 4000));
    b_->Write("notes.txt", kLocalEdit);
  }

  // `local_versions`: the bytes of the local files that lose (each must
  // stay in the vault or in .hx/archive).
  void RunSweep(const std::string& name, const Device& d, const Sweep::RunFn& run,
                const Sweep::RunFn& rerun,
                const std::vector<std::string>& local_versions = {kLocalEdit}) {
    const std::vector<fs::path> folders = {StoreRoot(), d.vault()};
    const SyncOptions options = d.options(kT0 + 5000);
    const Tree old_tree = ReadTree(d.vault());
    const Tree new_tree = CleanResult(folders, d.vault(), run, options);
    Sweep sweep(name, folders);
    sweep.set_store_root(StoreRoot());
    // The store's version is in the store whatever happens; the local one
    // only here.
    auto both_kept = [&]() -> std::string {
      std::string problems;
      for (const std::string& bytes : local_versions) {
        if (InVault(ReadTree(d.vault()), bytes) || Archived(d.vault(), bytes)) continue;
        problems += "the local version \"" + bytes.substr(0, 40) +
                    "\" is neither in the vault nor in .hx/archive; ";
      }
      return problems;
    };
    auto after_fault = [&]() {
      return JudgeVault(old_tree, new_tree, ReadTree(d.vault())) + both_kept();
    };
    auto after_recovery = [&]() -> std::string {
      const Tree now = ReadTree(d.vault());
      std::string problems = both_kept();
      if (now != new_tree) problems += "the vault differs: " + JudgeVault(new_tree, new_tree, now);
      return problems;
    };
    std::uint64_t calls = 0;
    const std::vector<Finding> findings =
        sweep.Run(options, run, after_fault, after_recovery, &calls, rerun);
    Report(sweep, findings, calls);
  }

  Sweep::RunFn PullWith(MergePolicy policy) { return PullOf(b_->vault(), policy); }

  static constexpr const char* kLocalEdit = "b's own edit of the notes\n";
};

// cloud_preferred: the local edit goes to .hx/archive as the store's
// version replaces it.
TEST_F(ResolutionSweep, PullThatArchivesALocalEditNeverLosesItNorEmptiesThePath) {
  RunSweep("pull_cloud_preferred", *b_, PullWith(MergePolicy::kCloudPreferred),
           PullWith(MergePolicy::kCloudPreferred));
}

// keep_both: one version keeps the path, the other gets a conflict name.
TEST_F(ResolutionSweep, PullThatKeepsBothVersionsNeverLosesOneNorEmptiesThePath) {
  RunSweep("pull_keep_both", *b_, PullWith(MergePolicy::kKeepBoth),
           PullWith(MergePolicy::kKeepBoth));
}

// local_preferred: the store's version is staged and archived; the local
// edit stays.
TEST_F(ResolutionSweep, PullThatArchivesTheStoresVersionNeverLosesTheLocalOne) {
  RunSweep("pull_local_preferred", *b_, PullWith(MergePolicy::kLocalPreferred),
           PullWith(MergePolicy::kLocalPreferred));
}

// hx sync link --policy cloud_preferred: a folder's own version of a file
// the store holds with other bytes goes to .hx/archive as the store's
// replaces it.
TEST_F(ResolutionSweep, LinkThatArchivesALocalVersionNeverLosesItNorEmptiesThePath) {
  Device c(*store_, "c", 33);
  c.Write("own.txt", "c's own file\n");
  c.Write("notes.txt", kLocalEdit);
  LinkOptions cloud_preferred;
  cloud_preferred.policy = MergePolicy::kCloudPreferred;
  RunSweep("link_cloud_preferred", c, LinkOf(c.vault(), cloud_preferred),
           LinkOrPullOf(c.vault(), cloud_preferred));
}

// hx sync link --policy cloud_preferred where the folder holds a directory
// (with files, one nested) at the path of a file of the store: the
// directory goes to .hx/archive with everything in it by the step that puts
// the store's file in its place (RENAME_EXCHANGE: sync/displace.h), so the
// path holds the directory or the file at every instant.
TEST_F(ResolutionSweep, LinkThatArchivesALocalDirectoryNeverLosesItNorEmptiesThePath) {
  Device c(*store_, "c", 33);
  c.Write("own.txt", "c's own file\n");
  c.Write("notes.txt/inner.txt", "c's inner file\n");
  c.Write("notes.txt/deeper/more.txt", "more of c's\n");
  LinkOptions cloud_preferred;
  cloud_preferred.policy = MergePolicy::kCloudPreferred;
  RunSweep("link_cloud_preferred_dir", c, LinkOf(c.vault(), cloud_preferred),
           LinkOrPullOf(c.vault(), cloud_preferred), {"c's inner file\n", "more of c's\n"});
}

TEST_F(LocalFaultSweep, LinkLosesNothingAndConvergesAfterAnyLocalFault) {
  // A third folder, never synced, with one file of its own, one the store
  // also has (same bytes) and one it has with other bytes.
  Device c(*store_, "c", 33);
  c.Write("own.txt", "c's own file\n");
  c.Write("docs/readme.md", "# readme\n");
  c.Write("notes.txt", "c's notes\n");
  const Tree c_old = ReadTree(c.vault());
  // What an unfaulted link gives (local_preferred: c's notes win; the
  // store's files are added).
  Tree c_new = ReadTree(b_->vault());
  for (const auto& [path, value] : c_old) c_new[path] = value;
  Sweep sweep("link", {StoreRoot(), c.vault()});
  sweep.set_store_root(StoreRoot());
  const Sweep::RunFn link = LinkOf(c.vault());
  const Sweep::RunFn link_or_pull = LinkOrPullOf(c.vault());
  auto after_fault = [&]() { return JudgeVault(c_old, c_new, ReadTree(c.vault())); };
  auto after_recovery = [&]() -> std::string {
    const Tree now = ReadTree(c.vault());
    return now == c_new ? std::string() : "c's vault: " + JudgeVault(c_new, c_new, now);
  };
  std::uint64_t calls = 0;
  const std::vector<Finding> findings = sweep.Run(c.options(kT0 + 5000), link, after_fault,
                                                  after_recovery, &calls, link_or_pull);
  Report(sweep, findings, calls);
}

// hx envelope apply --policy cloud_preferred over B's vault: each kind of
// replacement the envelope makes (a file by a file, a symlink by a symlink,
// a directory holding files by a file, a file by a directory with a new
// file in it) keeps the folder's version in the same step that puts the
// envelope's in its place (sync/displace.h). After any fault every path
// holds its old or its new version, and every replaced version of the
// folder is still in the vault or in .hx/archive; the rerun (the same
// millisecond) gives what an unfaulted apply gives.
TEST_F(LocalFaultSweep, EnvelopeApplyThatReplacesLocalVersionsNeverLosesOneNorEmptiesAPath) {
  const fs::path vault = b_->vault();
  fs::create_symlink("notes.txt", vault / "link");
  // The folder the envelope is exported from.
  TempDir source;
  const auto put = [&](const std::string& rel, const std::string& bytes) {
    fs::create_directories((source.path() / rel).parent_path());
    std::ofstream(source.path() / rel, std::ios::binary) << bytes;
  };
  put("notes.txt", "the envelope's notes\n");    // a file replaces a file
  put("docs", "the envelope's docs is a file\n");  // ... a directory holding files
  put("src/big.bin/part.txt", "a part\n");        // a directory replaces a file
  put("src/lib/code.c", b_->Read("src/lib/code.c"));
  put("added.txt", "new in the envelope\n");
  fs::permissions(source.path() / "src/lib/code.c", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("added.txt", source.path() / "link");  // a symlink replaces a symlink
  Result<Envelope> envelope = ExportFolder(source.path(), {.now_ms = kT0, .app_version = "test"});
  HX_ASSERT_OK(envelope);

  const Tree old_tree = ReadTree(vault);
  // The folder's versions the envelope replaces.
  std::vector<std::string> losers;
  for (const auto& [path, value] : old_tree) {
    const bool replaced = path == "notes.txt" || path == "link" || path == "src/big.bin" ||
                          path == "docs" || path.starts_with("docs/");
    if (replaced && value != "dir") losers.push_back(value);
  }
  ASSERT_EQ(losers.size(), 5u) << ::testing::PrintToString(old_tree);
  const auto apply = [&](const SyncOptions& o) -> Status {
    return Outcome(ApplyEnvelope(
        vault, *envelope,
        {.policy = MergePolicy::kCloudPreferred, .decisions = {}, .now_ms = o.now_ms, .env = o.env}));
  };
  const SyncOptions options = b_->options(kT0 + 5000);
  const Tree new_tree = CleanResult({vault}, vault, apply, options);
  ASSERT_EQ(new_tree.at("docs"), "file:the envelope's docs is a file\n");
  ASSERT_EQ(new_tree.at("src/big.bin/part.txt"), "file:a part\n");
  ASSERT_EQ(new_tree.at("link"), "link:added.txt");
  // Each loser (a file's bytes or a symlink's target) is somewhere in the
  // vault or in .hx/archive.
  const auto all_kept = [&]() -> std::string {
    const Tree here = ReadTree(vault);
    const fs::path archive = vault / ".hx" / "archive";
    const Tree archived = fs::exists(archive) ? ReadTree(archive) : Tree{};
    std::string problems;
    for (const std::string& loser : losers) {
      const auto holds = [&](const Tree& t) {
        return std::any_of(t.begin(), t.end(), [&](const auto& e) { return e.second == loser; });
      };
      if (!holds(here) && !holds(archived)) {
        problems += "the folder's " + loser.substr(0, 40) + " is neither in the vault nor in "
                    ".hx/archive; ";
      }
    }
    return problems;
  };
  Sweep sweep("envelope_apply", {vault});
  sweep.set_store_root(StoreRoot());
  auto after_fault = [&]() { return JudgeVault(old_tree, new_tree, ReadTree(vault)) + all_kept(); };
  auto after_recovery = [&]() -> std::string {
    const Tree now = ReadTree(vault);
    std::string problems = all_kept();
    if (now != new_tree) problems += "the vault differs: " + JudgeVault(new_tree, new_tree, now);
    return problems;
  };
  std::uint64_t calls = 0;
  const std::vector<Finding> findings =
      sweep.Run(options, apply, after_fault, after_recovery, &calls);
  Report(sweep, findings, calls);
}

}  // namespace
}  // namespace hx::testing
