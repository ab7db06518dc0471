// The folder store: the conformance suite, plus what only a folder has —
// files on disk in the layout of the keys, temporary files, errno, fsync,
// permissions, a full disk, and the folder that must exist.
#include "store/folder_store.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/hex.h"
#include "hash/blake3.h"
#include "os/fault_env.h"
#include "store/store_conformance.h"
#include "store/store_test_util.h"

namespace hx::store_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

INSTANTIATE_TEST_SUITE_P(Folder, StoreConformanceTest,
                         ::testing::Values(StoreFactory{"Folder",
                                                        [] { return MakeTempFolderStore(); }}),
                         StoreFactoryName);

class FolderStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = FolderStore::Open(FolderTarget(folder_.path()));
    ASSERT_TRUE(opened.ok()) << opened.error().ToShortString();
    store_ = std::move(*opened);
  }

  FolderStore& store() { return *store_; }

  TempFolder folder_;
  std::unique_ptr<FolderStore> store_;
};

// Runs `body` as an unprivileged user when the test runs as root (root
// ignores permission bits), in a child process so that the test's own
// identity is untouched. The child exits 0 if the body's checks held.
void RunWithoutPrivileges(const std::function<bool()>& body) {
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) std::_Exit(3);
        std::_Exit(body() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(FolderStoreTest, AnObjectIsTheFileAtRootSlashKey) {
  ASSERT_TRUE(store().Put("blobs/ab/cd/abcdef", ToBytes("pack")).ok());
  ASSERT_TRUE(store().Put("head.json", ToBytes("{}")).ok());
  EXPECT_EQ(ReadFileOrEmpty(folder_.Join("blobs/ab/cd/abcdef")), "pack");
  EXPECT_EQ(ReadFileOrEmpty(folder_.Join("head.json")), "{}");
  EXPECT_THAT(DirectoryNames(folder_.path()), ElementsAre("blobs", "head.json"));
  EXPECT_EQ(store().root(), folder_.path());
  EXPECT_EQ(store().Describe(), "file://" + folder_.path());
}

TEST_F(FolderStoreTest, AVersionIsTheBlake3HexOfTheBytes) {
  const Bytes bytes = ToBytes("version me");
  const std::string expected = ToHex(Blake3Hash(bytes));
  auto created = store().PutIfAbsent("k", bytes);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(*created, expected);
  EXPECT_EQ(store().GetVersioned("k", kNoLimit)->second, expected);
  auto replaced = store().PutIfMatch("k", ToBytes("v2"), expected);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, ToHex(Blake3Hash(ToBytes("v2"))));
}

TEST_F(FolderStoreTest, CompareAndSwapIsNotAtomicAndSaysSo) {
  EXPECT_FALSE(store().capabilities().atomic_compare_and_swap);
  EXPECT_TRUE(store().capabilities().atomic_create);
}

TEST_F(FolderStoreTest, WritesLeaveNoTemporaryFiles) {
  ASSERT_TRUE(store().Put("dir/a", ToBytes("1")).ok());
  ASSERT_TRUE(store().PutIfAbsent("dir/b", ToBytes("2")).ok());
  ASSERT_FALSE(store().PutIfAbsent("dir/b", ToBytes("3")).ok());
  ASSERT_TRUE(store().PutIfMatch("dir/a", ToBytes("4"), ToHex(Blake3Hash(ToBytes("1")))).ok());
  EXPECT_THAT(DirectoryNames(folder_.Join("dir")), ElementsAre("a", "b"));
}

// A streamed write goes to a temporary file in the root as it comes (no
// object is held in memory whole), which becomes the key's file at Commit,
// its directories created; dropped uncommitted, the file is removed.
TEST_F(FolderStoreTest, AStreamedWriteIsATemporaryFileInTheRootUntilItsCommit) {
  EXPECT_TRUE(store().streams_writes());
  auto writer = store().StartWrite();
  ASSERT_TRUE(writer.ok()) << writer.error().ToShortString();
  ASSERT_TRUE((*writer)->Append(ToBytes("first ")).ok());
  ASSERT_TRUE((*writer)->Append(ToBytes("second")).ok());
  const std::vector<std::string> names = DirectoryNames(folder_.path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(IsFolderStoreTempName(names[0]));
  EXPECT_EQ(ReadFileOrEmpty(folder_.Join(names[0])), "first second");
  ASSERT_TRUE((*writer)->Commit("blobs/ab/cd/pack").ok());
  EXPECT_THAT(DirectoryNames(folder_.path()), ElementsAre("blobs"));
  EXPECT_EQ(ReadFileOrEmpty(folder_.Join("blobs/ab/cd/pack")), "first second");

  auto dropped = store().StartWrite();
  ASSERT_TRUE(dropped.ok());
  ASSERT_TRUE((*dropped)->Append(ToBytes("partial")).ok());
  dropped->reset();
  EXPECT_THAT(DirectoryNames(folder_.path()), ElementsAre("blobs"));
}

// A crash between writing the temporary file and renaming it leaves the
// temporary file behind; no operation may see it.
TEST_F(FolderStoreTest, AnOrphanedTemporaryFileIsInvisible) {
  ASSERT_TRUE(store().Put("snapshots/s1.zip", ToBytes("old")).ok());
  const std::string orphan = ".tmp~0123456789abcdef";
  ASSERT_TRUE(IsFolderStoreTempName(orphan));
  WriteFileOrDie(folder_.Join("snapshots/" + orphan), "new but partial");
  WriteFileOrDie(folder_.Join(orphan), "partial");
  EXPECT_THAT(store().List("").value().size(), 1u);
  EXPECT_EQ(store().List("snapshots/").value()[0].key, "snapshots/s1.zip");
  EXPECT_EQ(store().Get("snapshots/s1.zip", kNoLimit).value(), ToBytes("old"));
  // A temporary name is not a key, so it cannot even be asked for.
  EXPECT_EQ(store().Get("snapshots/" + orphan, kNoLimit).error().category, Category::kInternal);
  // And it does not stop new writes to the same directory.
  ASSERT_TRUE(store().Put("snapshots/s1.zip", ToBytes("new")).ok());
  EXPECT_EQ(store().Get("snapshots/s1.zip", kNoLimit).value(), ToBytes("new"));
}

TEST_F(FolderStoreTest, ListSkipsWhatIsNotAnObject) {
  ASSERT_TRUE(store().Put("ok/key", ToBytes("x")).ok());
  WriteFileOrDie(folder_.Join("README.txt"), "uppercase is not a key");
  WriteFileOrDie(folder_.Join(".DS_Store"), "");
  WriteFileOrDie(folder_.Join("ok/with space"), "");
  ASSERT_EQ(::mkdir(folder_.Join("Upper").c_str(), 0700), 0);
  WriteFileOrDie(folder_.Join("Upper/inner"), "");
  ASSERT_EQ(::mkdir(folder_.Join("emptydir").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(folder_.Join("ok/key").c_str(), folder_.Join("link").c_str()), 0);
  ASSERT_EQ(::symlink(folder_.Join("ok").c_str(), folder_.Join("dirlink").c_str()), 0);
  auto listed = store().List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "ok/key");
}

TEST_F(FolderStoreTest, ADirectoryIsNotAnObject) {
  ASSERT_TRUE(store().Put("a/b", ToBytes("x")).ok());
  EXPECT_EQ(store().Get("a", kNoLimit).error().category, Category::kNotFound);
  EXPECT_EQ(store().GetRange("a", {0, 0}).error().category, Category::kNotFound);
  EXPECT_EQ(store().Exists("a").value(), false);
  EXPECT_TRUE(store().Delete("a").ok());
  EXPECT_EQ(store().Get("a/b", kNoLimit).value(), ToBytes("x"));
  // A key below an object (the object would have to be a directory).
  EXPECT_EQ(store().Get("a/b/c", kNoLimit).error().category, Category::kNotFound);
  EXPECT_EQ(store().Exists("a/b/c").value(), false);
}

// The key is occupied by a directory, so the final rename fails after the
// temporary file was written: the failure must take the temporary file with it.
TEST_F(FolderStoreTest, AFailedPutRemovesItsTemporaryFile) {
  ASSERT_TRUE(store().Put("d/key/inner", ToBytes("x")).ok());
  auto put = store().Put("d/key", ToBytes("y"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().category, Category::kIo);
  EXPECT_EQ(put.error().code, SyncCode::kStateFailed);
  EXPECT_THAT(put.error().message, HasSubstr(folder_.Join("d/key")));
  EXPECT_THAT(DirectoryNames(folder_.Join("d")), ElementsAre("key"));
  auto created = store().PutIfAbsent("d/key", ToBytes("y"));
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(DirectoryNames(folder_.Join("d")), ElementsAre("key"));
}

TEST_F(FolderStoreTest, PermissionDeniedIsAuthAndLeavesNothingBehind) {
  ASSERT_TRUE(store().Put("ro/existing", ToBytes("x")).ok());
  ASSERT_EQ(::chmod(folder_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(folder_.Join("ro").c_str(), 0555), 0);
  const std::string ro_dir = folder_.Join("ro");
  RunWithoutPrivileges([&] {
    auto put = store().Put("ro/new", ToBytes("y"));
    auto create = store().PutIfAbsent("ro/new2", ToBytes("y"));
    auto del = store().Delete("ro/existing");
    return !put.ok() && put.error().category == Category::kAuth &&
           put.error().code == SyncCode::kAuthFailed &&
           put.error().message.starts_with("permission denied on " + ro_dir) && !create.ok() &&
           create.error().category == Category::kAuth && !del.ok() &&
           del.error().code == SyncCode::kAuthFailed && store().Get("ro/existing", kNoLimit).ok();
  });
  EXPECT_THAT(DirectoryNames(ro_dir), ElementsAre("existing"));
}

TEST_F(FolderStoreTest, AnUnreadableObjectIsAuth) {
  ASSERT_TRUE(store().Put("secret", ToBytes("x")).ok());
  ASSERT_EQ(::chmod(folder_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(folder_.Join("secret").c_str(), 0000), 0);
  RunWithoutPrivileges([&] {
    auto got = store().Get("secret", kNoLimit);
    return !got.ok() && got.error().code == SyncCode::kAuthFailed &&
           got.error().details.at("operation") == "open";
  });
}

// A real full disk: a 64 KiB tmpfs, mounted in a private mount namespace of
// a child process (so nothing leaks into the machine). Needs root; the
// mapping itself is also tested directly below.
TEST_F(FolderStoreTest, AFullDiskIsNoSpaceAndLeavesNothingBehind) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  const std::string mount_point = folder_.Join("small");
  ASSERT_EQ(::mkdir(mount_point.c_str(), 0700), 0);
  EXPECT_EXIT(
      {
        if (::unshare(CLONE_NEWNS) != 0) std::_Exit(77);
        if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) std::_Exit(77);
        if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k") != 0) std::_Exit(77);
        auto small = FolderStore::Open(FolderTarget(mount_point));
        if (!small.ok()) std::_Exit(2);
        auto put = (*small)->Put("big", PatternBytes(256 * 1024, 1));
        if (put.ok() || put.error().category != Category::kNoSpace ||
            put.error().code != SyncCode::kStateFailed) {
          std::_Exit(3);
        }
        if (!DirectoryNames(mount_point).empty()) std::_Exit(4);
        // A streamed write fails where the disk fills, and the writer is
        // spent: its file is gone at once, not at its destruction.
        auto writer = (*small)->StartWrite();
        if (!writer.ok()) std::_Exit(5);
        Status appended = OkStatus();
        for (int i = 0; i < 8 && appended.ok(); ++i) {
          appended = (*writer)->Append(PatternBytes(32 * 1024, i));
        }
        if (appended.ok() || appended.error().category != Category::kNoSpace) std::_Exit(6);
        if (!DirectoryNames(mount_point).empty()) std::_Exit(7);
        if ((*writer)->Commit("big").ok()) std::_Exit(8);
        std::_Exit(DirectoryNames(mount_point).empty() ? 0 : 9);
      },
      // 77: this kernel or container does not let root mount; nothing to check.
      [](int status) {
        return WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77);
      },
      "");
}

// Every call goes through the Env given at Open: each call of a Put, a
// PutIfAbsent, a Get and a List fails in turn (os/fault_env.h). A failed
// write leaves the old object (or none) and no temporary file, unless the
// failed call was the removal of the temporary name after the object was
// linked into place; the error carries the errno's category and the path.
TEST(FolderStoreEnvTest, EveryCallGoesThroughTheEnvAndEachFailureLosesNothing) {
  TempFolder folder;
  FaultInjectingEnv env(Env::Default());
  auto opened = FolderStore::Open(FolderTarget(folder.path()), {}, env);
  ASSERT_TRUE(opened.ok()) << opened.error().ToShortString();
  FolderStore& store = **opened;
  ASSERT_TRUE(store.Put("dir/old", ToBytes("old")).ok());
  struct Op {
    const char* name;
    std::function<Status()> run;
  };
  const std::vector<Op> ops = {
      {"Put", [&] { return store.Put("dir/old", ToBytes("new")); }},
      {"PutNewDir", [&] { return store.Put("fresh/sub/x", ToBytes("x")); }},
      {"Streamed",
       [&]() -> Status {
         HX_ASSIGN_OR_RETURN(std::unique_ptr<StoreWriter> writer, store.StartWrite());
         HX_RETURN_IF_ERROR(writer->Append(ToBytes("ne")));
         HX_RETURN_IF_ERROR(writer->Append(ToBytes("w")));
         return writer->Commit("dir/old");
       }},
      {"StreamedNewDir",
       [&]() -> Status {
         HX_ASSIGN_OR_RETURN(std::unique_ptr<StoreWriter> writer, store.StartWrite());
         HX_RETURN_IF_ERROR(writer->Append(ToBytes("x")));
         return writer->Commit("fresh/sub/x");
       }},
      {"PutIfAbsent",
       [&]() -> Status {
         auto r = store.PutIfAbsent("dir/created", ToBytes("c"));
         return r.ok() ? OkStatus() : Status(r.error());
       }},
      {"Get",
       [&]() -> Status {
         auto r = store.Get("dir/old", kNoLimit);
         return r.ok() ? OkStatus() : Status(r.error());
       }},
      {"List",
       [&]() -> Status {
         auto r = store.List("");
         return r.ok() ? OkStatus() : Status(r.error());
       }},
  };
  for (const Op& op : ops) {
    env.Disarm();
    ASSERT_TRUE(op.run().ok()) << op.name;
    const std::uint64_t calls = env.calls();
    ASSERT_GT(calls, 0u) << op.name;
    for (const EnvFault fault : {EnvFault::kNoSpace, EnvFault::kAccess, EnvFault::kIo}) {
      for (std::uint64_t n = 1; n <= calls; ++n) {
        // The same starting point each time (an allowed leftover of the run
        // before removed).
        env.Disarm();
        for (const std::string dir : {"dir", ""}) {
          for (const std::string& name : DirectoryNames(folder.Join(dir))) {
            if (IsFolderStoreTempName(name)) std::remove(folder.Join(dir + "/" + name).c_str());
          }
        }
        ASSERT_TRUE(store.Put("dir/old", ToBytes("old")).ok());
        ASSERT_TRUE(store.Delete("dir/created").ok());
        ASSERT_TRUE(store.Delete("fresh/sub/x").ok());
        std::string call;
        env.set_on_fault([&call](std::string_view c) { call = std::string(c); });
        env.Arm(n, fault);
        const Status status = op.run();
        env.Disarm();
        env.set_on_fault(nullptr);
        const std::string where =
            std::string(op.name) + " n=" + std::to_string(n) + " " + std::string(ToString(fault));
        if (!status.ok()) {
          const Category expected = fault == EnvFault::kNoSpace ? Category::kNoSpace
                                    : fault == EnvFault::kAccess ? Category::kAuth
                                                                 : Category::kIo;
          EXPECT_EQ(status.error().category, expected) << where << " " << call;
          EXPECT_TRUE(status.error().details.contains("path")) << where;
        }
        const std::string old = ReadFileOrEmpty(folder.Join("dir/old"));
        const bool replaces = std::string(op.name) == "Put" || std::string(op.name) == "Streamed";
        EXPECT_TRUE(old == "old" || (old == "new" && replaces)) << where;
        if (call != "UnlinkAt") {
          for (const std::string dir : {"dir", ""}) {
            for (const std::string& name : DirectoryNames(folder.Join(dir))) {
              EXPECT_FALSE(IsFolderStoreTempName(name)) << where << " left " << name;
            }
          }
        }
      }
    }
  }
}

TEST(FolderStoreErrorTest, ErrnoMapsToCategoryAndCode) {
  struct Case {
    int value;
    Category category;
    SyncCode code;
    const char* name;
  };
  for (const Case& c : {
           Case{ENOENT, Category::kNotFound, SyncCode::kStateFailed, "ENOENT"},
           Case{EACCES, Category::kAuth, SyncCode::kAuthFailed, "EACCES"},
           Case{EPERM, Category::kAuth, SyncCode::kAuthFailed, "EPERM"},
           Case{EROFS, Category::kAuth, SyncCode::kAuthFailed, "EROFS"},
           Case{ENOSPC, Category::kNoSpace, SyncCode::kStateFailed, "ENOSPC"},
           Case{EDQUOT, Category::kNoSpace, SyncCode::kStateFailed, "EDQUOT"},
           Case{EIO, Category::kIo, SyncCode::kStateFailed, "EIO"},
           Case{ENAMETOOLONG, Category::kIo, SyncCode::kStateFailed, "ENAMETOOLONG"},
           Case{12345, Category::kIo, SyncCode::kStateFailed, "errno 12345"},
       }) {
    SCOPED_TRACE(c.name);
    const Error error = FolderStoreErrorFromErrno(c.value, "rename into", "/store/head.json");
    EXPECT_EQ(error.category, c.category);
    EXPECT_EQ(error.code, c.code);
    EXPECT_FALSE(error.retryable);
    EXPECT_THAT(error.message, HasSubstr("/store/head.json"));
    EXPECT_EQ(error.details.at("errno"), c.name);
    EXPECT_EQ(error.details.at("operation"), "rename into");
    EXPECT_EQ(error.details.at("path"), "/store/head.json");
  }
  EXPECT_EQ(FolderStoreErrorFromErrno(EACCES, "open", "/s/x")
                .message.rfind("permission denied on /s/x", 0),
            0u);
}

TEST(FolderStoreTempNameTest, OnlyTheExactPatternIsATempName) {
  EXPECT_TRUE(IsFolderStoreTempName(".tmp~0123456789abcdef"));
  EXPECT_FALSE(IsFolderStoreTempName(".tmp~0123456789abcde"));
  EXPECT_FALSE(IsFolderStoreTempName(".tmp~0123456789ABCDEF"));
  EXPECT_FALSE(IsFolderStoreTempName(".tmp-0123456789abcdef"));
  // A temporary name is never a valid key, so it can never collide with one.
  EXPECT_FALSE(IsValidStoreKey(".tmp~0123456789abcdef"));
}

TEST(FolderStoreOpenTest, AMissingFolderIsNotFoundWithAHint) {
  TempFolder folder;
  auto opened = FolderStore::Open(FolderTarget(folder.Join("missing")));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, SyncCode::kTargetInvalid);
  EXPECT_EQ(opened.error().category, Category::kNotFound);
  EXPECT_THAT(opened.error().message, HasSubstr("hx sync init"));
  EXPECT_THAT(opened.error().message, HasSubstr(folder.Join("missing")));
}

TEST(FolderStoreOpenTest, AFileIsNotAStoreFolder) {
  TempFolder folder;
  WriteFileOrDie(folder.Join("file"), "x");
  auto opened = FolderStore::Open(FolderTarget(folder.Join("file")));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, SyncCode::kTargetInvalid);
  EXPECT_EQ(opened.error().category, Category::kInvalidInput);
}

// If the store's disk is unmounted, its mount point is an empty folder or
// gone; a write must not recreate the root (or list an empty store).
TEST(FolderStoreOpenTest, AVanishedRootIsNeverRecreated) {
  TempFolder folder;
  const std::string root = folder.Join("store");
  ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
  auto opened = FolderStore::Open(FolderTarget(root));
  ASSERT_TRUE(opened.ok());
  ASSERT_EQ(::rmdir(root.c_str()), 0);
  auto put = (*opened)->Put("blobs/aa/x", ToBytes("x"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().category, Category::kNotFound);
  EXPECT_EQ((*opened)->List("").error().code, SyncCode::kTargetInvalid);
  EXPECT_THAT(DirectoryNames(folder.path()), IsEmpty());
}

TEST(FolderStoreOpenTest, CreateFolderStoreRootMakesMissingParents) {
  TempFolder folder;
  const std::string root = folder.Join("a/b/c");
  ASSERT_TRUE(CreateFolderStoreRoot(root).ok());
  ASSERT_TRUE(CreateFolderStoreRoot(root).ok());  // already there: fine
  EXPECT_TRUE(FolderStore::Open(FolderTarget(root)).ok());
  WriteFileOrDie(folder.Join("file"), "x");
  auto over_file = CreateFolderStoreRoot(folder.Join("file"));
  ASSERT_FALSE(over_file.ok());
  EXPECT_EQ(over_file.error().code, SyncCode::kTargetInvalid);
}

TEST(FolderStoreOpenTest, UnsyncedStoresBehaveTheSame) {
  auto store = MakeTempFolderStore(FolderStoreOptions{.sync = false});
  ASSERT_TRUE(store->Put("a/b", ToBytes("x")).ok());
  ASSERT_TRUE(store->PutIfAbsent("a/c", ToBytes("y")).ok());
  ASSERT_TRUE(store->Delete("a/b").ok());
  EXPECT_EQ(store->List("").value().size(), 1u);
}

}  // namespace
}  // namespace hx::store_testing
