// Fuzzes every meta decoder on untrusted bytes. The first byte selects the
// target; the rest is the input:
//   0 head.json                     DecodeHead
//   1 snapshot zip                  DecodeSnapshotZip
//   2 sealed manifest               DecodeManifest
//   3 lock record                   DecodeLockRecord
//   4 conflict artifact, store copy DecodeStoreArtifact (name, '\n', bytes)
//   5 conflict artifact, local copy DecodeLocalArtifact (name, '\n', bytes)
//   6 snapshot body plaintext       sealed and zipped here, then DecodeSnapshotZip
//   7 manifest plaintext            sealed here, then DecodeManifest
//   8 conflict paths plaintext      sealed here into the golden artifact
//   9 prune.json                    DecodePruneRecord
// Modes 6-8 seal the fuzzer's bytes with the test vault's keys, so that the
// JSON behind the AEAD is fuzzed too (random bytes never authenticate).
//
// Every input must give a value or an error, never a crash; errors must be
// KC_SYNC_STATE_FAILED with category corrupt or unsupported (never internal);
// and whatever decodes must encode back to exactly the input bytes (the
// formats are canonical: one value, one encoding).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "meta/conflict.h"
#include "meta/head.h"
#include "meta/lock.h"
#include "meta/manifest.h"
#include "meta/meta_test_util.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"
#include "meta/stored_zip.h"

namespace {

using hx::Bytes;

void Check(bool condition) {
  if (!condition) std::abort();
}

template <typename T>
void CheckError(const hx::Result<T>& result) {
  if (result.ok()) return;
  Check(result.error().code == hx::SyncCode::kStateFailed);
  Check(result.error().category == hx::Category::kCorrupt ||
        result.error().category == hx::Category::kUnsupported);
}

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
std::string_view Text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
bool Same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

constexpr std::string_view kSnapshotId =
    "bb695adf9e627a4312bfe7b7b56f44ef20f72bc5d4e67d00837edafab0c0bb19";
// The golden conflict artifact without "paths_sealed" (conflict_test.cc).
constexpr std::string_view kConflictBase =
    R"({"base_snapshot":"abababababababababababababababababababababababababababababababab",)"
    R"("created_ms":1767225600000,"decision":"refused","format_version":1,"kind":"push_diverged",)"
    R"("local":{"changes":{"added":1,"deleted":3,"modified":2},)"
    R"("node_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},)"
    R"("path_ids":["3cdd9e3621fcc7a85f13d9be9c7b9da9eeef27c896672785e141cd8d9522a820",)"
    R"("ef839713b799c166eada59176b7ade3d86e2da3c2804da8666c6c97cabb83c83"],)"
    R"("policy":"none","remote":{"head_seq":8,)"
    R"("snapshot_id":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"},)"
    R"("vault_id":"00112233445566778899aabbccddeeff"})";

void FuzzSnapshot(const hx::VaultContext& ctx, std::span<const std::uint8_t> zip) {
  const auto snapshot = hx::DecodeSnapshotZip(ctx, zip, kSnapshotId);
  CheckError(snapshot);
  if (snapshot.ok()) {
    const auto again = hx::EncodeSnapshotZip(ctx, *snapshot);
    Check(again.ok() && Same(*again, zip));
  }
}

void FuzzManifest(const hx::VaultContext& ctx, std::span<const std::uint8_t> bytes) {
  const auto manifest = hx::DecodeManifest(ctx, hx::meta_testing::kNodeA, bytes);
  CheckError(manifest);
  if (manifest.ok()) {
    const auto again = hx::EncodeManifest(ctx, *manifest);
    Check(again.ok() && Same(*again, bytes));
  }
}

void FuzzConflict(const hx::VaultContext& ctx, std::string_view name,
                  std::span<const std::uint8_t> bytes, bool store_copy) {
  const auto artifact = store_copy ? hx::DecodeStoreArtifact(ctx, name, bytes)
                                   : hx::DecodeLocalArtifact(ctx, name, bytes);
  CheckError(artifact);
  if (artifact.ok()) {
    const auto again = store_copy ? hx::EncodeStoreArtifact(ctx, *artifact)
                                  : hx::EncodeLocalArtifact(ctx, *artifact);
    Check(again.ok() && again->name == name && Same(again->bytes, bytes));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hx::VaultContext ctx = hx::meta_testing::TestContext();
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::span<const std::uint8_t> input(data + 1, size - 1);
  const std::string_view text = Text(input);

  switch (selector) {
    case 0: {
      const auto head = hx::DecodeHead(ctx, text);
      CheckError(head);
      if (head.ok()) {
        const auto again = hx::EncodeHead(ctx, *head);
        Check(again.ok() && Same(*again, input));
      }
      break;
    }
    case 1:
      FuzzSnapshot(ctx, input);
      break;
    case 2:
      FuzzManifest(ctx, input);
      break;
    case 3: {
      const auto record = hx::DecodeLockRecord(text);
      CheckError(record);
      if (record.ok()) {
        const auto again = hx::EncodeLockRecord(*record);
        Check(again.ok() && Same(*again, input));
      }
      break;
    }
    case 4:
    case 5: {
      const std::size_t newline = text.find('\n');
      if (newline == std::string_view::npos) break;
      FuzzConflict(ctx, text.substr(0, newline), input.subspan(newline + 1), selector == 4);
      break;
    }
    case 6: {
      const std::string header = R"({"format_version":1,"kind":"hx-snapshot","snapshot_id":")" +
                                 std::string(kSnapshotId) + R"(","vault_id":")" + ctx.vault_id +
                                 "\"}";
      const auto sealed = hx::AeadSealSynthetic(
          ctx.keys.content, ctx.keys.nonce,
          hx::EncodeAssociatedData({"hx snapshot v1", ctx.vault_id, kSnapshotId}), input);
      const hx::StoredZipEntry entries[] = {{"header.json", Span(header)}, {"body.bin", sealed}};
      const auto zip = hx::WriteStoredZip(entries);
      Check(zip.ok());
      FuzzSnapshot(ctx, *zip);
      break;
    }
    case 7:
      FuzzManifest(ctx,
                   hx::AeadSealSynthetic(ctx.keys.manifest, ctx.keys.nonce,
                                         hx::EncodeAssociatedData({"hx manifest v1", ctx.vault_id,
                                                                   hx::meta_testing::kNodeA}),
                                         input));
      break;
    case 8: {
      const auto sealed = hx::AeadSealSynthetic(
          ctx.keys.content, ctx.keys.nonce,
          hx::EncodeAssociatedData({"hx conflict paths v1", ctx.vault_id, kConflictBase}), input);
      std::string bytes(kConflictBase);
      bytes.insert(bytes.find("\"policy\":"), "\"paths_sealed\":\"" + hx::ToHex(sealed) + "\",");
      const std::string name = "conflict_1767225600000_" +
                               hx::ToHex(hx::Blake3Hash(Span(bytes))).substr(0, 16) + ".json";
      FuzzConflict(ctx, name, Span(bytes), /*store_copy=*/true);
      break;
    }
    case 9: {
      const auto record = hx::DecodePruneRecord(ctx, input);
      CheckError(record);
      if (record.ok()) {
        const auto again = hx::EncodePruneRecord(ctx, *record);
        Check(again.ok() && Same(*again, input));
      }
      break;
    }
    default:
      break;
  }
  return 0;
}
