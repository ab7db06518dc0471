// Resumable transfers through the command line: `hx sync push` and `hx sync
// pull` killed with SIGKILL at a checkpoint (HX_TEST_CRASH_AT, cmd_sync.cc)
// and run again move only what is missing. The first run's progress is read
// from what it left (the packs on the folder store; the fetch journal in
// .hx/staging), the rerun's from its --json report. The engine-level cases
// with a counting store and 800 MB are src/sync/resume_test.cc.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

struct HxRun {
  int exit_code = -1;
  int signal = 0;
  std::string output;
};

HxRun RunHx(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    for (const std::string& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    ::setenv("HX_PASSPHRASE", "resume test passphrase", 1);
    std::vector<char*> argv = {const_cast<char*>(HX_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(HX_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  HxRun run;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) {
    run.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::is_directory("/dev/shm") ? std::string("/dev/shm")
                                                      : fs::temp_directory_path().string()) +
                        "/hx-resume-cli-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Seeded, incompressible bytes; distinct seeds give unrelated streams.
void WriteSeededFile(const fs::path& path, std::uint64_t size, std::uint64_t seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::uint64_t state = seed * 0xff51afd7ed558ccdULL ^ 0xc4ceb9fe1a85ec53ULL;
  std::vector<std::uint64_t> block(kMiB / 8);
  for (std::uint64_t done = 0; done < size; done += kMiB) {
    for (std::uint64_t& word : block) {
      std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
    out.write(reinterpret_cast<const char*>(block.data()),
              static_cast<std::streamsize>(std::min(kMiB, size - done)));
  }
}

// The sizes of the packs on a folder store (temporary files left out).
std::vector<std::uint64_t> Packs(const fs::path& store) {
  std::vector<std::uint64_t> out;
  if (!fs::exists(store / "blobs")) return out;
  for (const auto& e : fs::recursive_directory_iterator(store / "blobs")) {
    if (e.is_regular_file() && e.path().filename().string().size() == 64) {
      out.push_back(e.file_size());
    }
  }
  return out;
}

std::uint64_t Sum(const std::vector<std::uint64_t>& v) {
  std::uint64_t s = 0;
  for (std::uint64_t x : v) s += x;
  return s;
}

std::uint64_t Largest(const std::vector<std::uint64_t>& v) {
  std::uint64_t m = 0;
  for (std::uint64_t x : v) m = std::max(m, x);
  return m;
}

// The number after "<key>": in a --json report.
std::uint64_t JsonNumber(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  EXPECT_NE(at, std::string::npos) << key << " in " << json;
  if (at == std::string::npos) return 0;
  return std::strtoull(json.c_str() + at + key.size() + 3, nullptr, 10);
}

class ResumeCliTest : public ::testing::Test {
 protected:
  fs::path store() const { return dir_.path() / "store"; }
  fs::path vault(const std::string& name) const { return dir_.path() / name; }
  void Init(const std::string& name) {
    fs::create_directories(vault(name));
    HxRun r = RunHx({"sync", "init", vault(name).string(), store().string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  void WriteData(const std::string& name) {
    for (int i = 0; i < 4; ++i) {
      WriteSeededFile(vault(name) / ("d" + std::to_string(i)) / "data.bin", 16 * kMiB, 100 + i);
    }
  }
  TempDir dir_;
};

TEST_F(ResumeCliTest, AKilledPushUploadsOnItsRerunOnlyThePacksItHadNotStored) {
  Init("a");
  WriteData("a");
  HxRun killed = RunHx({"sync", "push", vault("a").string()},
                       {"HX_TEST_CRASH_AT=push.pack_stored:2"});
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  const std::uint64_t stored = Sum(Packs(store()));
  ASSERT_GT(stored, 0u);
  HxRun again = RunHx({"--json", "sync", "push", vault("a").string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::uint64_t uploaded = JsonNumber(again.output, "bytes_uploaded");
  const std::vector<std::uint64_t> packs = Packs(store());
  EXPECT_LE(stored + uploaded, Sum(packs) + Largest(packs))
      << "stored " << stored << ", rerun uploaded " << uploaded << ", needed " << Sum(packs);

  Init("b");
  HxRun pulled = RunHx({"sync", "pull", vault("b").string()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.output;
  for (int i = 0; i < 4; ++i) {
    const std::string rel = "d" + std::to_string(i) + "/data.bin";
    EXPECT_EQ(fs::file_size(vault("b") / rel), 16 * kMiB) << rel;
  }
}

TEST_F(ResumeCliTest, AKilledPullFetchesOnItsRerunOnlyWhatItHadNotStaged) {
  Init("a");
  WriteData("a");
  ASSERT_EQ(RunHx({"sync", "push", vault("a").string()}).exit_code, 0);
  Init("c");
  HxRun clean = RunHx({"--json", "sync", "pull", vault("c").string()});
  ASSERT_EQ(clean.exit_code, 0) << clean.output;
  const std::uint64_t all = JsonNumber(clean.output, "bytes_fetched");

  Init("b");
  HxRun killed = RunHx({"sync", "pull", vault("b").string()},
                       {"HX_TEST_CRASH_AT=pull.objects_staged:20"});
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  std::uint64_t staged = 0;
  for (const auto& e : fs::directory_iterator(vault("b") / ".hx" / "staging")) {
    if (e.path().filename().string().starts_with("fetched-")) staged += e.file_size();
  }
  ASSERT_GT(staged, 0u);
  HxRun again = RunHx({"--json", "sync", "pull", vault("b").string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::uint64_t fetched = JsonNumber(again.output, "bytes_fetched");
  EXPECT_LE(fetched + staged, all + Largest(Packs(store())))
      << "staged " << staged << ", rerun fetched " << fetched << ", a clean pull " << all;
  EXPECT_LT(fetched, all);
  for (int i = 0; i < 4; ++i) {
    const std::string rel = "d" + std::to_string(i) + "/data.bin";
    std::ifstream x(vault("a") / rel, std::ios::binary), y(vault("b") / rel, std::ios::binary);
    EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(x), std::istreambuf_iterator<char>(),
                           std::istreambuf_iterator<char>(y), std::istreambuf_iterator<char>()))
        << rel;
  }
}

}  // namespace
