#include "meta/conflict.h"

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "json/json_fields.h"
#include "meta/records.h"
#include "repo/tree.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kPathIdContext = "hx 2026-11 conflict path id v1";
constexpr std::string_view kPathsAdLabel = "hx conflict paths v1";
constexpr std::string_view kNamePrefix = "conflict_";
constexpr std::string_view kNameSuffix = ".json";
constexpr std::size_t kId16Length = 16;
constexpr std::size_t kMaxWordLength = 64;
constexpr ConflictKind kKinds[] = {ConflictKind::kPushDiverged, ConflictKind::kPullConcurrent};

enum class Copy { kStore, kLocal };

// A policy or decision word: [a-z0-9_]{1,64}.
bool IsWord(std::string_view word) {
  return !word.empty() && word.size() <= kMaxWordLength &&
         std::all_of(word.begin(), word.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

// A relative '/'-separated path whose every segment is a valid entry name.
bool IsValidPath(std::string_view path) {
  if (path.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(start, slash - start);
    if (!IsValidEntryName(segment)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::optional<std::string> ArtifactProblem(const ConflictArtifact& a) {
  if (!IsLowerHex(a.vault_id, kShortIdHexLength)) return "vault_id is not 32 lowercase hex";
  if (a.created_ms < 0) return "created_ms is negative";
  if (a.base_snapshot && !IsLowerHex(*a.base_snapshot, kLongIdHexLength)) {
    return "base_snapshot is not 64 lowercase hex";
  }
  if (!IsLowerHex(a.local_node_id, kShortIdHexLength)) return "local node_id is not 32 hex";
  for (std::uint64_t count : {a.local_changes.added, a.local_changes.modified,
                              a.local_changes.deleted}) {
    if (count > kMaxJsonInt) return "a change count is above 2^63-1";
  }
  if (a.remote_head_seq == 0 || a.remote_head_seq > kMaxJsonInt) {
    return "remote head_seq is not in [1, 2^63-1]";
  }
  if (!IsLowerHex(a.remote_snapshot_id, kLongIdHexLength)) {
    return "remote snapshot_id is not 64 lowercase hex";
  }
  if (!IsWord(a.policy) || !IsWord(a.decision)) return "policy or decision is not [a-z0-9_]{1,64}";
  for (const std::string& path : a.paths) {
    if (!IsValidPath(path)) return "a path is not a valid relative path";
  }
  return std::nullopt;
}

std::string PathId(const Blake3Key& key, std::string_view path) {
  return ToHex(Blake3KeyedHash(key, AsBytes(path)));
}

Blake3Key PathIdKey(const VaultContext& ctx) {
  Blake3Key key;
  Blake3DeriveKey(kPathIdContext, ctx.keys.ids.bytes(), key);
  return key;
}

// The artifact without its paths (neither sealed nor plain); `paths` must
// be sorted and unique.
json BaseJson(const VaultContext& ctx, const ConflictArtifact& a,
              const std::vector<std::string>& paths) {
  const Blake3Key key = PathIdKey(ctx);
  std::vector<std::string> ids;
  ids.reserve(paths.size());
  for (const std::string& path : paths) ids.push_back(PathId(key, path));
  std::sort(ids.begin(), ids.end());
  return json{
      {"base_snapshot", a.base_snapshot ? json(*a.base_snapshot) : json(nullptr)},
      {"created_ms", a.created_ms},
      {"decision", a.decision},
      {"format_version", kFormatVersion},
      {"kind", ToString(a.kind)},
      {"local", json{{"changes", json{{"added", static_cast<std::int64_t>(a.local_changes.added)},
                                      {"deleted", static_cast<std::int64_t>(a.local_changes.deleted)},
                                      {"modified",
                                       static_cast<std::int64_t>(a.local_changes.modified)}}},
                     {"node_id", a.local_node_id}}},
      {"path_ids", std::move(ids)},
      {"policy", a.policy},
      {"remote", json{{"head_seq", static_cast<std::int64_t>(a.remote_head_seq)},
                      {"snapshot_id", a.remote_snapshot_id}}},
      {"vault_id", a.vault_id}};
}

std::vector<std::uint8_t> PathsAd(std::string_view vault_id, std::string_view base_bytes) {
  return EncodeAssociatedData({kPathsAdLabel, vault_id, base_bytes});
}

std::string NameFor(std::int64_t created_ms, std::span<const std::uint8_t> store_bytes) {
  const std::string id16 = ToHex(Blake3Hash(store_bytes)).substr(0, kId16Length);
  return std::string(kNamePrefix) + std::to_string(created_ms) + "_" + id16 +
         std::string(kNameSuffix);
}

Result<EncodedArtifact> Encode(const VaultContext& ctx, const ConflictArtifact& artifact,
                               Copy copy) {
  if (const auto problem = ArtifactProblem(artifact)) {
    return EncoderBug("EncodeConflictArtifact", *problem);
  }
  if (artifact.vault_id != ctx.vault_id) {
    return EncoderBug("EncodeConflictArtifact", "the artifact's vault_id is not the context's");
  }
  const std::set<std::string> unique(artifact.paths.begin(), artifact.paths.end());
  const std::vector<std::string> paths(unique.begin(), unique.end());
  json base = BaseJson(ctx, artifact, paths);
  HX_ASSIGN_OR_RETURN(const std::string base_bytes, WriteRecordJson("conflict artifact", base));
  HX_ASSIGN_OR_RETURN(const std::string paths_bytes,
                      WriteRecordJson("conflict artifact paths", json(paths)));
  json store_copy = base;
  store_copy["paths_sealed"] = ToHex(AeadSealSynthetic(
      ctx.keys.content, ctx.keys.nonce, PathsAd(ctx.vault_id, base_bytes), AsBytes(paths_bytes)));
  HX_ASSIGN_OR_RETURN(const std::string store_bytes,
                      WriteRecordJson("conflict artifact", store_copy));
  EncodedArtifact out{.name = NameFor(artifact.created_ms, AsBytes(store_bytes)), .bytes = {}};
  if (copy == Copy::kStore) {
    out.bytes = ToByteVector(store_bytes);
  } else {
    base["paths"] = paths;
    HX_ASSIGN_OR_RETURN(const std::string local_bytes, WriteRecordJson("conflict artifact", base));
    out.bytes = ToByteVector(local_bytes);
  }
  if (out.bytes.size() > kMaxConflictArtifactBytes) {
    return EncoderBug("EncodeConflictArtifact", "the artifact is larger than the limit");
  }
  return out;
}

// The paths of a decoded artifact: a JSON array of sorted, unique, valid
// paths.
Result<std::vector<std::string>> DecodePaths(const json& value, const std::string& what) {
  const auto* array = value.get_ptr<const json::array_t*>();
  if (array == nullptr) return CorruptRecord(what, "paths are not a JSON array");
  std::vector<std::string> paths;
  paths.reserve(array->size());
  for (const json& item : *array) {
    const auto* path = item.get_ptr<const std::string*>();
    if (path == nullptr || !IsValidPath(*path)) {
      return CorruptRecord(what, "a path is not a valid relative path");
    }
    if (!paths.empty() && !(paths.back() < *path)) {
      return CorruptRecord(what, "paths are not sorted and unique");
    }
    paths.push_back(*path);
  }
  return paths;
}

// The fields both copies share, "base_snapshot" included when it is a
// string (the caller removes a null one); the ids of the paths go to
// `path_ids`.
Result<ConflictArtifact> DecodeShared(JsonFields& fields, std::vector<std::string>& path_ids) {
  ConflictArtifact a;
  if (fields.Has("base_snapshot")) {
    HX_ASSIGN_OR_RETURN(a.base_snapshot, HexField(fields, "base_snapshot", kLongIdHexLength));
  }
  HX_ASSIGN_OR_RETURN(a.created_ms, TimeField(fields, "created_ms"));
  HX_ASSIGN_OR_RETURN(a.decision, fields.String("decision"));
  HX_ASSIGN_OR_RETURN(const std::int64_t version, fields.Int("format_version"));
  (void)version;  // checked before; read so that it is not an unknown field
  HX_ASSIGN_OR_RETURN(const std::string kind, fields.String("kind"));
  bool known_kind = false;
  for (ConflictKind k : kKinds) {
    if (kind == ToString(k)) {
      a.kind = k;
      known_kind = true;
    }
  }
  if (!known_kind) return CorruptRecord(fields.what(), "kind is not a known conflict kind");
  HX_ASSIGN_OR_RETURN(JsonFields local, fields.Object("local"));
  HX_ASSIGN_OR_RETURN(JsonFields changes, local.Object("changes"));
  HX_ASSIGN_OR_RETURN(a.local_changes.added, CountField(changes, "added"));
  HX_ASSIGN_OR_RETURN(a.local_changes.deleted, CountField(changes, "deleted"));
  HX_ASSIGN_OR_RETURN(a.local_changes.modified, CountField(changes, "modified"));
  HX_RETURN_IF_ERROR(changes.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(a.local_node_id, HexField(local, "node_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(local.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(path_ids, HexArrayField(fields, "path_ids", kLongIdHexLength,
                                              kMaxConflictArtifactBytes / 67));
  HX_ASSIGN_OR_RETURN(a.policy, fields.String("policy"));
  HX_ASSIGN_OR_RETURN(JsonFields remote, fields.Object("remote"));
  HX_ASSIGN_OR_RETURN(a.remote_head_seq, CountField(remote, "head_seq", 1));
  HX_ASSIGN_OR_RETURN(a.remote_snapshot_id, HexField(remote, "snapshot_id", kLongIdHexLength));
  HX_RETURN_IF_ERROR(remote.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(a.vault_id, HexField(fields, "vault_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (!IsWord(a.policy) || !IsWord(a.decision)) {
    return CorruptRecord(fields.what(), "policy or decision is not [a-z0-9_]{1,64}");
  }
  return a;
}

// Parses conflict_<created_ms>_<id16>.json (created_ms in shortest decimal).
bool ParseName(std::string_view name, std::int64_t& created_ms, std::string& id16) {
  if (!name.starts_with(kNamePrefix) || !name.ends_with(kNameSuffix)) return false;
  name.remove_prefix(kNamePrefix.size());
  name.remove_suffix(kNameSuffix.size());
  const std::size_t underscore = name.find('_');
  if (underscore == std::string_view::npos) return false;
  const std::string_view digits = name.substr(0, underscore);
  id16 = std::string(name.substr(underscore + 1));
  // 18 digits keep the value below 2^63.
  if (!IsLowerHex(id16, kId16Length) || digits.empty() || digits.size() > 18) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;
  created_ms = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    created_ms = created_ms * 10 + (c - '0');
  }
  return true;
}

// Takes field `key` (of type `type`) out of the object, so that what remains
// is the artifact's base (see BaseJson).
Result<json> TakeField(json& object, std::string_view key, json::value_t type,
                       const std::string& what) {
  auto& members = object.get_ref<json::object_t&>();
  const auto it = members.find(std::string(key));
  if (it == members.end() || it->second.type() != type) {
    return CorruptRecord(what, "field \"" + std::string(key) + "\" is missing or of the wrong type")
        .With("field", what + "." + std::string(key));
  }
  json taken = std::move(it->second);
  members.erase(it);
  return taken;
}

Result<std::vector<std::string>> OpenSealedPaths(const VaultContext& ctx,
                                                 const std::string& sealed_hex,
                                                 std::string_view base_bytes,
                                                 const std::string& what) {
  const auto sealed = FromHex(sealed_hex);
  if (!sealed || !IsLowerHex(sealed_hex, sealed_hex.size())) {
    return CorruptRecord(what, "paths_sealed is not lowercase hex");
  }
  Result<std::vector<std::uint8_t>> plaintext =
      AeadOpen(ctx.keys.content, PathsAd(ctx.vault_id, base_bytes), *sealed);
  if (!plaintext.ok()) {
    return CorruptRecord(what, "paths_sealed does not authenticate: the artifact was tampered "
                               "with or is from another vault");
  }
  const std::string paths_what = what + " paths";
  HX_ASSIGN_OR_RETURN(const json paths,
                      ParseRecordJson(paths_what, AsText(*plaintext), kMaxConflictArtifactBytes));
  HX_RETURN_IF_ERROR(RequireCanonical(paths_what, paths, AsText(*plaintext)));
  return DecodePaths(paths, paths_what);
}

Result<ConflictArtifact> DecodeCopy(const VaultContext& ctx, std::string_view name,
                                    std::span<const std::uint8_t> bytes, Copy copy) {
  std::int64_t name_ms = 0;
  std::string name_id16;
  if (!ParseName(name, name_ms, name_id16)) {
    return CorruptRecord("conflict artifact", "name is not conflict_<created_ms>_<id16>.json");
  }
  const std::string what =
      copy == Copy::kStore ? ConflictKey(name) : ".hx/conflicts/" + std::string(name);
  const std::string_view text = AsText(bytes);
  HX_ASSIGN_OR_RETURN(json value, ParseRecordJson(what, text, kMaxConflictArtifactBytes));
  {
    HX_ASSIGN_OR_RETURN(JsonFields version_fields, JsonFields::Of(value, what));
    HX_RETURN_IF_ERROR(CheckFormatVersion(version_fields));
  }
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, text));

  const bool sealed_copy = copy == Copy::kStore;
  HX_ASSIGN_OR_RETURN(const json paths_field,
                      TakeField(value, sealed_copy ? "paths_sealed" : "paths",
                                sealed_copy ? json::value_t::string : json::value_t::array, what));
  // What remains is canonical JSON of the base: the associated data of the
  // sealed paths.
  HX_ASSIGN_OR_RETURN(const std::string base_bytes, WriteRecordJson(what, value));
  const auto& members = value.get_ref<json::object_t&>();
  if (const auto it = members.find("base_snapshot"); it != members.end() && it->second.is_null()) {
    value.erase("base_snapshot");
  } else if (it == members.end()) {
    return CorruptRecord(what, "field \"base_snapshot\" is missing");
  }
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  std::vector<std::string> path_ids;
  HX_ASSIGN_OR_RETURN(ConflictArtifact artifact, DecodeShared(fields, path_ids));
  if (artifact.vault_id != ctx.vault_id) {
    return CorruptRecord(what, "belongs to vault " + artifact.vault_id + ", not to this vault " +
                                   ctx.vault_id)
        .With("vault_id", artifact.vault_id);
  }
  if (artifact.created_ms != name_ms) {
    return CorruptRecord(what, "created_ms does not match the time in its name");
  }
  if (sealed_copy) {
    HX_ASSIGN_OR_RETURN(artifact.paths,
                        OpenSealedPaths(ctx, paths_field.get<std::string>(), base_bytes, what));
  } else {
    HX_ASSIGN_OR_RETURN(artifact.paths, DecodePaths(paths_field, what + " paths"));
  }
  const Blake3Key key = PathIdKey(ctx);
  std::vector<std::string> expected_ids;
  for (const std::string& path : artifact.paths) expected_ids.push_back(PathId(key, path));
  std::sort(expected_ids.begin(), expected_ids.end());
  if (expected_ids != path_ids) return CorruptRecord(what, "path_ids do not match the paths");

  // The name's id16 is the hash of the store copy: of these bytes, or for a
  // local copy of the store copy it stands for.
  std::string expected_name;
  if (sealed_copy) {
    expected_name = NameFor(artifact.created_ms, bytes);
  } else {
    HX_ASSIGN_OR_RETURN(const EncodedArtifact store_copy, Encode(ctx, artifact, Copy::kStore));
    expected_name = store_copy.name;
  }
  if (expected_name != name) return CorruptRecord(what, "id16 in its name does not match its bytes");
  return artifact;
}

}  // namespace

std::string_view ToString(ConflictKind kind) {
  switch (kind) {
    case ConflictKind::kPushDiverged:
      return "push_diverged";
    case ConflictKind::kPullConcurrent:
      return "pull_concurrent";
  }
  return "unknown";
}

std::string ConflictKey(std::string_view name) { return "conflicts/" + std::string(name); }

Result<ConflictArtifact> DecodeStoreArtifact(const VaultContext& ctx, std::string_view name,
                                             std::span<const std::uint8_t> bytes) {
  return AsStoreRecord(DecodeCopy(ctx, name, bytes, Copy::kStore));
}

Result<ConflictArtifact> DecodeLocalArtifact(const VaultContext& ctx, std::string_view name,
                                             std::span<const std::uint8_t> bytes) {
  return AsStoreRecord(DecodeCopy(ctx, name, bytes, Copy::kLocal));
}

Result<EncodedArtifact> EncodeStoreArtifact(const VaultContext& ctx,
                                            const ConflictArtifact& artifact) {
  return Encode(ctx, artifact, Copy::kStore);
}

Result<EncodedArtifact> EncodeLocalArtifact(const VaultContext& ctx,
                                            const ConflictArtifact& artifact) {
  return Encode(ctx, artifact, Copy::kLocal);
}

}  // namespace hx
