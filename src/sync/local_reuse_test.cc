// A pull reuses what the device already has (issue 15, item 5): a chunk it
// needs that one of its own files held when scanned is read from there and
// checked against its id, and only the rest is fetched (sync/local_chunks.h).
// Renaming or copying a directory on one device then costs the others no
// fetched bytes for the unchanged content; a local file that changed after
// the scan, or that can only be reached through a symlink, is not used and
// the chunk is fetched as before.
//
// Counted through the store: PackCounter (resume_test_util.h) counts the
// bytes read from packs (every object's bytes, chunks and trees, come from
// packs), and the report says how many objects were fetched and how many of
// them were trees. The big file is 16 MiB of seeded incompressible bytes,
// about 16 chunks; the trees a pull of a rename reads are a few hundred bytes.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "base/seeded_file_test_util.h"
#include "sync/engine.h"
#include "sync/resume_test_util.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using namespace hx::testing;  // NOLINT: the helpers of these tests

constexpr std::uint64_t kBigBytes = 16 * kMiB;
// More than every tree of these pulls, less than one chunk (FastCDC's
// minimum is far above it).
constexpr std::uint64_t kTreeBytesBound = 64 * 1024;

class LocalReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MakeFolderStoreFixture();
    a_ = std::make_unique<Device>(*store_, "a", 21);
    b_ = std::make_unique<Device>(*store_, "b", 22);
    HX_ASSERT_OK(a_->Init(Tick()));
    WriteSeededFile(a_->vault() / "photos" / "big.bin", kBigBytes, 7);
    a_->Write("photos/note.txt", "a small file");
    HX_ASSERT_OK(a_->Push(Tick()));
    HX_ASSERT_OK(b_->Init(Tick()));
    Result<PullReport> first = b_->Pull(Tick());
    HX_ASSERT_OK(first);
    ASSERT_EQ(VaultTree(b_->vault()), VaultTree(a_->vault()));
  }

  std::int64_t Tick() { return now_ += 1000; }

  // A renames (or copies) its photos/ to `to` and pushes.
  Result<PushReport> RenamePhotosOnA(const std::string& to) {
    fs::rename(a_->vault() / "photos", a_->vault() / to);
    return a_->Push(Tick());
  }
  Result<PushReport> CopyPhotosOnA(const std::string& to) {
    fs::copy(a_->vault() / "photos", a_->vault() / to, fs::copy_options::recursive);
    return a_->Push(Tick());
  }

  // B's pull, with `before_apply` run after its scan, just before it
  // applies (when B's files change under it), and the pack bytes it read.
  Result<PullReport> PullB(std::uint64_t* pack_bytes, std::function<void()> before_apply = {}) {
    Meter meter(*b_);
    SyncOptions options = b_->options(Tick());
    if (before_apply) {
      options.checkpoint = [&before_apply](std::string_view point) {
        if (point == "pull.before_apply") before_apply();
      };
    }
    Result<PullReport> pulled = SyncPull(b_->vault(), options);
    *pack_bytes = meter.Take().pack_down;
    return pulled;
  }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_;
  std::unique_ptr<Device> b_;
  std::int64_t now_ = 1'700'000'000'000;
};

TEST_F(LocalReuseTest, ADirectoryRenamedElsewhereCostsNoFetchedContent) {
  HX_ASSERT_OK(RenamePhotosOnA("albums"));

  std::uint64_t pack_bytes = 0;
  Result<PullReport> pulled = PullB(&pack_bytes);
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->outcome, "applied");
  EXPECT_EQ(VaultTree(b_->vault()), VaultTree(a_->vault()));
  EXPECT_FALSE(fs::exists(b_->vault() / "photos"));
  // Every object fetched was a tree: no chunk came from the store.
  EXPECT_EQ(pulled->objects_fetched, pulled->trees_loaded);
  EXPECT_LT(pack_bytes, kTreeBytesBound);
  EXPECT_LT(pulled->bytes_fetched, kTreeBytesBound);
}

TEST_F(LocalReuseTest, ADirectoryCopiedElsewhereCostsNoFetchedContent) {
  HX_ASSERT_OK(CopyPhotosOnA("copy"));

  std::uint64_t pack_bytes = 0;
  Result<PullReport> pulled = PullB(&pack_bytes);
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->outcome, "applied");
  EXPECT_EQ(VaultTree(b_->vault()), VaultTree(a_->vault()));
  EXPECT_EQ(pulled->objects_fetched, pulled->trees_loaded);
  EXPECT_LT(pack_bytes, kTreeBytesBound);
}

// The local copy changed after the scan (so its chunks no longer match the
// ids the scan recorded): what is read does not hash to the id, and the
// chunks are fetched; the copy written is the remote version, never the
// changed local bytes.
TEST_F(LocalReuseTest, ALocalFileChangedSinceItWasIndexedFallsBackToFetching) {
  HX_ASSERT_OK(CopyPhotosOnA("copy"));

  const fs::path source = b_->vault() / "photos" / "big.bin";
  std::uint64_t pack_bytes = 0;
  Result<PullReport> pulled = PullB(&pack_bytes, [&] {
    // Same size, other bytes, written in place.
    WriteSeededFile(source, kBigBytes, 99);
  });
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->outcome, "applied");
  EXPECT_EQ(VaultTree(b_->vault())["copy/big.bin"], VaultTree(a_->vault())["copy/big.bin"]);
  // B's own edit of photos/big.bin is kept (a local change, not the pull's).
  EXPECT_NE(VaultTree(b_->vault())["photos/big.bin"], VaultTree(a_->vault())["photos/big.bin"]);
  EXPECT_GT(pulled->objects_fetched, pulled->trees_loaded);
  EXPECT_GE(pack_bytes, kBigBytes);
}

// Only some chunks changed: those are fetched, the others read locally.
TEST_F(LocalReuseTest, OnlyTheChunksThatChangedLocallyAreFetched) {
  HX_ASSERT_OK(CopyPhotosOnA("copy"));

  const fs::path source = b_->vault() / "photos" / "big.bin";
  std::uint64_t pack_bytes = 0;
  Result<PullReport> pulled = PullB(&pack_bytes, [&] {
    // One byte at the very end: the last chunk no longer matches.
    std::fstream f(source, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(kBigBytes - 1));
    f.put('\x5a');
  });
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(VaultTree(b_->vault())["copy/big.bin"], VaultTree(a_->vault())["copy/big.bin"]);
  EXPECT_EQ(pulled->objects_fetched, pulled->trees_loaded + 1);
  EXPECT_GT(pack_bytes, 0u);
  EXPECT_LT(pack_bytes, kBigBytes / 2);
}

// A directory swapped for a symlink (to a folder outside the vault holding
// the same bytes) after the scan is never read through: the chunks are
// fetched, and the renamed copy is still right.
TEST_F(LocalReuseTest, ALocalSourceBehindASymlinkIsNeverRead) {
  HX_ASSERT_OK(RenamePhotosOnA("albums"));

  const fs::path outside = b_->vault().parent_path() / "outside-photos";
  std::uint64_t pack_bytes = 0;
  Result<PullReport> pulled = PullB(&pack_bytes, [&] {
    fs::rename(b_->vault() / "photos", outside);
    fs::create_directory_symlink(outside, b_->vault() / "photos");
  });
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(VaultTree(b_->vault())["albums/big.bin"], VaultTree(a_->vault())["albums/big.bin"]);
  EXPECT_GT(pulled->objects_fetched, pulled->trees_loaded);
  EXPECT_GE(pack_bytes, kBigBytes);
  // The symlinked folder is left alone.
  EXPECT_TRUE(fs::exists(outside / "big.bin"));
}

}  // namespace
}  // namespace hx
