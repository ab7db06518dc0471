// Resumable transfers in the agent (issue 12, items 5 and 6): a real
// `hx sync watch` SIGKILLed midway through pushing (or pulling) a large set
// at a checkpoint (HX_TEST_CRASH_AT), then restarted, moves after the
// restart at most one pack's worth of the bytes it had already moved. What
// the first run moved is read from what it left (the packs on the folder
// store; the fetch journal in .hx/staging), what the restarted agent moved
// from its counters (.hx/agent.json: bytes_uploaded, bytes_fetched). The
// engine's cases with a counting store are src/sync/resume_test.cc, the
// commands' src/cli/resume_cli_test.cc.
//
// Size: HX_RESUME_TEST_MB megabytes (default 800; 96 under sanitizers), as
// hx_resume_test.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "agent/watch_process_test_util.h"
#include "base/seeded_file_test_util.h"

namespace hx::watch_testing {
namespace {

using hx::testing::FolderStorePackSizes;
using hx::testing::Largest;
using hx::testing::Sum;
using hx::testing::WriteSeededFile;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kFileBytes = 16 * kMiB;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t kDefaultMiB = 96;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr std::uint64_t kDefaultMiB = 96;
#else
constexpr std::uint64_t kDefaultMiB = 800;
#endif
#else
constexpr std::uint64_t kDefaultMiB = 800;
#endif

std::uint64_t TestBytes() {
  if (const char* env = std::getenv("HX_RESUME_TEST_MB"); env != nullptr && *env != '\0') {
    return std::max<std::uint64_t>(2 * kFileBytes / kMiB, std::strtoull(env, nullptr, 10)) * kMiB;
  }
  return kDefaultMiB * kMiB;
}

bool SameBytes(const fs::path& x, const fs::path& y) {
  std::ifstream a(x, std::ios::binary), b(y, std::ios::binary);
  if (!a || !b) return false;
  std::vector<char> p(kMiB), q(kMiB);
  while (true) {
    a.read(p.data(), static_cast<std::streamsize>(p.size()));
    b.read(q.data(), static_cast<std::streamsize>(q.size()));
    if (a.gcount() != b.gcount()) return false;
    if (a.gcount() == 0) return true;
    if (!std::equal(p.begin(), p.begin() + a.gcount(), q.begin())) return false;
  }
}

class WatchResumeTest : public ::testing::Test {
 protected:
  fs::path vault(const std::string& name) const { return dir_.path() / name; }
  fs::path store() const { return dir_.path() / "store"; }
  std::vector<std::string> Env(const std::string& device) const {
    return {"HOME=" + (dir_.path() / ("home-" + device)).string()};
  }
  void Init(const std::string& name) {
    fs::create_directories(vault(name));
    HxRun run = RunHx({"sync", "init", vault(name).string(), store().string()}, Env(name));
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  std::unique_ptr<AgentProcess> StartAgent(const std::string& name,
                                           std::vector<std::string> extra_env = {}) {
    std::vector<std::string> env = Env(name);
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    return std::make_unique<AgentProcess>(
        std::vector<std::string>{"sync", "watch", vault(name).string()}, env,
        dir_.path() / ("agent-" + name + ".log"));
  }
  int Files() const { return static_cast<int>(TestBytes() / kFileBytes); }
  std::string Rel(int i) const { return "d" + std::to_string(i % 8) + "/f" + std::to_string(i) + ".bin"; }
  void WriteData(const std::string& name) {
    for (int i = 0; i < Files(); ++i) {
      WriteSeededFile(vault(name) / Rel(i), kFileBytes, 500 + static_cast<std::uint64_t>(i));
    }
  }
  bool HoldsAllData(const std::string& name) const {
    for (int i = 0; i < Files(); ++i) {
      std::error_code ec;
      if (fs::file_size(vault(name) / Rel(i), ec) != kFileBytes || ec) return false;
    }
    return true;
  }

  TempDir dir_;
};

TEST_F(WatchResumeTest, AnAgentKilledWhilePushingUploadsAfterItsRestartAtMostOnePackAgain) {
  Init("a");
  WriteData("a");
  // About one pack per 16 MiB of incompressible data: killed about halfway.
  const int nth = std::max(1, Files() / 2);
  auto a = StartAgent("a", {"HX_TEST_CRASH_AT=push.pack_stored:" + std::to_string(nth)});
  ASSERT_EQ(a->Wait(std::chrono::seconds(540)), 128 + SIGKILL) << a->Log();
  const std::uint64_t stored = Sum(FolderStorePackSizes(store()));
  ASSERT_GT(stored, 0u);

  a = StartAgent("a");
  ASSERT_TRUE(WaitFor([&] { return Counter(vault("a"), "pushes_published") >= 1 && AgentIdle(vault("a")); },
                      std::chrono::seconds(540)))
      << a->Log();
  const std::uint64_t uploaded = Counter(vault("a"), "bytes_uploaded");
  const std::vector<std::uint64_t> packs = FolderStorePackSizes(store());
  std::printf("agent killed at push.pack_stored:%d: %llu of %llu pack bytes stored; after the "
              "restart it uploaded %llu (largest pack %llu)\n",
              nth, static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(Sum(packs)),
              static_cast<unsigned long long>(uploaded),
              static_cast<unsigned long long>(Largest(packs)));
  EXPECT_LE(stored + uploaded, Sum(packs) + Largest(packs))
      << "stored " << stored << ", uploaded after the restart " << uploaded << ", needed "
      << Sum(packs);
  EXPECT_LT(uploaded, Sum(packs));  // it did not start over
  EXPECT_EQ(a->Signal(SIGTERM), 0) << a->Log();

  // Another device reads the published state whole.
  Init("c");
  HxRun pulled = RunHx({"sync", "pull", vault("c").string()}, Env("c"));
  ASSERT_EQ(pulled.exit_code, 0) << pulled.output;
  for (int i = 0; i < Files(); ++i) EXPECT_TRUE(SameBytes(vault("a") / Rel(i), vault("c") / Rel(i))) << Rel(i);
}

TEST_F(WatchResumeTest, AnAgentKilledWhilePullingFetchesAfterItsRestartAtMostOnePackAgain) {
  Init("a");
  WriteData("a");
  HxRun pushed = RunHx({"sync", "push", vault("a").string()}, Env("a"));
  ASSERT_EQ(pushed.exit_code, 0) << pushed.output;

  Init("b");
  // The fetch journal passes the checkpoint about once per MiB staged:
  // killed about halfway.
  const std::uint64_t nth = std::max<std::uint64_t>(1, TestBytes() / kMiB / 2);
  auto b = StartAgent("b", {"HX_TEST_CRASH_AT=pull.objects_staged:" + std::to_string(nth)});
  ASSERT_EQ(b->Wait(std::chrono::seconds(540)), 128 + SIGKILL) << b->Log();
  std::uint64_t staged = 0;
  for (const auto& e : fs::directory_iterator(vault("b") / ".hx" / "staging")) {
    if (e.path().filename().string().starts_with("fetched-")) staged += e.file_size();
  }
  ASSERT_GT(staged, 0u);

  b = StartAgent("b");
  ASSERT_TRUE(WaitFor([&] { return HoldsAllData("b") && AgentIdle(vault("b")); },
                      std::chrono::seconds(540)))
      << b->Log();
  const std::uint64_t fetched = Counter(vault("b"), "bytes_fetched");
  const std::vector<std::uint64_t> packs = FolderStorePackSizes(store());
  std::printf("agent killed at pull.objects_staged:%llu: %llu bytes staged; after the restart it "
              "fetched %llu of %llu pack bytes (largest pack %llu)\n",
              static_cast<unsigned long long>(nth), static_cast<unsigned long long>(staged),
              static_cast<unsigned long long>(fetched),
              static_cast<unsigned long long>(Sum(packs)),
              static_cast<unsigned long long>(Largest(packs)));
  EXPECT_LE(fetched + staged, Sum(packs) + Largest(packs))
      << "staged " << staged << ", fetched after the restart " << fetched << ", the store's packs "
      << Sum(packs);
  EXPECT_LT(fetched, Sum(packs));  // it did not start over
  EXPECT_EQ(Counter(vault("b"), "pushes_published"), 0u);  // nothing pushed back
  EXPECT_EQ(b->Signal(SIGTERM), 0) << b->Log();
  for (int i = 0; i < Files(); ++i) EXPECT_TRUE(SameBytes(vault("a") / Rel(i), vault("b") / Rel(i))) << Rel(i);
}

}  // namespace
}  // namespace hx::watch_testing
