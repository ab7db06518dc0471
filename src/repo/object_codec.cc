#include "repo/object_codec.h"

#include <algorithm>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"

namespace hx {

std::string_view ToString(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kChunk: return "chunk";
    case ObjectKind::kTree: return "tree";
  }
  return "unknown";
}

std::string_view ObjectIdContext(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kChunk: return "hx 2026-11 object id chunk v1";
    case ObjectKind::kTree: return "hx 2026-11 object id tree v1";
  }
  return "hx 2026-11 object id unknown v1";
}

namespace {

Blake3Key IdKey(const VaultContext& context, ObjectKind kind) {
  Blake3Key key{};
  Blake3DeriveKey(ObjectIdContext(kind), context.keys.ids.bytes(), key);
  return key;
}

Error ObjectError(Category category, std::string message, ObjectKind kind, const ObjectId& id) {
  return Error(SyncCode::kApplyFailed, category, std::move(message))
      .With("kind", std::string(ToString(kind)))
      .With("object", ToHex(id));
}

}  // namespace

ObjectId ComputeObjectId(const VaultContext& context, ObjectKind kind,
                         std::span<const std::uint8_t> plaintext) {
  // Deriving the per-kind key costs two BLAKE3 compressions per call, noise
  // next to hashing a chunk, and keeps VaultContext a plain struct.
  return Blake3KeyedHash(IdKey(context, kind), plaintext);
}

ObjectIdFn TreeIdFn(const VaultContext& context) {
  return [key = IdKey(context, ObjectKind::kTree)](std::string_view bytes) {
    return Blake3KeyedHash(
        key, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  };
}

std::vector<std::uint8_t> ObjectAssociatedData(const VaultContext& context, ObjectKind kind,
                                               const ObjectId& id) {
  return EncodeAssociatedData({"hx object v1", context.vault_id, ToString(kind), ToHex(id)});
}

Result<std::vector<std::uint8_t>> SealObject(const VaultContext& context, ObjectKind kind,
                                             const ObjectId& id,
                                             std::span<const std::uint8_t> plaintext,
                                             int zstd_level) {
  if (plaintext.size() > kMaxObjectSize) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "object of " + std::to_string(plaintext.size()) +
                     " bytes is larger than the limit of " + std::to_string(kMaxObjectSize));
  }
  HX_ASSIGN_OR_RETURN(std::vector<std::uint8_t> compressed, ZstdCompress(plaintext, zstd_level));
  std::vector<std::uint8_t> body;
  // Compress only when it pays: incompressible chunks (media, archives) are
  // stored as they are and open without a decompression pass.
  if (compressed.size() < plaintext.size()) {
    body.reserve(1 + compressed.size());
    body.push_back(kObjectEncodingZstd);
    body.insert(body.end(), compressed.begin(), compressed.end());
  } else {
    body.reserve(1 + plaintext.size());
    body.push_back(kObjectEncodingRaw);
    body.insert(body.end(), plaintext.begin(), plaintext.end());
  }
  return AeadSealSynthetic(context.keys.content, context.keys.nonce,
                           ObjectAssociatedData(context, kind, id), body);
}

Result<std::vector<std::uint8_t>> OpenObject(const VaultContext& context, ObjectKind kind,
                                             const ObjectId& id, std::uint64_t raw_length,
                                             std::span<const std::uint8_t> sealed) {
  if (raw_length > kMaxObjectSize) {
    return ObjectError(Category::kCorrupt,
                       "object claims " + std::to_string(raw_length) +
                           " bytes, more than any object hx writes",
                       kind, id);
  }
  auto body = AeadOpen(context.keys.content, ObjectAssociatedData(context, kind, id), sealed);
  if (!body.ok()) {
    return ObjectError(Category::kCorrupt, std::string(kAeadOpenFailedMessage), kind, id);
  }
  if (body->empty()) return ObjectError(Category::kCorrupt, "object has no encoding byte", kind, id);
  const std::uint8_t encoding = body->front();
  const std::span<const std::uint8_t> payload = std::span(*body).subspan(1);
  std::vector<std::uint8_t> plaintext;
  if (encoding == kObjectEncodingRaw) {
    plaintext.assign(payload.begin(), payload.end());
  } else if (encoding == kObjectEncodingZstd) {
    auto decompressed = ZstdDecompress(payload, static_cast<std::size_t>(raw_length));
    if (!decompressed.ok()) {
      return ObjectError(Category::kCorrupt, "object payload does not decompress: " +
                                                 decompressed.error().message,
                         kind, id);
    }
    plaintext = std::move(*decompressed);
  } else {
    return ObjectError(Category::kCorrupt,
                       "object has unknown encoding " + std::to_string(encoding), kind, id);
  }
  if (plaintext.size() != raw_length) {
    return ObjectError(Category::kCorrupt,
                       "object is " + std::to_string(plaintext.size()) + " bytes, expected " +
                           std::to_string(raw_length),
                       kind, id);
  }
  if (ComputeObjectId(context, kind, plaintext) != id) {
    return ObjectError(Category::kHashMismatch, "object content does not match its id", kind, id);
  }
  return plaintext;
}

Result<std::vector<std::uint8_t>> OpenObject(const VaultContext& context,
                                             const ObjectLocation& location,
                                             std::span<const std::uint8_t> sealed) {
  return OpenObject(context, location.kind, location.id, location.raw_length, sealed);
}

}  // namespace hx
