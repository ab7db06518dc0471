#include "scan/baseline.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/temp_dir_test_util.h"
#include "chunk/chunk_test_util.h"
#include "hash/blake3.h"
#include "scan/scanner.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

using hx::testing::TempDir;

// Far in the future: no file is racy unless a test says so.
constexpr std::int64_t kLater = std::numeric_limits<std::int64_t>::max();

void Write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

struct timespec MtimeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0);
  return st.st_mtim;
}

void SetMtime(const fs::path& path, struct timespec mtime) {
  const struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

ChunkerOptions SmallChunks() {
  ChunkerOptions options;
  options.min_size = 256;
  options.avg_size = 1024;
  options.max_size = 4096;
  return options;
}

class BaselineTest : public ::testing::Test {
 protected:
  BaselineTest() : cdc_(std::move(FastCdc::Create(SmallChunks(), GearTable::Default())).value()) {
    root_ = dir_.path() / "vault";
    fs::create_directory(root_);
    chunk_id_ = [this](std::span<const std::uint8_t> bytes) {
      if (on_chunk_) on_chunk_(bytes);
      return Blake3Hash(bytes);
    };
  }

  // A vault with one of everything the baseline records, and ignored paths.
  void MakeVault() {
    Write(root_ / "a.txt", "hello");
    Write(root_ / "bin/run.sh", "#!/bin/sh\n");
    fs::permissions(root_ / "bin/run.sh", fs::perms::owner_exec, fs::perm_options::add);
    Write(root_ / "dir/sub/deep.txt", std::string(10000, 'x'));
    fs::create_directories(root_ / "empty");
    fs::create_symlink("a.txt", root_ / "link");
    Write(root_ / ".hxignore", "*.log\nbuild/\n");
    Write(root_ / "x.log", "ignored");
    Write(root_ / "build/out.o", "ignored");
    Write(root_ / ".hx/index.sqlite", "never scanned");
  }

  ScanResult Scan(std::int64_t now_ns = kLater) {
    ScanOptions options;
    options.now_ns = now_ns;
    options.collect_baseline = true;
    options.threads = 2;
    Result<ScanResult> scan = ScanVault(root_, options, StatCache(), cdc_, chunk_id_);
    EXPECT_TRUE(scan.ok()) << scan.error().ToShortString();
    return scan.ok() ? std::move(scan).value() : ScanResult();
  }

  // The baseline file of the folder as it is now.
  std::string Record() {
    ScanResult scan = Scan();
    EXPECT_TRUE(scan.baseline.has_value());
    return scan.baseline ? EncodeBaselineFile(*scan.baseline, "token") : std::string();
  }

  bool Matches(const std::string& file) {
    Result<BaselineView> view = ParseBaseline(file);
    EXPECT_TRUE(view.ok()) << view.error().ToShortString();
    return view.ok() && FolderMatchesBaseline(root_, *view, 2);
  }

  TempDir dir_;
  fs::path root_;
  FastCdc cdc_;
  std::function<void(std::span<const std::uint8_t>)> on_chunk_;
  ChunkIdFn chunk_id_;
};

TEST_F(BaselineTest, AnUnchangedFolderMatchesItsBaseline) {
  MakeVault();
  const std::string file = Record();
  EXPECT_TRUE(Matches(file));
  // Reading files, and anything under .hx/, change nothing the scan sees.
  std::ifstream(root_ / "a.txt").get();
  Write(root_ / ".hx/other", "local state");
  EXPECT_TRUE(Matches(file));
  // One thread or eight: the same answer.
  Result<BaselineView> view = ParseBaseline(file);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(FolderMatchesBaseline(root_, *view, 1));
  EXPECT_TRUE(FolderMatchesBaseline(root_, *view, 8));
}

TEST_F(BaselineTest, TheFileRecordsWhatTheScanSawSortedByPathAndName) {
  MakeVault();
  ScanResult scan = Scan();
  ASSERT_TRUE(scan.baseline.has_value());
  const std::string file = EncodeBaselineFile(*scan.baseline, "abc");
  Result<BaselineView> view = ParseBaseline(file);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->token(), "abc");
  EXPECT_EQ(view->ignore_digest(), Blake3Hash(std::string_view("*.log\nbuild/\n")));
  std::vector<std::string> dirs;
  for (const BaselineView::Dir& dir : view->dirs()) dirs.emplace_back(dir.path);
  EXPECT_EQ(dirs, (std::vector<std::string>{"", "bin", "dir", "dir/sub", "empty"}));
  std::vector<std::string> names;
  for (const BaselineChild& child : view->Children(*view->FindDir(""))) names.push_back(child.name);
  EXPECT_EQ(names, (std::vector<std::string>{".hxignore", "a.txt", "bin", "dir", "empty", "link"}));
  const std::vector<BaselineChild> bin = view->Children(*view->FindDir("bin"));
  ASSERT_EQ(bin.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "bin/run.sh").c_str(), &st), 0);
  EXPECT_EQ(bin[0].stat.inode, st.st_ino);
  EXPECT_EQ(bin[0].stat.mode, st.st_mode);
  EXPECT_EQ(bin[0].stat.ctime_ns, st.st_ctim.tv_sec * 1'000'000'000 + st.st_ctim.tv_nsec);
  const std::vector<BaselineChild> root = view->Children(*view->FindDir(""));
  EXPECT_EQ(root.back().kind, BaselineKind::kSymlink);
  EXPECT_EQ(root.back().target, "a.txt");
  EXPECT_EQ(view->FindDir("nope"), nullptr);
}

// Every kind of change the scan would see makes the folder differ.
TEST_F(BaselineTest, EveryKindOfChangeIsSeen) {
  struct Change {
    const char* what;
    std::function<void(const fs::path&)> apply;
  };
  const std::vector<Change> changes = {
      {"same size, mtime put back (ctime moves)",
       [](const fs::path& r) {
         const struct timespec was = MtimeOf(r / "a.txt");
         Write(r / "a.txt", "jello");
         SetMtime(r / "a.txt", was);
       }},
      {"size", [](const fs::path& r) { Write(r / "a.txt", "hello!"); }},
      {"mtime only (touch -d)",
       [](const fs::path& r) { SetMtime(r / "a.txt", {1'000'000'000, 5}); }},
      {"chmod and back (only ctime moves)",
       [](const fs::path& r) {
         fs::permissions(r / "a.txt", fs::perms::owner_exec, fs::perm_options::add);
         fs::permissions(r / "a.txt", fs::perms::owner_exec, fs::perm_options::remove);
       }},
      {"executable bit",
       [](const fs::path& r) {
         fs::permissions(r / "a.txt", fs::perms::owner_exec, fs::perm_options::add);
       }},
      {"replaced by a copy with the same times (inode)",
       [](const fs::path& r) {
         const struct timespec was = MtimeOf(r / "a.txt");
         Write(r / "a.copy", "hello");
         SetMtime(r / "a.copy", was);
         fs::rename(r / "a.copy", r / "a.txt");
       }},
      {"a new file", [](const fs::path& r) { Write(r / "new.txt", ""); }},
      {"a new file deep down", [](const fs::path& r) { Write(r / "dir/sub/new.txt", "n"); }},
      {"a removed file", [](const fs::path& r) { fs::remove(r / "a.txt"); }},
      {"a removed deep file", [](const fs::path& r) { fs::remove(r / "dir/sub/deep.txt"); }},
      {"a new empty directory", [](const fs::path& r) { fs::create_directory(r / "empty2"); }},
      {"a new empty subdirectory", [](const fs::path& r) { fs::create_directory(r / "empty/in"); }},
      {"a removed empty directory", [](const fs::path& r) { fs::remove(r / "empty"); }},
      {"a renamed directory", [](const fs::path& r) { fs::rename(r / "empty", r / "emptz"); }},
      {"a file moved between directories",
       [](const fs::path& r) { fs::rename(r / "dir/sub/deep.txt", r / "dir/deep.txt"); }},
      {"a symlink retargeted (same length)",
       [](const fs::path& r) {
         fs::remove(r / "link");
         fs::create_symlink("b.txt", r / "link");
       }},
      {"a file replaced by a directory",
       [](const fs::path& r) {
         fs::remove(r / "a.txt");
         fs::create_directory(r / "a.txt");
       }},
      {"a directory replaced by a file",
       [](const fs::path& r) {
         fs::remove(r / "empty");
         Write(r / "empty", "");
       }},
      {"a directory replaced by a symlink to it",
       [](const fs::path& r) {
         fs::rename(r / "dir", r / "dir2");
         fs::create_symlink("dir2", r / "dir");
       }},
      {".hxignore edited",
       [](const fs::path& r) {
         const struct timespec was = MtimeOf(r / ".hxignore");
         Write(r / ".hxignore", "*.loq\nbuild/\n");
         SetMtime(r / ".hxignore", was);
       }},
      {"a FIFO appears", [](const fs::path& r) { ASSERT_EQ(::mkfifo((r / "fifo").c_str(), 0644), 0); }},
      {"a name that is not UTF-8", [](const fs::path& r) { Write(r / "bad\xff", "x"); }},
  };
  for (const Change& change : changes) {
    SCOPED_TRACE(change.what);
    fs::remove_all(root_);
    fs::create_directory(root_);
    MakeVault();
    const std::string file = Record();
    ASSERT_TRUE(Matches(file));
    change.apply(root_);
    EXPECT_FALSE(Matches(file));
  }
}

TEST_F(BaselineTest, IgnoredPathsMayChangeFreely) {
  MakeVault();
  const std::string file = Record();
  Write(root_ / "y.log", "new and ignored");
  Write(root_ / "build/more/out2.o", "new and ignored");
  fs::remove(root_ / "x.log");
  EXPECT_TRUE(Matches(file));
}

TEST_F(BaselineTest, AScanThatCannotStandForTheFolderMakesNoBaseline) {
  MakeVault();
  {
    // Files written just now are racy: their stat may outlive a change.
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    ScanResult scan = Scan(now.tv_sec * 1'000'000'000 + now.tv_nsec);
    EXPECT_FALSE(scan.baseline.has_value()) << "racy";
  }
  {
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
    ScanResult scan = Scan();
    EXPECT_FALSE(scan.skipped.empty());
    EXPECT_FALSE(scan.baseline.has_value()) << "skipped item";
    fs::remove(root_ / "fifo");
  }
  {
    // A file that changes while it is hashed is read again: the entry then
    // holds the content of a stat other than the one listed.
    std::atomic<bool> once{false};
    on_chunk_ = [&](std::span<const std::uint8_t> bytes) {
      if (!bytes.empty() && bytes[0] == 'x' && !once.exchange(true)) {
        Write(root_ / "dir/sub/deep.txt", std::string(10001, 'y'));
      }
    };
    ScanResult scan = Scan();
    on_chunk_ = nullptr;
    EXPECT_TRUE(once.load());
    EXPECT_FALSE(scan.baseline.has_value()) << "changed while hashed";
  }
  {
    ScanOptions options;
    options.now_ns = kLater;
    Result<ScanResult> scan = ScanVault(root_, options, StatCache(), cdc_, chunk_id_);
    ASSERT_TRUE(scan.ok());
    EXPECT_FALSE(scan->baseline.has_value()) << "not asked for";
  }
  EXPECT_TRUE(Scan().baseline.has_value());
}

TEST_F(BaselineTest, AFolderIsNeverTakenForAnotherFoldersBaseline) {
  MakeVault();
  const std::string file = Record();
  Result<BaselineView> view = ParseBaseline(file);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(FolderMatchesBaseline(dir_.path() / "missing", *view));
  fs::create_directory(dir_.path() / "other");
  EXPECT_FALSE(FolderMatchesBaseline(dir_.path() / "other", *view));
}

// --- The file is untrusted bytes -------------------------------------------

std::string WithChecksum(std::string body) {
  const Blake3Digest sum = Blake3Hash(std::string_view(body));
  return body.append(reinterpret_cast<const char*>(sum.data()), sum.size());
}

void PutLe(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// A header with an empty token and a zero ignore digest, then `dirs`.
std::string Header(std::uint32_t dir_count) {
  std::string out(kBaselineMagic);
  PutLe(out, 0, 1);
  out.append(32, '\0');
  PutLe(out, dir_count, 4);
  return out;
}

void PutDir(std::string& out, std::string_view path, std::uint32_t children) {
  PutLe(out, path.size(), 4);
  out += path;
  PutLe(out, children, 4);
}

void PutDirChild(std::string& out, std::string_view name) {
  PutLe(out, name.size(), 2);
  out += name;
  PutLe(out, static_cast<int>(BaselineKind::kDir), 1);
}

TEST_F(BaselineTest, EveryFlippedByteAndEveryTruncationIsRefused) {
  Write(root_ / "a", "1");
  fs::create_symlink("a", root_ / "l");
  fs::create_directory(root_ / "d");
  const std::string file = Record();
  ASSERT_TRUE(ParseBaseline(file).ok());
  for (std::size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    const Result<BaselineView> parsed = ParseBaseline(bad);
    ASSERT_FALSE(parsed.ok()) << "byte " << i;
    EXPECT_EQ(parsed.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(parsed.error().category, Category::kCorrupt);
  }
  for (std::size_t n = 0; n < file.size(); ++n) {
    EXPECT_FALSE(ParseBaseline(std::string_view(file).substr(0, n)).ok()) << "length " << n;
  }
}

TEST_F(BaselineTest, AWellChecksummedFileWithABadStructureIsRefused) {
  const auto refused = [](const std::string& body, const char* why) {
    const Result<BaselineView> parsed = ParseBaseline(WithChecksum(body));
    EXPECT_FALSE(parsed.ok()) << why;
  };
  {
    std::string ok = Header(2);
    PutDir(ok, "", 1);
    PutDirChild(ok, "d");
    PutDir(ok, "d", 0);
    EXPECT_TRUE(ParseBaseline(WithChecksum(ok)).ok());
  }
  std::string body = Header(2);
  PutDir(body, "d", 0);
  PutDir(body, "", 0);
  refused(body, "directories out of order");
  body = Header(2);
  PutDir(body, "", 0);
  PutDir(body, "", 0);
  refused(body, "a directory twice");
  body = Header(1);
  PutDir(body, "", 2);
  PutDirChild(body, "b");
  PutDirChild(body, "a");
  refused(body, "children out of order");
  for (const std::string_view name : {std::string_view(""), std::string_view("a/b"),
                                      std::string_view("."), std::string_view("a\0b", 3)}) {
    body = Header(1);
    PutDir(body, "", 1);
    PutDirChild(body, name);
    refused(body, "a bad name");
  }
  body = Header(1);
  PutDir(body, "", 1);
  PutLe(body, 1, 2);
  body += "x";
  PutLe(body, 7, 1);
  refused(body, "an unknown kind");
  body = Header(0xffffffff);
  refused(body, "a directory count larger than the file");
  body = Header(1);
  PutDir(body, "", 0xffffffff);
  refused(body, "a child count larger than the file");
  body = Header(1);
  PutDir(body, "", 0);
  body += "!";
  refused(body, "trailing bytes");
  body = Header(0);
  body[8] = static_cast<char>(200);
  refused(body, "a token longer than the file");
  body = Header(0);
  body[0] = 'X';
  refused(body, "another magic");
}

TEST_F(BaselineTest, ABaselineWithoutARootDirectoryMatchesNothing) {
  const std::string file = WithChecksum(Header(0));
  Result<BaselineView> view = ParseBaseline(file);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(FolderMatchesBaseline(root_, *view));
}

}  // namespace
}  // namespace hx
