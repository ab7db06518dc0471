#include "sync/resume_test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <vector>

namespace hx::testing {

namespace fs = std::filesystem;

// `total` bytes in eight files (and a few small ones), so that packs mix
// chunks of several files and a pull installs the big files one by one.
void WriteDataSet(const fs::path& vault, std::uint64_t total, std::uint64_t seed) {
  for (int i = 0; i < 8; ++i) {
    WriteSeededFile(vault / ("data" + std::to_string(i % 3)) / ("f" + std::to_string(i) + ".bin"),
                    total / 8, seed * 1000 + static_cast<std::uint64_t>(i));
  }
  for (int i = 0; i < 5; ++i) {
    WriteSeededFile(vault / "small" / ("s" + std::to_string(i)), 1000 + 37 * i, seed + 77 + i);
  }
}

// Every entry of a vault (.hx/ left out): "dir", "link:<target>" or, for a
// file, "file:<size>:<FNV-1a 64 of its bytes>", read in 1 MiB pieces: a
// failed comparison prints a few lines, and an 800 MB vault is never held
// in memory.
std::map<std::string, std::string> VaultTree(const fs::path& root) {
  std::map<std::string, std::string> out;
  std::vector<char> buffer(kMiB);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it) {
    const std::string rel = fs::relative(it->path(), root).string();
    if (rel == ".hx") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink()) {
      out[rel] = "link:" + fs::read_symlink(it->path()).string();
    } else if (it->is_directory()) {
      out[rel] = "dir";
    } else {
      std::ifstream in(it->path(), std::ios::binary);
      std::uint64_t hash = 0xcbf29ce484222325ULL;
      std::uint64_t size = 0;
      while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto n = static_cast<std::size_t>(in.gcount());
        for (std::size_t i = 0; i < n; ++i) {
          hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 0x100000001b3ULL;
        }
        size += n;
      }
      out[rel] = "file:" + std::to_string(size) + ":" + std::to_string(hash);
    }
  }
  return out;
}

// The packs on the store: key -> size.
std::map<std::string, std::uint64_t> StoredPacks(const StoreFixture& fixture) {
  std::map<std::string, std::uint64_t> out;
  Result<Target> target = ParseTargetUri(fixture.TargetUri(), fixture.Options(), "/");
  EXPECT_TRUE(target.ok());
  if (!target.ok()) return out;
  Result<std::unique_ptr<Store>> store = OpenStore(*target);
  EXPECT_TRUE(store.ok());
  if (!store.ok()) return out;
  Result<std::vector<StoreObjectInfo>> listed = (*store)->List("blobs/");
  EXPECT_TRUE(listed.ok());
  if (!listed.ok()) return out;
  for (const StoreObjectInfo& info : *listed) out[info.key] = info.size;
  return out;
}

std::uint64_t Sum(const std::map<std::string, std::uint64_t>& packs) {
  std::uint64_t sum = 0;
  for (const auto& [key, size] : packs) sum += size;
  return sum;
}

std::uint64_t Largest(const std::map<std::string, std::uint64_t>& packs) {
  std::uint64_t largest = 0;
  for (const auto& [key, size] : packs) largest = std::max(largest, size);
  return largest;
}

// Runs `run` (a push or pull of `device`) in a forked child that kills
// itself with SIGKILL the `nth` time the engine passes `point`; the child
// first writes the pack bytes its store had read (PackCounter::down) to a
// pipe. Returns them; fails the test if the child was not killed there.
std::uint64_t RunKilledAt(Device& device, const std::string& point, int nth,
                          const std::function<void(const SyncOptions&)>& run) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    Meter meter(device);
    SyncOptions options = device.options(5000);
    int seen = 0;
    options.checkpoint = [&](std::string_view at) {
      if (at != point || ++seen != nth) return;
      const std::uint64_t down = meter.packs() != nullptr ? meter.packs()->down.load() : 0;
      if (::write(fds[1], &down, sizeof down) != static_cast<ssize_t>(sizeof down)) ::_exit(5);
      ::kill(::getpid(), SIGKILL);
    };
    run(options);
    ::_exit(3);  // never killed: the checkpoint was not reached
  }
  ::close(fds[1]);
  std::uint64_t down = 0;
  const ssize_t got = ::read(fds[0], &down, sizeof down);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << point << ":" << nth << " was not reached (exit " << WEXITSTATUS(status) << ")";
  EXPECT_EQ(got, static_cast<ssize_t>(sizeof down));
  return down;
}

void Push(const SyncOptions& options, const fs::path& vault) { (void)SyncPush(vault, options); }
void Pull(const SyncOptions& options, const fs::path& vault) { (void)SyncPull(vault, options); }


// Fails every upload of a pack after the first `stored` (a connection lost
// for good), or every read of one after the first `read`.
std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> LoseConnection(StoreOp op,
                                                                             std::uint64_t after) {
  return [op, after](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    auto faulty = std::make_unique<FaultInjectingStore>(std::move(inner), /*seed=*/7);
    FaultRule rule = FaultRule::FailPrefix(op, "blobs/");
    rule.skip = after;
    rule.times = FaultRule::kForever;
    faulty->AddRule(rule);
    return faulty;
  };
}

}  // namespace hx::testing
