// Properties of the meta codecs over generated values: what is encoded
// decodes to the same value, and encoding is a function of the value alone.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "base/hex.h"
#include "json/json_fields.h"
#include "meta/conflict.h"
#include "meta/lock.h"
#include "meta/manifest.h"
#include "meta/meta_test_util.h"
#include "meta/records.h"
#include "meta/snapshot.h"
#include "meta/snapshot_body.h"
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

// A snapshot of the test vault with up to 3 parents and GenAdded's objects.
Snapshot GenSnapshot(const VaultContext& ctx) {
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
  return snapshot;
}

RC_GTEST_PROP(SnapshotProperty, DecodeInvertsEncode, ()) {
  const VaultContext ctx = TestContext();
  const Snapshot snapshot = GenSnapshot(ctx);
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

// The snapshot body decoder of sessions 1-7, which parsed the text into a
// JSON document and walked it: the reference the one-pass reader must agree
// with. Its check of the objects' order, ranges and uniqueness (regroup and
// compare) is here "the text is the encoding of what it decoded", the rule
// the fuzz target holds every decoder to; the old check also let a blob's
// objects be split over two entries of the same id (SnapshotBodyTest).
Result<Snapshot> DecodeBodyWithADocument(std::string_view text, const std::string& what) {
  using json = nlohmann::json;
  using namespace meta_internal;  // NOLINT(google-build-using-namespace)
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(what, text, kMaxSnapshotZipBytes));
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, text));
  HX_ASSIGN_OR_RETURN(JsonFields body, JsonFields::Of(value, what));
  Snapshot snapshot;
  HX_ASSIGN_OR_RETURN(snapshot.author, HexField(body, "author", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(const json::array_t* blobs, body.Array("blobs"));
  for (const json& blob_value : *blobs) {
    HX_ASSIGN_OR_RETURN(JsonFields blob, JsonFields::Of(blob_value, what));
    HX_ASSIGN_OR_RETURN(const std::string blob_id, HexField(blob, "id", kLongIdHexLength));
    HX_ASSIGN_OR_RETURN(const json::array_t* objects, blob.Array("objects"));
    HX_RETURN_IF_ERROR(blob.RejectUnknownFields());
    if (objects->empty()) return CorruptRecord(what, "a blob lists no objects");
    for (const json& item : *objects) {
      const auto* tuple = item.get_ptr<const json::array_t*>();
      if (tuple == nullptr || tuple->size() != 5) return CorruptRecord(what, "not a tuple");
      const auto* id = (*tuple)[0].get_ptr<const std::string*>();
      const auto* kind = (*tuple)[1].get_ptr<const std::string*>();
      if (id == nullptr || !IsLowerHex(*id, kLongIdHexLength)) return CorruptRecord(what, "id");
      if (kind == nullptr || (*kind != "chunk" && *kind != "tree")) {
        return CorruptRecord(what, "kind");
      }
      ObjectLocation location;
      const std::vector<std::uint8_t> id_bytes = *FromHex(*id);
      std::copy(id_bytes.begin(), id_bytes.end(), location.id.begin());
      location.kind = *kind == "chunk" ? ObjectKind::kChunk : ObjectKind::kTree;
      location.blob_id = blob_id;
      std::uint64_t* numbers[] = {&location.offset, &location.length, &location.raw_length};
      for (int i = 0; i < 3; ++i) {
        const auto* number = (*tuple)[2 + i].get_ptr<const std::int64_t*>();
        if (number == nullptr || *number < 0) return CorruptRecord(what, "number");
        *numbers[i] = static_cast<std::uint64_t>(*number);
      }
      snapshot.added.push_back(std::move(location));
    }
  }
  HX_ASSIGN_OR_RETURN(snapshot.created_ms, TimeField(body, "created_ms"));
  HX_ASSIGN_OR_RETURN(snapshot.key_fingerprint, HexField(body, "key_fingerprint", 64));
  HX_ASSIGN_OR_RETURN(snapshot.parents, HexArrayField(body, "parents", 64, kMaxSnapshotParents));
  HX_ASSIGN_OR_RETURN(const std::string root, HexField(body, "root", kLongIdHexLength));
  const std::vector<std::uint8_t> root_bytes = *FromHex(root);
  std::copy(root_bytes.begin(), root_bytes.end(), snapshot.root.begin());
  HX_ASSIGN_OR_RETURN(snapshot.seq, CountField(body, "seq", 1));
  HX_ASSIGN_OR_RETURN(JsonFields summary, body.Object("summary"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.added, CountField(summary, "added"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.bytes, CountField(summary, "bytes"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.deleted, CountField(summary, "deleted"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.files, CountField(summary, "files"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.modified, CountField(summary, "modified"));
  HX_RETURN_IF_ERROR(summary.RejectUnknownFields());
  HX_RETURN_IF_ERROR(body.RejectUnknownFields());
  const Result<std::string> again = EncodeSnapshotBody(snapshot);
  if (!again.ok() || *again != text) return CorruptRecord(what, "not its snapshot's encoding");
  return snapshot;
}

// `text` with one edit of the kinds a damaged or hostile body has: a byte
// changed, dropped or added; cut short; a span repeated; or a token
// rewritten into another spelling of JSON (whitespace, an escape, a number
// in another form, a key renamed, duplicated or moved, a blob split).
std::string Mutate(std::string text) {
  // (Uniform's range is half-open.)
  const auto at = [&text] { return *Uniform<std::size_t>(0, text.size()); };
  // A random occurrence of `token` (the first from a random place, or the
  // first of all), or npos.
  const auto find = [&text, &at](std::string_view token) {
    const std::size_t from = text.find(token, at());
    return from != std::string::npos ? from : text.find(token);
  };
  const auto replace = [&text, &find](std::string_view token, std::string_view by) {
    const std::size_t pos = find(token);
    if (pos != std::string::npos) text.replace(pos, token.size(), by);
  };
  const std::string interesting = " \t\n,:\"\\[]{}0-19.eaAu";
  switch (*Uniform(0, 17)) {
    case 0:
      text[at()] = *rc::gen::arbitrary<char>();
      break;
    case 1:
      text[at()] = interesting[*Uniform<std::size_t>(0, interesting.size())];
      break;
    case 2:
      text.erase(at(), 1);
      break;
    case 3:
      text.insert(at(), 1, interesting[*Uniform<std::size_t>(0, interesting.size())]);
      break;
    case 4:
      text.resize(at());
      break;
    case 5: {
      const std::size_t from = at();
      const std::size_t length = *Uniform<std::size_t>(1, 120);
      text.insert(from, text.substr(from, length));
      break;
    }
    case 6:
      replace(*rc::gen::element<std::string>(",", ":", "[", "{", "}", "]"),
              *rc::gen::element<std::string>(", ", ": ", "[ ", "{\n", " }", "]\t"));
      break;
    case 7:
      replace(*rc::gen::element<std::string>("a", "0", "f"),
              *rc::gen::element<std::string>("\\u0061", "\\u0030", "\\/", "A"));
      break;
    case 8: {
      // A number: another spelling, or at or beyond the limits.
      const std::size_t pos = text.find_first_of("0123456789", at());
      if (pos == std::string::npos) break;
      const std::size_t end = text.find_first_not_of("0123456789", pos);
      const std::string digits = text.substr(pos, end - pos);
      text.replace(
          pos, digits.size(),
          *rc::gen::element<std::string>("-0", "0" + digits, "-" + digits, digits + ".0",
                                         digits + "e0", "1E2", "9223372036854775807",
                                         "9223372036854775808", "18446744073709551616", "0", "1"));
      break;
    }
    case 9:
      replace(*rc::gen::element<std::string>("\"seq\"", "\"files\"", "\"id\"", "\"root\""),
              *rc::gen::element<std::string>("\"seq \"", "\"zz\"", "\"Seq\"", "\"\\u0073eq\"",
                                             "\"a\""));
      break;
    case 10:
      replace("\"seq\":", "\"seq\":1,\"seq\":");
      break;  // a duplicate key
    case 11:
      replace("\"added\":", "\"bytes\":0,\"added\":");
      break;  // keys out of order
    case 12:
      replace("{\"author\":", "{\"author\":\"" + std::string(32, 'a') + "\",\"author\":");
      break;
    case 13: {
      // The objects of a blob split over two entries of its id.
      const std::size_t pos = find("],[");
      const std::size_t id = pos == std::string::npos ? pos : text.rfind("{\"id\":\"", pos);
      if (id == std::string::npos) break;
      text.replace(pos, 3, "]]}," + text.substr(id, 7 + 64 + 2) + "\"objects\":[[");
      break;
    }
    case 14: {
      // Two neighbouring tuples (no bracket inside one) swapped.
      const std::size_t pos = find("],[");
      const std::size_t open = pos == std::string::npos ? pos : text.rfind('[', pos);
      const std::size_t close = pos == std::string::npos ? pos : text.find(']', pos + 2);
      if (open == std::string::npos || close == std::string::npos) break;
      text = text.substr(0, open) + text.substr(pos + 2, close + 1 - (pos + 2)) + "," +
             text.substr(open, pos + 1 - open) + text.substr(close + 1);
      break;
    }
    case 15:
      text.insert(0, *rc::gen::element<std::string>("\xEF\xBB\xBF", " "));
      break;
    default:
      text += *rc::gen::element<std::string>("\n", " ", "{}", "x");
      break;
  }
  return text;
}

// The one-pass reader accepts what the document decoder accepted (one
// snapshot, one text), decodes it to the same snapshot, and refuses the
// rest as a corrupt record.
RC_GTEST_PROP(SnapshotProperty, TheBodyReaderAgreesWithTheDocumentDecoder, ()) {
  const VaultContext ctx = TestContext();
  const Result<std::string> text = meta_internal::EncodeSnapshotBody(GenSnapshot(ctx));
  RC_ASSERT(text.ok());
  const std::string what = "snapshot body";
  std::string mutated = *text;
  for (int edits = *Uniform(0, 4); edits > 0 && !mutated.empty(); --edits) {
    mutated = Mutate(std::move(mutated));
  }
  const Result<Snapshot> decoded = meta_internal::DecodeSnapshotBody(mutated, what);
  const Result<Snapshot> reference = DecodeBodyWithADocument(mutated, what);
  RC_TAG(decoded.ok() ? "accepted" : "refused");
  RC_ASSERT(decoded.ok() == reference.ok());
  if (decoded.ok()) {
    RC_ASSERT(*decoded == *reference);
  } else {
    RC_ASSERT(decoded.error().code == SyncCode::kStateFailed);
    RC_ASSERT(decoded.error().category == Category::kCorrupt);
  }
  if (mutated == *text) RC_ASSERT(decoded.ok());
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
