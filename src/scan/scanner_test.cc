#include "scan/scanner.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "scan/file_release.h"
#include "base/temp_dir_test_util.h"
#include "chunk/chunk_test_util.h"
#include "os/fault_env.h"
#include "hash/blake3.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

using hx::testing::TempDir;

// Far in the future, so that no file is "racy" unless a test says so.
constexpr std::int64_t kLater = std::numeric_limits<std::int64_t>::max();

// While alive, the process runs with an unprivileged effective uid if it
// was root: root reads any file, so permission tests would prove nothing.
class AsUnprivilegedUser {
 public:
  AsUnprivilegedUser() {
    if (::geteuid() != 0) {
      ok_ = true;
      return;
    }
    ok_ = ::setegid(65534) == 0 && ::seteuid(65534) == 0;
    dropped_ = ok_;
  }
  ~AsUnprivilegedUser() {
    if (dropped_) {
      EXPECT_EQ(::seteuid(0), 0);
      EXPECT_EQ(::setegid(0), 0);
    }
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  bool dropped_ = false;
};

ChunkerOptions SmallChunks() {
  ChunkerOptions options;
  options.min_size = 256;
  options.avg_size = 1024;
  options.max_size = 4096;
  return options;
}

ObjectId IdOf(std::span<const std::uint8_t> bytes) { return Blake3Hash(bytes); }

std::span<const std::uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

class ScannerTest : public ::testing::Test {
 protected:
  ScannerTest() : cdc_(std::move(FastCdc::Create(SmallChunks(), GearTable::Default())).value()) {
    root_ = dir_.path() / "vault";
    fs::create_directory(root_);
    // Readable by the unprivileged user of the permission tests.
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
    chunk_id_ = [this](std::span<const std::uint8_t> bytes) {
      ++chunk_calls_;
      if (on_chunk_) {
        on_chunk_(bytes);
      }
      return IdOf(bytes);
    };
  }

  fs::path At(const std::string& rel) const { return root_ / rel; }

  void Write(const std::string& rel, std::string_view content, fs::perms perms = fs::perms(0644)) {
    fs::create_directories(At(rel).parent_path());
    std::ofstream(At(rel), std::ios::binary | std::ios::trunc) << content;
    fs::permissions(At(rel), perms);
  }

  void SetMtime(const std::string& rel, std::int64_t ns) {
    const struct timespec times[2] = {{0, UTIME_OMIT}, {ns / 1'000'000'000, ns % 1'000'000'000}};
    ASSERT_EQ(::utimensat(AT_FDCWD, At(rel).c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }

  FileStat StatOf(const std::string& rel) const {
    struct stat st {};
    EXPECT_EQ(::lstat(At(rel).c_str(), &st), 0);
    FileStat stat;
    stat.size = static_cast<std::uint64_t>(st.st_size);
    stat.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    stat.ctime_ns = st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
    stat.inode = st.st_ino;
    stat.mode = st.st_mode;
    return stat;
  }

  // The Entry a file with `content` must get.
  Entry ExpectedFile(std::string_view content, bool executable, std::int64_t mtime_ns) const {
    Entry entry;
    entry.kind = EntryKind::kFile;
    entry.size = content.size();
    entry.executable = executable;
    entry.mtime_ns = mtime_ns;
    for (const ChunkSpan& span : SplitIntoChunks(cdc_, Bytes(content))) {
      const auto bytes = Bytes(content).subspan(span.offset, span.length);
      entry.chunks.push_back({IdOf(bytes), span.length});
    }
    return entry;
  }

  Result<ScanResult> Scan(const StatCache& cache = {}, int threads = 2,
                          std::int64_t now_ns = kLater) {
    ScanOptions options;
    options.threads = threads;
    options.now_ns = now_ns;
    return ScanVault(root_, options, cache, cdc_, chunk_id_);
  }

  ScanResult ScanOk(const StatCache& cache = {}, int threads = 2, std::int64_t now_ns = kLater) {
    Result<ScanResult> result = Scan(cache, threads, now_ns);
    EXPECT_TRUE(result.ok()) << result.error().ToShortString();
    return result.ok() ? std::move(result).value() : ScanResult{};
  }

  TempDir dir_;
  fs::path root_;
  FastCdc cdc_;
  ChunkIdFn chunk_id_;
  std::atomic<int> chunk_calls_{0};
  std::function<void(std::span<const std::uint8_t>)> on_chunk_;
};

Entry Dir() {
  Entry entry;
  entry.kind = EntryKind::kDir;
  return entry;
}

Entry Link(std::string target) {
  Entry entry;
  entry.kind = EntryKind::kSymlink;
  entry.symlink_target = std::move(target);
  return entry;
}

std::string BigContent() {
  const std::vector<std::uint8_t> bytes = testing::RandomBytes(7, 20000);
  return std::string(bytes.begin(), bytes.end());
}

TEST_F(ScannerTest, AnEmptyFolderGivesAnEmptyResult) {
  const ScanResult result = ScanOk();
  EXPECT_TRUE(result.entries.empty());
  EXPECT_TRUE(result.stat_changes.empty());
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_TRUE(result.errors.empty());
}

TEST_F(ScannerTest, AMissingVaultFolderIsNotFound) {
  fs::remove(root_);
  Result<ScanResult> result = Scan();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(result.error().category, Category::kNotFound);
  EXPECT_NE(result.error().message.find("missing"), std::string::npos);
  EXPECT_EQ(result.error().details.at("path"), root_.string());
}

TEST_F(ScannerTest, AVaultPathThatIsAFileIsNotFound) {
  fs::remove(root_);
  std::ofstream(root_) << "not a folder";
  Result<ScanResult> result = Scan();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().category, Category::kNotFound);
}

TEST_F(ScannerTest, FilesDirsSymlinksAndEmptyDirsBecomeEntries) {
  const std::string big = BigContent();
  Write("a.txt", "hello");
  Write("big.bin", big);
  Write("run.sh", "#!/bin/sh\n", fs::perms(0755));
  Write("empty", "");
  Write("dir/sub/deep.txt", "deep");
  Write("ünïcødé/日本.txt", "unicode");
  Write("name\nwith newline", "nl");
  Write(".hidden", "h");
  fs::create_directories(At("emptydir"));
  fs::create_directory_symlink("dir/sub", At("link"));
  fs::create_symlink("nowhere", At("dangling"));
  const std::int64_t t = 1'700'000'000'123'456'789;
  for (const char* file : {"a.txt", "big.bin", "run.sh", "empty", "dir/sub/deep.txt",
                           "ünïcødé/日本.txt", "name\nwith newline", ".hidden"}) {
    SetMtime(file, t);
  }

  const ScanResult result = ScanOk();
  const EntryMap expected = {
      {".hidden", ExpectedFile("h", false, t)},
      {"a.txt", ExpectedFile("hello", false, t)},
      {"big.bin", ExpectedFile(big, false, t)},
      {"dangling", Link("nowhere")},
      {"dir", Dir()},
      {"dir/sub", Dir()},
      {"dir/sub/deep.txt", ExpectedFile("deep", false, t)},
      {"empty", ExpectedFile("", false, t)},
      {"emptydir", Dir()},
      {"link", Link("dir/sub")},
      {"name\nwith newline", ExpectedFile("nl", false, t)},
      {"run.sh", ExpectedFile("#!/bin/sh\n", true, t)},
      {"ünïcødé", Dir()},
      {"ünïcødé/日本.txt", ExpectedFile("unicode", false, t)},
  };
  EXPECT_EQ(result.entries, expected);
  EXPECT_GT(result.entries.at("big.bin").chunks.size(), 3u);
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(result.stats.files, 8u);
  EXPECT_EQ(result.stats.dirs, 4u);
  EXPECT_EQ(result.stats.symlinks, 2u);
  EXPECT_EQ(result.stats.files_hashed, 8u);
  EXPECT_EQ(result.stats.bytes_hashed, 5 + big.size() + 10 + 4 + 7 + 2 + 1);
  EXPECT_EQ(result.stats.files_from_cache, 0u);
  // Every file read goes into the stat cache with its entry's chunks.
  EXPECT_EQ(result.stat_changes.put.size(), 8u);
  EXPECT_TRUE(result.stat_changes.remove.empty());
  EXPECT_EQ(result.stat_changes.put.at("big.bin").chunks, expected.at("big.bin").chunks);
  EXPECT_EQ(result.stat_changes.put.at("big.bin").stat, StatOf("big.bin"));
}

TEST_F(ScannerTest, AnUnchangedFileIsNotHashedAgain) {
  Write("a.txt", "hello");
  Write("d/b.txt", BigContent());
  const ScanResult first = ScanOk();
  const int calls = chunk_calls_;
  const ScanResult second = ScanOk(first.stat_changes.put);
  EXPECT_EQ(chunk_calls_, calls);
  EXPECT_EQ(second.stats.files_hashed, 0u);
  EXPECT_EQ(second.stats.bytes_hashed, 0u);
  EXPECT_EQ(second.stats.files_from_cache, 2u);
  EXPECT_EQ(second.entries, first.entries);
  EXPECT_TRUE(second.stat_changes.empty());
}

TEST_F(ScannerTest, TheCachedChunksAreTakenAsIsWhenTheStatMatches) {
  Write("a.txt", "hello");
  StatCache cache;
  StatCacheEntry& cached = cache["a.txt"];
  cached.stat = StatOf("a.txt");
  cached.chunks = {{IdOf(Bytes("a stale hash")), 5}};
  const ScanResult result = ScanOk(cache);
  EXPECT_EQ(result.stats.files_hashed, 0u);
  EXPECT_EQ(result.entries.at("a.txt").chunks, cached.chunks);
}

TEST_F(ScannerTest, AChangeOfSizeMtimeCtimeOrInodeInvalidatesTheCacheButModeDoesNot) {
  Write("a.txt", "hello");
  const Entry correct = ExpectedFile("hello", false, StatOf("a.txt").mtime_ns);
  const std::vector<std::pair<const char*, std::function<void(FileStat&)>>> changes = {
      {"size", [](FileStat& s) { s.size += 1; }},
      {"mtime", [](FileStat& s) { s.mtime_ns += 1; }},
      {"ctime", [](FileStat& s) { s.ctime_ns += 1; }},
      {"inode", [](FileStat& s) { s.inode += 1; }},
  };
  for (const auto& [field, change] : changes) {
    StatCache cache;
    cache["a.txt"].stat = StatOf("a.txt");
    cache["a.txt"].chunks = {{IdOf(Bytes("stale")), 5}};
    change(cache["a.txt"].stat);
    const ScanResult result = ScanOk(cache);
    EXPECT_EQ(result.stats.files_hashed, 1u) << field;
    EXPECT_EQ(result.entries.at("a.txt"), correct) << field;
  }
  StatCache cache;
  cache["a.txt"].stat = StatOf("a.txt");
  cache["a.txt"].stat.mode ^= 0100;
  cache["a.txt"].chunks = correct.chunks;
  EXPECT_EQ(ScanOk(cache).stats.files_hashed, 0u);
}

TEST_F(ScannerTest, RealEditsAreDetected) {
  Write("grow.txt", "12345");
  Write("touched.txt", "same");
  Write("replaced.txt", "aaaa");
  Write("chmod.sh", "echo");
  const ScanResult first = ScanOk();

  Write("grow.txt", "123456");                                              // size
  SetMtime("touched.txt", StatOf("touched.txt").mtime_ns + 1'000'000'000);  // mtime only
  {
    // Same size, same mtime, new inode: an editor's write-and-rename.
    const std::int64_t mtime = StatOf("replaced.txt").mtime_ns;
    Write("replaced.tmp", "bbbb");
    SetMtime("replaced.tmp", mtime);
    fs::rename(At("replaced.tmp"), At("replaced.txt"));
  }
  fs::permissions(At("chmod.sh"), fs::perms(0755));  // ctime (and the x bit)

  const ScanResult second = ScanOk(first.stat_changes.put);
  EXPECT_EQ(second.stats.files_hashed, 4u);
  EXPECT_EQ(second.entries.at("grow.txt").size, 6u);
  EXPECT_EQ(second.entries.at("touched.txt").chunks, first.entries.at("touched.txt").chunks);
  EXPECT_NE(second.entries.at("touched.txt").mtime_ns, first.entries.at("touched.txt").mtime_ns);
  EXPECT_EQ(second.entries.at("replaced.txt"),
            ExpectedFile("bbbb", false, StatOf("replaced.txt").mtime_ns));
  EXPECT_TRUE(second.entries.at("chmod.sh").executable);
  EXPECT_FALSE(first.entries.at("chmod.sh").executable);
}

TEST_F(ScannerTest, CachedPathsTheScanDoesNotConfirmAreRemovedFromTheCache) {
  Write("same.txt", "same");
  Write("edited.txt", "v1");
  Write("deleted.txt", "gone soon");
  Write("becomes_dir", "file for now");
  Write("racy.txt", "r1");
  StatCache cache = ScanOk().stat_changes.put;
  cache["was_never_a_file"] = cache.at("same.txt");

  Write("edited.txt", "v2 longer");
  fs::remove(At("deleted.txt"));
  fs::remove(At("becomes_dir"));
  fs::create_directory(At("becomes_dir"));
  Write("racy.txt", "r2 longer");

  const ScanResult result = ScanOk(cache);
  EXPECT_EQ(result.stat_changes.remove,
            (std::vector<std::string>{"becomes_dir", "deleted.txt", "was_never_a_file"}));
  EXPECT_EQ(result.stat_changes.put.size(), 2u);
  EXPECT_TRUE(result.stat_changes.put.contains("edited.txt"));
  EXPECT_TRUE(result.stat_changes.put.contains("racy.txt"));
  StatCache applied = cache;
  result.stat_changes.ApplyTo(applied);
  std::vector<std::string> paths;
  for (const auto& [path, entry] : applied) {
    paths.push_back(path);
  }
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"edited.txt", "racy.txt", "same.txt"}));

  // When the edited files are racy, their stale entries go and nothing new
  // is cached for them.
  const FileStat racy = StatOf("racy.txt");
  const ScanResult racy_scan = ScanOk(cache, 2, std::max(racy.mtime_ns, racy.ctime_ns));
  EXPECT_TRUE(racy_scan.stat_changes.put.empty());
  EXPECT_EQ(racy_scan.stat_changes.remove,
            (std::vector<std::string>{"becomes_dir", "deleted.txt", "edited.txt", "racy.txt",
                                      "was_never_a_file"}));
}

TEST_F(ScannerTest, NamesThatSortAroundTheSlashAreAllListed) {
  // '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), '0' after: the
  // entries are built in the order "a", "a-b", "a.txt", "a/x", "a0"
  // (path_order.h).
  Write("a/x", "1");
  Write("a-b", "2");
  Write("a.txt", "3");
  Write("a0", "4");
  Write("a/y/z", "5");
  const ScanResult result = ScanOk();
  std::vector<std::string> paths;
  for (const auto& [path, entry] : result.entries) {
    paths.push_back(path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a-b", "a.txt", "a/x", "a/y", "a/y/z", "a0"}));
}

TEST_F(ScannerTest, AFileModifiedJustBeforeTheScanIsHashedButNotCached) {
  Write("fresh.txt", "new");
  Write("old.txt", "old");
  SetMtime("old.txt", 1'000'000'000'000'000'000);
  // The scan "starts" right at fresh.txt's change time: a write in the same
  // timestamp tick could follow unseen, so its stat must not be trusted.
  const FileStat fresh = StatOf("fresh.txt");
  const ScanResult result = ScanOk({}, 2, std::max(fresh.mtime_ns, fresh.ctime_ns));
  EXPECT_TRUE(result.entries.contains("fresh.txt"));
  EXPECT_FALSE(result.stat_changes.put.contains("fresh.txt"));
  // old.txt's mtime is old but its ctime is now: also racy.
  EXPECT_FALSE(result.stat_changes.put.contains("old.txt"));

  const std::int64_t latest = std::max(fresh.ctime_ns, StatOf("old.txt").ctime_ns);
  const ScanResult later = ScanOk({}, 2, latest + kRacyWindowNs + 1);
  EXPECT_TRUE(later.stat_changes.put.contains("fresh.txt"));
  EXPECT_TRUE(later.stat_changes.put.contains("old.txt"));
}

TEST_F(ScannerTest, WithoutNowNsTheRacyCheckReadsTheGivenClockNotTheMachines) {
  Write("file.txt", "content");
  const FileStat stat = StatOf("file.txt");
  const std::int64_t changed_ms = std::max(stat.mtime_ns, stat.ctime_ns) / 1'000'000;
  // A clock at the file's change time: racy, hashed but not cached.
  FakeClock at_change(changed_ms);
  ScanOptions options;
  options.clock = &at_change;
  Result<ScanResult> racy = ScanVault(root_, options, {}, cdc_, chunk_id_);
  ASSERT_TRUE(racy.ok()) << racy.error().ToShortString();
  EXPECT_TRUE(racy->entries.contains("file.txt"));
  EXPECT_FALSE(racy->stat_changes.put.contains("file.txt"));
  // The same scan on a clock a minute later caches it.
  FakeClock later(changed_ms + 60'000);
  options.clock = &later;
  Result<ScanResult> settled = ScanVault(root_, options, {}, cdc_, chunk_id_);
  ASSERT_TRUE(settled.ok()) << settled.error().ToShortString();
  EXPECT_TRUE(settled->stat_changes.put.contains("file.txt"));
}

// Every call of the scan goes through ScanOptions::env: failing the Nth one
// fails the scan or one item, with the errno's category, never silently.
TEST_F(ScannerTest, EveryFileSystemCallGoesThroughTheEnvAndItsFailuresAreReported) {
  Write("a.txt", "a");
  Write("dir/b.txt", "b");
  Write("dir/sub/c.txt", "c");
  std::filesystem::create_symlink("a.txt", At("link"));
  FaultInjectingEnv env(Env::Default());
  ScanOptions options;
  options.threads = 1;
  options.now_ns = kLater;
  options.env = &env;
  ASSERT_TRUE(ScanVault(root_, options, {}, cdc_, chunk_id_).ok());
  const std::uint64_t calls = env.calls();
  ASSERT_GT(calls, 10u);  // open, readdir, stat, readlink, per file open/fstat/read...
  for (const EnvFault fault : {EnvFault::kNoSpace, EnvFault::kAccess, EnvFault::kIo}) {
    const Category expected = fault == EnvFault::kNoSpace ? Category::kNoSpace
                              : fault == EnvFault::kAccess ? Category::kAuth
                                                           : Category::kIo;
    for (std::uint64_t n = 1; n <= calls; ++n) {
      env.Arm(n, fault);
      Result<ScanResult> result = ScanVault(root_, options, {}, cdc_, chunk_id_);
      ASSERT_TRUE(env.fired()) << n;
      if (!result.ok()) {
        EXPECT_EQ(result.error().category, expected) << n << ": " << result.error().ToShortString();
        EXPECT_TRUE(result.error().details.contains("path")) << n;
        continue;
      }
      // The scan went on: the failed item is an error, not a deletion.
      ASSERT_EQ(result->errors.size(), 1u) << n << " " << ToString(fault);
      EXPECT_EQ(result->errors[0].error.category, expected) << n;
      EXPECT_FALSE(result->entries.contains(result->errors[0].path)) << n;
    }
  }
  env.Disarm();
}

TEST_F(ScannerTest, IgnoredPathsAreLeftOutAndIgnoredFoldersAreNotEntered) {
  Write(".hxignore", "*.log\nbuild/\n!keep.log\n!.hx\n");
  Write("a.log", "x");
  Write("keep.log", "k");
  Write("sub/b.log", "x");
  Write("build/one.o", "1");
  Write("build/deep/two.o", "2");
  Write("src/build/three.o", "3");
  Write(".hx/index.sqlite", "state");
  Write("sub/.hx/kept", "a .hx below the root is ordinary");
  const ScanResult result = ScanOk();
  std::vector<std::string> paths;
  for (const auto& [path, entry] : result.entries) {
    paths.push_back(path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{".hxignore", "keep.log", "src", "sub", "sub/.hx",
                                             "sub/.hx/kept"}));
  // a.log, sub/b.log, build, src/build; nothing inside the ignored folders.
  EXPECT_EQ(result.stats.ignored, 4u);
  EXPECT_EQ(result.stats.files_hashed, 3u);
  EXPECT_TRUE(result.ignore_rules.IsIgnored("build/x", false));
}

TEST_F(ScannerTest, AnUnusableIgnoreFileFailsTheScan) {
  Write("rules", "*.log");
  fs::create_symlink("rules", At(".hxignore"));
  Result<ScanResult> result = Scan();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().category, Category::kUnsupported);
}

TEST_F(ScannerTest, SocketsAndFifosAreSkipped) {
  Write("plain.txt", "p");
  ASSERT_EQ(::mkfifo(At("pipe").c_str(), 0644), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string socket_path = At("sock").string();
  ASSERT_LT(socket_path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const ScanResult result = ScanOk();
  ::close(sock);
  EXPECT_EQ(result.entries.size(), 1u);
  EXPECT_EQ(result.skipped, (std::vector<ScanSkip>{{"pipe", ScanSkipReason::kSpecialFile},
                                                   {"sock", ScanSkipReason::kSpecialFile}}));
  EXPECT_EQ(ToString(ScanSkipReason::kSpecialFile), "special_file");
}

TEST_F(ScannerTest, NamesThatAreNotUtf8AreSkippedWithTheirSubtree) {
  Write("good.txt", "g");
  Write("bad\xff/inside.txt", "i");
  Write("x\xfe.txt", "x");
  fs::create_symlink("target\xff", At("badlink"));
  const ScanResult result = ScanOk();
  EXPECT_EQ(result.entries.size(), 1u);
  EXPECT_TRUE(result.entries.contains("good.txt"));
  EXPECT_EQ(result.skipped,
            (std::vector<ScanSkip>{{"bad\\xff", ScanSkipReason::kInvalidName},
                                   {"badlink", ScanSkipReason::kInvalidSymlinkTarget},
                                   {"x\\xfe.txt", ScanSkipReason::kInvalidName}}));
}

TEST_F(ScannerTest, UnreadableFilesAndFoldersArePerItemErrors) {
  Write("ok.txt", "fine");
  Write("secret.txt", "no");
  Write("closed/inner.txt", "no");
  fs::permissions(At("secret.txt"), fs::perms::none);
  fs::permissions(At("closed"), fs::perms::none);
  Result<ScanResult> result = InternalError("not run");
  {
    AsUnprivilegedUser user;
    if (!user.ok()) {
      GTEST_SKIP() << "running as root and cannot drop privileges";
    }
    result = Scan();
  }
  ASSERT_TRUE(result.ok()) << result.error().ToShortString();
  EXPECT_EQ(result->entries.size(), 1u);
  EXPECT_TRUE(result->entries.contains("ok.txt"));
  ASSERT_EQ(result->errors.size(), 2u);
  EXPECT_EQ(result->errors[0].path, "closed");
  EXPECT_EQ(result->errors[1].path, "secret.txt");
  for (const ScanError& error : result->errors) {
    EXPECT_EQ(error.error.code, SyncCode::kStateFailed);
    EXPECT_EQ(error.error.category, Category::kAuth);
    EXPECT_EQ(error.error.details.at("path"), error.path);
  }
  EXPECT_FALSE(result->stat_changes.put.contains("secret.txt"));
}

TEST_F(ScannerTest, AFileThatKeepsChangingWhileReadIsReportedUnstable) {
  Write("stable.txt", "s");
  Write("busy.log", "start");
  // Every chunk of busy.log that is hashed appends to it.
  on_chunk_ = [this](std::span<const std::uint8_t> bytes) {
    if (std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())
            .starts_with("start")) {
      std::ofstream(At("busy.log"), std::ios::app) << "+";
    }
  };
  const ScanResult result = ScanOk({}, 1);
  EXPECT_TRUE(result.entries.contains("stable.txt"));
  EXPECT_FALSE(result.entries.contains("busy.log"));
  EXPECT_FALSE(result.stat_changes.put.contains("busy.log"));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].path, "busy.log");
  EXPECT_EQ(result.errors[0].error.category, Category::kAborted);
  EXPECT_NE(result.errors[0].error.message.find("changed while"), std::string::npos);
  EXPECT_EQ(result.stats.files_hashed, 2u);
}

TEST_F(ScannerTest, AFileThatChangesOnceWhileReadIsReadAgain) {
  Write("once.txt", "start");
  std::atomic<bool> changed{false};
  on_chunk_ = [&](std::span<const std::uint8_t>) {
    if (!changed.exchange(true)) {
      std::ofstream(At("once.txt"), std::ios::app) << "-more";
    }
  };
  const ScanResult result = ScanOk({}, 1);
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(result.entries.at("once.txt"),
            ExpectedFile("start-more", false, StatOf("once.txt").mtime_ns));
  EXPECT_EQ(result.stats.files_hashed, 1u);
  EXPECT_EQ(result.stats.bytes_hashed, 5u + 10u);
}

TEST_F(ScannerTest, TheResultDoesNotDependOnTheNumberOfThreads) {
  for (int d = 0; d < 30; ++d) {
    for (int f = 0; f < 20; ++f) {
      const std::vector<std::uint8_t> bytes =
          testing::RandomBytes(static_cast<std::uint64_t>(d * 100 + f), (d * 37 + f * 101) % 3000);
      Write("d" + std::to_string(d % 7) + "/e" + std::to_string(d) + "/f" + std::to_string(f),
            std::string(bytes.begin(), bytes.end()));
    }
  }
  fs::create_directories(At("d1/empty/deeper"));
  const ScanResult one = ScanOk({}, 1);
  EXPECT_EQ(one.stats.files, 600u);
  for (int threads : {2, 5}) {
    const ScanResult many = ScanOk({}, threads);
    EXPECT_EQ(many.entries, one.entries) << threads;
    EXPECT_EQ(many.stat_changes.put, one.stat_changes.put) << threads;
    EXPECT_EQ(many.stats.bytes_hashed, one.stats.bytes_hashed) << threads;
  }
}

// The consuming form (ScanVault with StatCache&&, push's and status's) is
// a memory saving only: for every kind of cache entry (reused, edited,
// deleted, replaced by a directory, never a file, racy) and on any number
// of threads, scoped or not, its result is the reading form's, and the
// cache is left empty.
TEST_F(ScannerTest, AConsumingScanGivesTheSameResultAsAReadingScanAndEmptiesTheCache) {
  for (int d = 0; d < 6; ++d) {
    for (int f = 0; f < 12; ++f) {
      Write("d" + std::to_string(d) + "/f" + std::to_string(f),
            "content " + std::to_string(d * 100 + f));
    }
  }
  Write("top.txt", "top");
  Write("becomes_dir", "file for now");
  StatCache cache = ScanOk().stat_changes.put;
  cache["was_never_a_file"] = cache.at("top.txt");
  cache["d9/gone_with_its_dir"] = cache.at("top.txt");
  Write("d0/f1", "edited, longer");
  Write("d3/f7", "edited too, longer");
  fs::remove(At("d1/f2"));
  fs::remove(At("becomes_dir"));
  fs::create_directory(At("becomes_dir"));
  Write("d5/new", "new");
  const FileStat edited = StatOf("d3/f7");
  const std::int64_t racy_now = std::max(edited.mtime_ns, edited.ctime_ns);

  for (const std::optional<std::vector<std::string>>& scope :
       {std::optional<std::vector<std::string>>(),
        std::optional<std::vector<std::string>>({"d0/f1", "d1", "becomes_dir"})}) {
    for (const std::int64_t now : {kLater, racy_now}) {
      for (const int threads : {1, 3}) {
        ScanOptions options;
        options.threads = threads;
        options.now_ns = now;
        options.scope = scope;
        options.collect_baseline = !scope;
        Result<ScanResult> read = ScanVault(root_, options, cache, cdc_, chunk_id_);
        StatCache consumed = cache;
        Result<ScanResult> taken = ScanVault(root_, options, std::move(consumed), cdc_, chunk_id_);
        const std::string what = "threads " + std::to_string(threads) +
                                 (scope ? ", scoped" : "") + (now == kLater ? "" : ", racy");
        ASSERT_TRUE(read.ok() && taken.ok()) << what;
        EXPECT_EQ(taken->entries, read->entries) << what;
        EXPECT_EQ(taken->stat_changes.put, read->stat_changes.put) << what;
        EXPECT_EQ(taken->stat_changes.remove, read->stat_changes.remove) << what;
        EXPECT_EQ(taken->stats.files_hashed, read->stats.files_hashed) << what;
        EXPECT_EQ(taken->stats.files_from_cache, read->stats.files_from_cache) << what;
        EXPECT_EQ(taken->listed_dirs, read->listed_dirs) << what;
        EXPECT_EQ(taken->baseline.has_value(), read->baseline.has_value()) << what;
        EXPECT_TRUE(consumed.empty()) << what;  // NOLINT(bugprone-use-after-move): the contract
        EXPECT_FALSE(read->stat_changes.remove.empty()) << what;  // the case is exercised

        // With the stats beside the entries (a push's scan): the same
        // entries, and the same stat cache once the stats are put with the
        // entries' chunks; a scoped scan ignores the option.
        ScanOptions beside = options;
        beside.cache_stats_in_entries = true;
        Result<ScanResult> kept = ScanVault(root_, beside, StatCache(cache), cdc_, chunk_id_);
        ASSERT_TRUE(kept.ok()) << what;
        EXPECT_EQ(kept->entries, read->entries) << what;
        EXPECT_EQ(kept->stat_changes.remove, read->stat_changes.remove) << what;
        if (scope) {
          EXPECT_TRUE(kept->entry_stats.empty()) << what;
          EXPECT_EQ(kept->stat_changes.put, read->stat_changes.put) << what;
          continue;
        }
        EXPECT_TRUE(kept->stat_changes.put.empty()) << what;
        StatCache put;
        std::size_t next = 0;
        for (const auto& [path, entry] : kept->entries) {
          if (entry.kind != EntryKind::kFile) continue;
          ASSERT_LT(next, kept->entry_stats.size()) << what;
          const FileStat& stat = kept->entry_stats[next++];
          if (stat.mode != 0) put.emplace(path, StatCacheEntry{stat, entry.chunks});
        }
        EXPECT_EQ(next, kept->entry_stats.size()) << what;
        EXPECT_EQ(put, read->stat_changes.put) << what;
      }
    }
  }
}

// ScanOptions::on_files: while the walk runs, every file of the result is
// handed on once, in the result's (path) order, with its entry, whether it
// was hashed or taken from the stat cache, on any number of threads.
TEST_F(ScannerTest, OnFilesHandsOnEveryFileOfTheResultOnceInPathOrder) {
  for (int i = 0; i < 40; ++i) {
    Write("d" + std::to_string(i % 5) + "/sub" + std::to_string(i % 3) + "/f" + std::to_string(i),
          std::string(static_cast<std::size_t>(100 + i * 300), static_cast<char>('a' + i % 26)));
  }
  Write("a/x", "1");
  Write("a-b", "2");
  Write("a.txt", "3");
  Write("a0", BigContent());
  fs::create_directories(At("empty"));
  fs::create_symlink("a0", At("link"));
  const StatCache cache = [&] {
    StatCache c;
    ScanOk().stat_changes.ApplyTo(c);
    return c;
  }();
  Write("d1/sub1/f1", "changed: hashed again");
  for (const int threads : {1, 3, 8}) {
    std::vector<std::pair<std::string, Entry>> handed;
    ScanOptions options;
    options.threads = threads;
    options.now_ns = kLater;
    options.on_files = [&handed](std::vector<EntryMap::value_type> files) {
      handed.insert(handed.end(), files.begin(), files.end());
      return true;
    };
    Result<ScanResult> result = ScanVault(root_, options, cache, cdc_, chunk_id_);
    ASSERT_TRUE(result.ok()) << result.error().ToShortString();
    EXPECT_GT(result->stats.files_from_cache, 0u);
    EXPECT_GT(result->stats.files_hashed, 0u);
    std::vector<std::pair<std::string, Entry>> files;
    for (const auto& [path, entry] : result->entries) {
      if (entry.kind == EntryKind::kFile) files.emplace_back(path, entry);
    }
    EXPECT_EQ(handed, files) << threads << " threads";
  }
}

// A release of many files at once (one thread: a directory's files are all
// known when its only hash batch is done) is handed on in calls of at most
// kMaxFilesPerCall files, so the copies a call carries stay bounded
// whatever the folder; a refusal stops it between two calls.
TEST_F(ScannerTest, OnFilesHandsOnAtMostABoundedNumberOfFilesPerCall) {
  constexpr std::size_t kMax = scan_internal::FileRelease::kMaxFilesPerCall;
  const std::size_t count = 2 * kMax + 100;
  for (std::size_t i = 0; i < count; ++i) Write("d/f" + std::to_string(100000 + i), "x");
  for (const int threads : {1, 3}) {
    std::vector<std::size_t> sizes;
    std::size_t handed = 0;
    ScanOptions options;
    options.threads = threads;
    options.now_ns = kLater;
    options.on_files = [&](std::vector<EntryMap::value_type> files) {
      sizes.push_back(files.size());
      handed += files.size();
      return true;
    };
    Result<ScanResult> result = ScanVault(root_, options, StatCache{}, cdc_, chunk_id_);
    ASSERT_TRUE(result.ok()) << result.error().ToShortString();
    EXPECT_EQ(handed, count) << threads << " threads";
    EXPECT_GE(sizes.size(), 3u) << threads << " threads";
    for (const std::size_t size : sizes) EXPECT_LE(size, kMax) << threads << " threads";
  }
  ScanOptions options;
  options.threads = 1;
  options.now_ns = kLater;
  int calls = 0;
  options.on_files = [&calls](std::vector<EntryMap::value_type>) {
    ++calls;
    return false;
  };
  EXPECT_FALSE(ScanVault(root_, options, StatCache{}, cdc_, chunk_id_).ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(ScannerTest, AnOnFilesThatRefusesStopsTheScan) {
  for (int i = 0; i < 100; ++i) Write("d" + std::to_string(i % 10) + "/f" + std::to_string(i), "x");
  ScanOptions options;
  options.threads = 3;
  options.now_ns = kLater;
  // The first call refuses: how many files it carries depends on the
  // threads' timing (all 100 if the first directory in path order is listed
  // last), but there is always a first call, and never a second.
  int calls = 0;
  options.on_files = [&calls](std::vector<EntryMap::value_type> files) {
    EXPECT_FALSE(files.empty());
    ++calls;
    return false;
  };
  Result<ScanResult> result = ScanVault(root_, options, StatCache{}, cdc_, chunk_id_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().category, Category::kAborted);
  EXPECT_EQ(calls, 1);  // nothing is handed on after a refusal
}

}  // namespace
}  // namespace hx
