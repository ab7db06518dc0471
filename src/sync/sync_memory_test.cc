// The memory regression test of issue 15 ("memory bounded by the change,
// not the vault"): on a generated vault of 20,000 small files, the peak
// heap of each sync phase, counted by the allocator (heap_peak_test_util.h:
// every byte live through operator new, at the size the allocator gave),
// must stay under a bound that scales the target of 100 MB at 100,000
// files: 1,000 bytes a file, plus a fixed allowance for what does not grow
// with the vault (kFixedAllowance below says what it is).
//
// The engine code measured is the hx binary's: the same libraries; only the
// allocator under operator new differs (glibc's malloc here, jemalloc in hx:
// src/cli/jemalloc_conf.cc), and the count is of bytes handed out, not of
// the pages either allocator keeps, so the bound is the same for both.
//
// A phase that is over the bound today is pinned at today's figure
// (kCeilings, each with the reason and the target it misses, recorded in
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
// What no phase's heap grows with the vault by, yet a phase may hold:
// one pack being filled (the uploader reserves its target size, 16 MiB and
// 1/32 for its index, up front: src/repo/pack.cc), and the uploader's read
// batch of up to 8 MiB (UploaderOptions::batch_bytes) with its sealed copy,
// and the session's fixed state (the vault context, the chunker's buffers,
// the store's client). 32 MiB covers them with ~2 MiB to spare; it is the
// same at 100,000 files, so the 100 MB target there leaves the vault-sized
// state ~68 MB.
constexpr std::int64_t kFixedAllowance = 32LL << 20;
const std::int64_t kBound = kFiles * kBytesPerFile + kFixedAllowance;

// Phases over kBound today, pinned at today's peak (rounded up by ~10%):
// the test fails if they grow. Each is a recorded target miss
// (docs/BENCHMARKS.md, "Memory"). Empty: every phase is under kBound.
const std::map<std::string, std::int64_t>& Ceilings() {
  static const auto* ceilings = new std::map<std::string, std::int64_t>{};
  return *ceilings;
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

class SyncMemoryTest : public ::testing::Test {
 protected:
  SyncOptions Options(const Device& device) {
    SyncOptions o = device.options(now_ += 1000);
    o.clock = &clock_;
    return o;
  }

  // Runs `phase`, records its peak heap, and checks it against the bound.
  template <typename Fn>
  void Measure(const std::string& name, Fn phase) {
    std::int64_t peak = 0;
    {
      const HeapPeak heap;
      phase();
      peak = heap.peak_bytes();
    }
    const auto ceiling = Ceilings().find(name);
    const std::int64_t bound = ceiling == Ceilings().end() ? kBound : ceiling->second;
    std::printf("%-16s peak heap %8.2f MiB (bound %6.2f MiB%s)\n", name.c_str(),
                static_cast<double>(peak) / (1 << 20), static_cast<double>(bound) / (1 << 20),
                ceiling == Ceilings().end() ? "" : ", a pinned ceiling: target missed");
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

  Measure("first push", [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "published");
    EXPECT_GE(pushed->changes.added, static_cast<std::uint64_t>(kFiles));
  });
  Measure("no-change push", [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "up_to_date");
  });
  Measure("status", [&] {
    Result<StatusReport> status = SyncStatus(a.vault(), Options(a));
    HX_ASSERT_OK(status);
  });
  // Without the scan baseline (.hx/baseline: lost, or a folder touched
  // since): the full comparison of the scan with the base.
  fs::remove(a.vault() / ".hx" / "baseline");
  Measure("status, full", [&] {
    Result<StatusReport> status = SyncStatus(a.vault(), Options(a));
    HX_ASSERT_OK(status);
    EXPECT_EQ(status->local_changes.added + status->local_changes.modified, 0u);
  });
  fs::remove(a.vault() / ".hx" / "baseline");
  Measure("no-change, full", [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "up_to_date");
  });

  Device b(*store, "b", /*seed=*/16);
  HX_ASSERT_OK(b.Init(now_));
  Measure("first pull", [&] {
    Result<PullReport> pulled = SyncPull(b.vault(), Options(b));
    HX_ASSERT_OK(pulled);
  });
  EXPECT_EQ(b.Read(FileName(kFiles - 1)), "file " + std::to_string(kFiles - 1) + "\n");

  // 1%: every hundredth file rewritten.
  for (int i = 0; i < kFiles; i += 100) {
    WriteFile(a.vault() / FileName(i), "changed " + std::to_string(i) + "\n");
  }
  Measure("1% push", [&] {
    Result<PushReport> pushed = SyncPush(a.vault(), Options(a));
    HX_ASSERT_OK(pushed);
    EXPECT_EQ(pushed->outcome, "published");
    EXPECT_EQ(pushed->changes.modified, static_cast<std::uint64_t>(kFiles / 100));
  });
  Measure("1% pull", [&] {
    Result<PullReport> pulled = SyncPull(b.vault(), Options(b));
    HX_ASSERT_OK(pulled);
  });
  EXPECT_EQ(b.Read(FileName(0)), "changed 0\n");
}

}  // namespace
}  // namespace hx::testing
