// Properties of the meta codecs over generated values: what is encoded
// decodes to the same value, and encoding is a function of the value alone.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "base/hex.h"
#include "meta/conflict.h"
#include "meta/lock.h"
#include "meta/manifest.h"
#include "meta/meta_test_util.h"
#include "meta/snapshot.h"
#include "meta/stored_zip.h"

namespace hx {
namespace {

using meta_testing::TestContext;

// rc::gen::inRange scales with the test size, which starts at 0; resize so
// that small and large values both appear from the first cases on.
template <typename T>
rc::Gen<T> Uniform(T min, T max) {
  return rc::gen::resize(100, rc::gen::inRange<T>(min, max));
}

rc::Gen<std::string> GenHex(std::size_t length) {
  return rc::gen::map(rc::gen::container<std::vector<std::uint8_t>>(length / 2,
                                                                     rc::gen::arbitrary<std::uint8_t>()),
                      [](const std::vector<std::uint8_t>& bytes) { return ToHex(bytes); });
}

ObjectId IdFrom(std::uint32_t seed) {
  ObjectId id{};
  for (std::size_t i = 0; i < 4; ++i) id[i] = static_cast<std::uint8_t>(seed >> (8 * i));
  id[31] = 0x5a;
  return id;
}

// Up to 5 blobs with up to 6 back-to-back objects each, ids all distinct.
std::vector<ObjectLocation> GenAdded() {
  std::vector<ObjectLocation> added;
  const int blobs = *Uniform(0, 5);
  std::uint32_t next_id = 0;
  for (int b = 0; b < blobs; ++b) {
    // Distinct by construction (shrinking would otherwise make them equal).
    const std::string blob_id = *GenHex(62) + ToHex(std::vector<std::uint8_t>{
                                                   static_cast<std::uint8_t>(b)});
    std::uint64_t offset = *Uniform<std::uint64_t>(0, 1000);
    const int objects = *Uniform(1, 6);
    for (int o = 0; o < objects; ++o) {
      const std::uint64_t length = *Uniform<std::uint64_t>(1, 1 << 20);
      added.push_back(ObjectLocation{
          .id = IdFrom(next_id++),
          .kind = *rc::gen::element(ObjectKind::kChunk, ObjectKind::kTree),
          .blob_id = blob_id,
          .offset = offset,
          .length = length,
          .raw_length = *Uniform<std::uint64_t>(0, 1 << 22)});
      offset += length + *Uniform<std::uint64_t>(0, 3);
    }
  }
  // The order DecodeSnapshotZip returns.
  std::sort(added.begin(), added.end(), [](const ObjectLocation& a, const ObjectLocation& b) {
    return a.blob_id != b.blob_id ? a.blob_id < b.blob_id : a.offset < b.offset;
  });
  return added;
}

RC_GTEST_PROP(SnapshotProperty, DecodeInvertsEncode, ()) {
  const VaultContext ctx = TestContext();
  Snapshot snapshot;
  snapshot.vault_id = ctx.vault_id;
  snapshot.root = IdFrom(*rc::gen::arbitrary<std::uint32_t>());
  snapshot.created_ms = *Uniform<std::int64_t>(0, std::int64_t{1} << 50);
  snapshot.snapshot_id = SnapshotId(snapshot.root, snapshot.created_ms);
  snapshot.parents = *rc::gen::container<std::vector<std::string>>(
      static_cast<std::size_t>(*Uniform(0, 3)), GenHex(64));
  snapshot.author = *GenHex(32);
  snapshot.seq = *Uniform<std::uint64_t>(1, std::uint64_t{1} << 62);
  snapshot.key_fingerprint = ctx.key_fingerprint;
  snapshot.summary = {.added = *Uniform<std::uint64_t>(0, 1'000'000),
                      .modified = *Uniform<std::uint64_t>(0, 1'000'000),
                      .deleted = *Uniform<std::uint64_t>(0, 1'000'000),
                      .files = *Uniform<std::uint64_t>(0, 1'000'000),
                      .bytes = *Uniform<std::uint64_t>(0, std::uint64_t{1} << 60)};
  snapshot.added = GenAdded();

  const auto zip = EncodeSnapshotZip(ctx, snapshot);
  RC_ASSERT(zip.ok());
  std::vector<ObjectLocation> shuffled = snapshot.added;
  std::reverse(shuffled.begin(), shuffled.end());
  Snapshot reordered = snapshot;
  reordered.added = shuffled;
  RC_ASSERT(*EncodeSnapshotZip(ctx, reordered) == *zip);
  const auto back = DecodeSnapshotZip(ctx, *zip, snapshot.snapshot_id);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == snapshot);
}

RC_GTEST_PROP(ManifestProperty, DecodeInvertsEncode, ()) {
  const VaultContext ctx = TestContext();
  DeviceManifest manifest;
  manifest.vault_id = ctx.vault_id;
  manifest.node_id = *GenHex(32);
  manifest.manifest_seq = *Uniform<std::uint64_t>(1, std::uint64_t{1} << 62);
  manifest.last_seen_head_seq = *Uniform<std::uint64_t>(0, std::uint64_t{1} << 62);
  const auto snapshots = *rc::gen::container<std::vector<std::string>>(
      static_cast<std::size_t>(*Uniform(0, 20)), GenHex(64));
  for (const std::string& id : snapshots) {
    if (std::find(manifest.snapshots.begin(), manifest.snapshots.end(), id) ==
        manifest.snapshots.end()) {
      manifest.snapshots.push_back(id);
    }
  }
  const auto printable = rc::gen::container<std::string>(rc::gen::inRange<char>(0x20, 0x7f));
  manifest.device.hx_version = *printable;
  manifest.device.platform = *printable;
  manifest.device.last_seen_ms = *Uniform<std::int64_t>(0, std::int64_t{1} << 50);
  auto capabilities = *rc::gen::container<std::vector<std::string>>(
      static_cast<std::size_t>(*Uniform(0, 5)), printable);
  std::sort(capabilities.begin(), capabilities.end());
  capabilities.erase(std::unique(capabilities.begin(), capabilities.end()), capabilities.end());
  manifest.device.capabilities = capabilities;

  const auto bytes = EncodeManifest(ctx, manifest);
  RC_ASSERT(bytes.ok());
  const auto back = DecodeManifest(ctx, manifest.node_id, *bytes);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == manifest);
}

RC_GTEST_PROP(ConflictProperty, BothCopiesDecodeToTheArtifactWithSortedPaths, ()) {
  const VaultContext ctx = TestContext();
  ConflictArtifact artifact;
  artifact.vault_id = ctx.vault_id;
  artifact.kind = *rc::gen::element(ConflictKind::kPushDiverged, ConflictKind::kPullConcurrent);
  artifact.created_ms = *Uniform<std::int64_t>(0, std::int64_t{1} << 50);
  if (*rc::gen::arbitrary<bool>()) artifact.base_snapshot = *GenHex(64);
  artifact.local_node_id = *GenHex(32);
  artifact.local_changes = {.added = *Uniform<std::uint64_t>(0, 100),
                            .modified = *Uniform<std::uint64_t>(0, 100),
                            .deleted = *Uniform<std::uint64_t>(0, 100)};
  artifact.remote_head_seq = *Uniform<std::uint64_t>(1, 1000);
  artifact.remote_snapshot_id = *GenHex(64);
  // Paths of 1-3 segments over a small alphabet (with non-ASCII), so that
  // duplicates and shared prefixes occur.
  const auto segment = rc::gen::element<std::string>("a", "b.txt", "\xc3\xa9t\xc3\xa9", "x y",
                                                     ".hidden", "...");
  const int count = *Uniform(0, 8);
  for (int i = 0; i < count; ++i) {
    std::string path = *segment;
    for (int depth = *Uniform(0, 2); depth > 0; --depth) path += "/" + *segment;
    artifact.paths.push_back(path);
  }
  const auto store_copy = EncodeStoreArtifact(ctx, artifact);
  const auto local_copy = EncodeLocalArtifact(ctx, artifact);
  RC_ASSERT(store_copy.ok());
  RC_ASSERT(local_copy.ok());
  RC_ASSERT(store_copy->name == local_copy->name);

  ConflictArtifact expected = artifact;
  std::sort(expected.paths.begin(), expected.paths.end());
  expected.paths.erase(std::unique(expected.paths.begin(), expected.paths.end()),
                       expected.paths.end());
  const auto from_store = DecodeStoreArtifact(ctx, store_copy->name, store_copy->bytes);
  RC_ASSERT(from_store.ok());
  RC_ASSERT(*from_store == expected);
  const auto from_local = DecodeLocalArtifact(ctx, local_copy->name, local_copy->bytes);
  RC_ASSERT(from_local.ok());
  RC_ASSERT(*from_local == expected);
}

RC_GTEST_PROP(LockRecordProperty, DecodeInvertsEncode, ()) {
  LockRecord record;
  record.owner = *GenHex(32);
  record.token = *GenHex(32);
  record.acquired_ms = *Uniform<std::int64_t>(0, std::int64_t{1} << 50);
  record.expires_ms = record.acquired_ms + *Uniform<std::int64_t>(0, std::int64_t{1} << 40);
  const auto bytes = EncodeLockRecord(record);
  RC_ASSERT(bytes.ok());
  const auto back = DecodeLockRecord(std::string_view(
      reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == record);
}

RC_GTEST_PROP(StoredZipProperty, ReadInvertsWrite, ()) {
  const int count = *Uniform(0, 4);
  std::vector<std::string> names;
  std::vector<std::vector<std::uint8_t>> datas;
  for (int i = 0; i < count; ++i) {
    names.push_back("entry-" + std::to_string(i) + ".bin");
    datas.push_back(*rc::gen::container<std::vector<std::uint8_t>>(
        static_cast<std::size_t>(*Uniform(0, 3000)), rc::gen::arbitrary<std::uint8_t>()));
  }
  std::vector<StoredZipEntry> entries;
  std::vector<std::string_view> name_views;
  for (int i = 0; i < count; ++i) {
    entries.push_back({names[static_cast<std::size_t>(i)], datas[static_cast<std::size_t>(i)]});
    name_views.push_back(names[static_cast<std::size_t>(i)]);
  }
  const auto zip = WriteStoredZip(entries);
  RC_ASSERT(zip.ok());
  const auto back = ReadStoredZip(*zip, name_views, "test.zip");
  RC_ASSERT(back.ok());
  RC_ASSERT(back->size() == entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    RC_ASSERT(std::equal((*back)[i].data.begin(), (*back)[i].data.end(), datas[i].begin(),
                         datas[i].end()));
  }
}

}  // namespace
}  // namespace hx
