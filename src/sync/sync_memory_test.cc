// The memory regression test of issue 15 ("memory bounded by the change,
// not the vault"): on a generated vault of 20,000 small files, the peak
// heap of each sync phase, counted by the allocator (heap_peak_test_util.h:
// every byte live through operator new, at the size the allocator gave),
// must stay under a bound that scales the target of 100 MB at 100,000
// files: 1,000 bytes a file, plus allowances for what does not grow with
// the vault (kSessionAllowance, kPackAllowance below say what they are).
//
// The engine code measured is the hx binary's: the same libraries; only the
// allocator under operator new differs (glibc's malloc here, jemalloc in hx:
// src/cli/jemalloc_conf.cc), and the count is of bytes handed out, not of
// the pages either allocator keeps, so the bound is the same for both.
//
// A phase that is over the bound today is pinned at today's figure
// (Ceiling(), each with the reason and the target it misses, recorded in
// docs/BENCHMARKS.md "Memory"): the test still fails if it grows, and the
// entry is removed when the work that brings it under the bound lands.
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "os/env.h"
#include "sync/heap_peak_test_util.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kFilesPerDir = 100;
// 20,000 files; HX_MEMORY_TEST_FILES=N (a multiple of 100) measures another
// size with the bound scaled to it (how the slope and the fixed part were
// found: docs/BENCHMARKS.md, "Memory").
const int kFiles = [] {
  const char* env = std::getenv("HX_MEMORY_TEST_FILES");
  const int n = env != nullptr ? std::atoi(env) : 0;
  return n >= kFilesPerDir ? n / kFilesPerDir * kFilesPerDir : 20'000;
}();
// 100 MB at 100,000 files (issue 15): 1,000 bytes a file.
constexpr std::int64_t kBytesPerFile = 1'000;
// What does not grow with the vault, and so is not scaled: the session's
// fixed state (the vault context and keys, the chunker's buffers, the
// store client): 1.0 MiB for a whole-folder status
// at 2,000 files, of which ~0.9 MiB is the 2,000 files' own state, so
// 2 MiB is generous.
constexpr std::int64_t kSessionAllowance = 2LL << 20;
// A push also fills one pack, reserved at its target size up front (16 MiB
// and 1/32 for its index: repo/pack.cc), whatever the number of files: a
// push of 2,000 files peaks at 18.2 MiB, of which 16.5 MiB is that buffer.
constexpr std::int64_t kPackAllowance = (16LL << 20) + (16LL << 20) / 32;

// The bound of a phase: the target's 1,000 bytes a file, and what does not
// grow with the vault. (Heap only: the RSS of the hx binary adds the
// allocator's own pages, the binary and SQLite's page cache, docs/BENCHMARKS.md
// "Memory".)
std::int64_t Bound(bool packs) {
  return kFiles * kBytesPerFile + kSessionAllowance + (packs ? kPackAllowance : 0);
}

// Phases over their bound today, pinned at today's peak plus ~10%: the test
// still fails if they grow. Each is a recorded target miss (docs/BENCHMARKS.md,
// "Memory"); an entry goes when the work that brings the phase under its
// bound lands. Scaled like the bound (per file, at the size measured). None
// today: the first pull, pinned at 24.6 MiB after the fetcher's read-ahead
// (22.4 MiB measured), is under its bound since s5-pullmem (the window
// counts each object's bookkeeping and shrinks as the plan grows; the
// chunks are declared to the fetcher a batch ahead; its learned locations
// are compact). The read-ahead's share moves with thread timing (how far
// its workers get ahead of the writes): 0.1 MiB over 8 runs at load 12-16.
std::optional<std::int64_t> Ceiling(const std::string& /*phase*/) { return std::nullopt; }

// Phases well under their bound, held to a tighter one so that a regression
// shows long before the target is reached: the first push (s5-push: 32.3 ->
// 29.0 MiB at 20,000 files once a pack kept compact records and the uploader
// one list of locations, docs/BENCHMARKS.md "Push (session 5)") at 650 bytes
// a file and the allowances: 30.8 MiB at 20,000 files (the push before
// those changes, 32.3 MiB, fails it); the first pull (s6-pullref: 18.44 ->
// 16.01 MiB at 20,000 files once the plan's items pointed at the states'
// entries instead of copying them, docs/BENCHMARKS.md "Pull plan by
// reference") at 800 bytes a file: 17.26 MiB (the pull before, 18.44 MiB,
// fails it).
//
// A status's full comparison goes directory by directory (s6-stream,
// sync/local_changes_stream.h): it holds one directory and the change, so
// after an edit its bound is the session's allowance and the change (1,000
// bytes a changed file); it was 8.9 MiB at 20,000 files and 44.6 at 100,000
// before, and now does not grow with the vault (docs/BENCHMARKS.md, "Status
// by directory"). An unchanged folder's comparison also collects the scan
// baseline status then writes, ~47 bytes a file, held as it is collected and
// once more while sorted: 128 bytes a file.
//
// A pull compares the folder the same way (s7, sync/prepare.cc CompareLocal)
// and keeps the scan's view only of the paths the plan can touch: a 1% pull
// holds the base, the remote state of the changed directories and the
// change, 15.42 -> 8.48 MiB at 20,000 files; held at 550 bytes a file
// (12.49 MiB; the pull that scanned the whole folder fails it).
std::optional<std::int64_t> Tightened(const std::string& phase) {
  if (phase == "first push") return kFiles * 650 + kSessionAllowance + kPackAllowance;
  if (phase == "first pull") return kFiles * 800 + kSessionAllowance;
  if (phase == "1% pull") return kFiles * 550 + kSessionAllowance;
  if (phase == "status, full") return kFiles * 128 + kSessionAllowance;
  if (phase == "1% status, full") return kFiles / 100 * kBytesPerFile + kSessionAllowance;
  return std::nullopt;
}

// The wall clock a minute ahead: the files the test just wrote are older
// than the stat cache's racy window (scan/scanner.h kRacyWindowNs), as a
// user's files are, so a no-change scan hashes nothing and leaves a
// baseline. Deadlines and sleeps are the real clock's.
class AheadClock final : public Clock {
 public:
  std::int64_t WallMs() override { return Env::Default().clock().WallMs() + 60'000; }
  std::int64_t WallNs() override { return Env::Default().clock().WallNs() + 60'000'000'000; }
  MonoTime Monotonic() override { return Env::Default().clock().Monotonic(); }
  void SleepFor(std::chrono::milliseconds d) override { Env::Default().clock().SleepFor(d); }
};

std::string FileName(int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "d%04d/f%03d.txt", i / kFilesPerDir, i % kFilesPerDir);
  return name;
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The scan's worker threads, pinned: by default the scan runs one per core
// (at most 8), and each worker's buffers are live at the scan's peak, so
// the figures would depend on the machine that runs the test. Measured
// (FAKE_NPROCS through an LD_PRELOAD'ed get_nprocs): the 1% push peaks at
// 21.9 MiB with 2 threads, 30.9 with 6 and 38.7 with 8; the first push at
// 33.0 MiB up to 6 threads and 39.5 with 8 (the scan's peak then passes
// the upload's). 2 is the machine the figures of docs/BENCHMARKS.md
// ("Memory") were taken on. (The uploader's sealing threads, one per core
// up to 4, are not an option of a sync; they move no phase by more than
// 0.2 MiB here.)
constexpr int kScanThreads = 2;

class SyncMemoryTest : public ::testing::Test {
 protected:
  SyncOptions Options(const Device& device) {
    SyncOptions o = device.options(now_ += 1000);
    o.clock = &clock_;
    o.scan_threads = kScanThreads;
    return o;
  }

  // Runs `phase`, records its peak heap, and checks it against the bound.
  // `packs`: the phase uploads (kPackAllowance).
  template <typename Fn>
  void Measure(const std::string& name, bool packs, Fn phase) {
    std::int64_t peak = 0;
    {
      const HeapPeak heap;
      phase();
      peak = heap.peak_bytes();
    }
    const std::optional<std::int64_t> ceiling = Ceiling(name);
    const std::int64_t bound = ceiling.value_or(Tightened(name).value_or(Bound(packs)));
    std::printf("%-16s peak heap %8.2f MiB, bound %6.2f MiB (the target's %6.2f MiB)%s\n",
                name.c_str(), static_cast<double>(peak) / (1 << 20),
                static_cast<double>(bound) / (1 << 20),
                static_cast<double>(Bound(packs)) / (1 << 20),
                ceiling ? ": a pinned ceiling, the target is missed" : "");
    EXPECT_LE(peak, bound) << name << ": peak heap over its bound at " << kFiles << " files";
  }

  AheadClock clock_;
  std::int64_t now_ = 1'700'000'000'000;
};

TEST_F(SyncMemoryTest, PeakHeapOfEveryPhaseStaysUnderTheScaledTargetAt20000Files) {
  const std::unique_ptr<StoreFixture> store = MakeFolderStoreFixture();
  Device a(*store, "a", /*seed=*/15);
  HX_ASSERT_OK(a.Init(now_));
  for (int i = 0; i < kFiles; ++i) {
    if (i % kFilesPerDir == 0) fs::create_directories(a.vault() / FileName(i).substr(0, 5));
    WriteFile(a.vault() / FileName(i), "file " + std::to_string(i) + "\n");
  }

  Measure("first push", /*packs=*/true, [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "published");
    EXPECT_GE(pushed->changes.added, static_cast<std::uint64_t>(kFiles));
  });
  Measure("no-change push", /*packs=*/false, [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "up_to_date");
  });
  Measure("status", /*packs=*/false, [&] {
    Result<StatusReport> status = SyncStatus(a.vault(), Options(a));
    HX_ASSERT_OK(status);
  });
  // Without the scan baseline (.hx/baseline: lost, or a folder touched
  // since): the full comparison of the scan with the base.
  fs::remove(a.vault() / ".hx" / "baseline");
  Measure("status, full", /*packs=*/false, [&] {
    Result<StatusReport> status = SyncStatus(a.vault(), Options(a));
    HX_ASSERT_OK(status);
    EXPECT_EQ(status->local_changes.added + status->local_changes.modified, 0u);
  });
  fs::remove(a.vault() / ".hx" / "baseline");
  Measure("no-change, full", /*packs=*/false, [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "up_to_date");
  });

  Device b(*store, "b", /*seed=*/16);
  HX_ASSERT_OK(b.Init(now_));
  Measure("first pull", /*packs=*/false, [&] {
    Result<PullReport> pulled = SyncPull(b.vault(), Options(b));
    HX_ASSERT_OK(pulled);
    // Every change counted, only the first kMaxReportedPaths listed.
    EXPECT_EQ(pulled->changes.added, static_cast<std::uint64_t>(kFiles + kFiles / kFilesPerDir));
    EXPECT_EQ(pulled->changes.paths.size(), 1000u);
    EXPECT_EQ(pulled->changes.paths.front(), "d0000");
  });
  EXPECT_EQ(b.Read(FileName(kFiles - 1)), "file " + std::to_string(kFiles - 1) + "\n");

  // 1%: every hundredth file rewritten.
  for (int i = 0; i < kFiles; i += 100) {
    WriteFile(a.vault() / FileName(i), "changed " + std::to_string(i) + "\n");
  }
  Measure("1% push", /*packs=*/true, [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "published");
    EXPECT_EQ(pushed->changes.modified, static_cast<std::uint64_t>(kFiles / 100));
  });
  Measure("1% pull", /*packs=*/false, [&] {
    Result<PullReport> pulled = SyncPull(b.vault(), Options(b));
    HX_ASSERT_OK(pulled);
  });
  EXPECT_EQ(b.Read(FileName(0)), "changed 0\n");

  // Another 1%, then status: a full comparison that finds changes (the
  // baseline no longer matches), the case of every status after an edit.
  for (int i = 1; i < kFiles; i += 100) {
    WriteFile(a.vault() / FileName(i), "again " + std::to_string(i) + "\n");
  }
  Measure("1% status, full", /*packs=*/false, [&] {
    Result<StatusReport> status = SyncStatus(a.vault(), Options(a));
    HX_ASSERT_OK(status);
    EXPECT_EQ(status->local_changes.modified, static_cast<std::uint64_t>(kFiles / 100));
  });
}

}  // namespace
}  // namespace hx::testing
