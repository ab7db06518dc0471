#include "repo/pack.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "repo/object_codec.h"

namespace hx {
namespace {

void AppendLe32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void AppendLe64(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint64_t ReadLe(std::span<const std::uint8_t> bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

void AppendMagic(std::vector<std::uint8_t>& out, std::string_view magic) {
  out.insert(out.end(), magic.begin(), magic.end());
}

bool HasMagic(std::span<const std::uint8_t> bytes, std::string_view magic) {
  return bytes.size() >= magic.size() &&
         std::equal(magic.begin(), magic.end(), bytes.begin(),
                    [](char m, std::uint8_t b) { return static_cast<std::uint8_t>(m) == b; });
}

std::vector<std::uint8_t> PackIndexAssociatedData(const VaultContext& context) {
  return EncodeAssociatedData({"hx pack index v1", context.vault_id});
}

// details "blob" when the caller named the blob.
Error CorruptPack(std::string_view blob_id, std::string message) {
  Error error(SyncCode::kStateFailed, Category::kCorrupt, "pack: " + std::move(message));
  if (!blob_id.empty()) error.With("blob", std::string(blob_id));
  return error;
}

// The slot of `id` in a table of `mask` + 1 slots: a mix of all its bytes
// (ids are keyed hashes, but a caller may pack any ids: tests do).
std::size_t SlotOf(const ObjectId& id, std::size_t mask) {
  std::uint64_t words[4];
  std::memcpy(words, id.data(), sizeof(words));
  std::uint64_t h = words[0] ^ std::rotl(words[1], 17) ^ std::rotl(words[2], 31) ^
                    std::rotl(words[3], 47);
  h *= 0x9E3779B97F4A7C15ull;
  return static_cast<std::size_t>(h ^ (h >> 32)) & mask;
}

}  // namespace

PackWriter::PackWriter(const VaultContext& context, PackOptions options, Buffering buffering)
    : context_(&context), options_(options), buffering_(buffering) {}

Result<bool> PackWriter::Add(ObjectKind kind, const ObjectId& id,
                             std::span<const std::uint8_t> plaintext) {
  if (Contains(id)) return false;
  HX_ASSIGN_OR_RETURN(std::vector<std::uint8_t> sealed,
                      SealObject(*context_, kind, id, plaintext, options_.zstd_level));
  return AddSealed(kind, id, sealed, plaintext.size());
}

bool PackWriter::Contains(const ObjectId& id) const {
  if (slots_.empty()) return false;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = SlotOf(id, mask); slots_[i] != 0; i = (i + 1) & mask) {
    if (records_[slots_[i] - 1].id == id) return true;
  }
  return false;
}

void PackWriter::InsertLast() {
  auto place = [this](std::size_t record) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = SlotOf(records_[record].id, mask);
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = static_cast<std::uint32_t>(record + 1);
  };
  if (2 * records_.size() > slots_.size()) {
    // At most half full: grown (and every record placed again) by doubling.
    std::size_t size = std::max<std::size_t>(slots_.size(), 64);
    while (2 * records_.size() > size) size *= 2;
    slots_.assign(size, 0);
    for (std::size_t r = 0; r < records_.size(); ++r) place(r);
    return;
  }
  place(records_.size() - 1);
}

bool PackWriter::AddSealed(ObjectKind kind, const ObjectId& id,
                           std::span<const std::uint8_t> sealed, std::uint64_t raw_length) {
  if (Contains(id)) return false;
  if (size() == 0 && buffering_ == Buffering::kWhole) {
    // The whole pack in one allocation: grown by doubling, the buffer would
    // end up to twice the pack, and held that way while the pack uploads.
    // Untouched capacity costs address space, not memory.
    const std::uint64_t objects = std::max<std::uint64_t>(options_.target_size, sealed.size());
    bytes_.reserve(static_cast<std::size_t>(objects + objects / 32));
  }
  records_.push_back({id, size(), sealed.size(), raw_length, kind});
  bytes_.insert(bytes_.end(), sealed.begin(), sealed.end());
  InsertLast();
  return true;
}

std::uint64_t PackWriter::BlobSizeWith(std::uint64_t sealed_size) const {
  const std::uint64_t records = records_.size() + 1;
  return size() + sealed_size + kPackIndexHeaderSize + records * kPackIndexRecordSize +
         kAeadOverhead + kPackTrailerSize;
}

bool PackWriter::HasRoomForSealed(std::uint64_t sealed_size) const {
  return empty() || BlobSizeWith(sealed_size) < options_.target_size;
}

bool PackWriter::HasRoomFor(std::uint64_t plaintext_size) const {
  // An object is never sealed larger than raw + overhead (see SealObject).
  return HasRoomForSealed(plaintext_size + kSealedObjectOverhead);
}

Status PackWriter::Drain(const std::function<Status(std::span<const std::uint8_t>)>& sink) {
  if (bytes_.empty()) return OkStatus();
  drained_hash_.Update(bytes_);
  drained_ += bytes_.size();
  Status sunk = sink(bytes_);
  bytes_.clear();
  return sunk;
}

void PackWriter::Reuse(std::vector<std::uint8_t> buffer) {
  if (size() != 0 || !records_.empty()) return;
  buffer.clear();
  bytes_ = std::move(buffer);
}

FinishedPack PackWriter::Finish() {
  // Each step frees what the next does not need: the id table and the
  // records once encoded as the index, the seal once in the blob; the
  // locations are read back from the index's plaintext (never beside the
  // records: ~8 MB less at 100,000 objects).
  slots_ = std::vector<std::uint32_t>();
  const std::size_t count = records_.size();
  std::vector<std::uint8_t> index;
  index.reserve(kPackIndexHeaderSize + count * kPackIndexRecordSize);
  AppendMagic(index, kPackIndexMagic);
  AppendLe32(index, static_cast<std::uint32_t>(count));
  for (const Record& record : records_) {
    index.push_back(static_cast<std::uint8_t>(record.kind));
    index.insert(index.end(), record.id.begin(), record.id.end());
    AppendLe64(index, record.offset);
    AppendLe64(index, record.length);
    AppendLe64(index, record.raw_length);
  }
  records_ = std::vector<Record>();

  FinishedPack pack;
  pack.bytes = std::move(bytes_);
  bytes_ = std::vector<std::uint8_t>();
  {
    const std::vector<std::uint8_t> sealed_index = AeadSealSynthetic(
        context_->keys.content, context_->keys.nonce, PackIndexAssociatedData(*context_), index);
    // Exactly once more if the index did not fit the slack reserved above.
    pack.bytes.reserve(pack.bytes.size() + sealed_index.size() + kPackTrailerSize);
    pack.bytes.insert(pack.bytes.end(), sealed_index.begin(), sealed_index.end());
    AppendLe32(pack.bytes, static_cast<std::uint32_t>(sealed_index.size()));
  }
  AppendMagic(pack.bytes, kPackMagic);
  pack.blob_size = drained_ + pack.bytes.size();
  if (drained_ == 0) {
    pack.blob_id = ComputeBlobId(pack.bytes);
  } else {
    drained_hash_.Update(pack.bytes);
    pack.blob_id = ToHex(drained_hash_.Finalize());
    drained_hash_.Reset();
    drained_ = 0;
  }
  pack.locations.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::span<const std::uint8_t> record(
        index.data() + kPackIndexHeaderSize + i * kPackIndexRecordSize, kPackIndexRecordSize);
    ObjectLocation& location = pack.locations.emplace_back();
    location.kind = static_cast<ObjectKind>(record[0]);
    std::copy_n(record.begin() + 1, location.id.size(), location.id.begin());
    location.blob_id = pack.blob_id;
    location.offset = ReadLe(record.subspan(33, 8));
    location.length = ReadLe(record.subspan(41, 8));
    location.raw_length = ReadLe(record.subspan(49, 8));
  }
  return pack;
}

bool IsValidBlobId(std::string_view blob_id) { return IsLowerHex(blob_id, 64); }

std::string BlobKey(std::string_view blob_id) {
  std::string key = "blobs/";
  key += blob_id.substr(0, 2);
  key += '/';
  key += blob_id.substr(2, 2);
  key += '/';
  key += blob_id;
  return key;
}

std::string ComputeBlobId(std::span<const std::uint8_t> bytes) {
  return ToHex(Blake3Hash(bytes));
}

Status VerifyBlobId(std::span<const std::uint8_t> bytes, std::string_view blob_id) {
  if (ComputeBlobId(bytes) != blob_id) {
    return Error(SyncCode::kStateFailed, Category::kHashMismatch,
                 "pack content does not match its blob id")
        .With("blob", std::string(blob_id));
  }
  return OkStatus();
}

Result<std::uint64_t> ParsePackTrailer(std::span<const std::uint8_t> trailer,
                                       std::uint64_t blob_size) {
  if (trailer.size() != kPackTrailerSize || blob_size < kPackTrailerSize) {
    return CorruptPack("", "blob is too short for a pack trailer");
  }
  if (!HasMagic(trailer.subspan(4), kPackMagic)) {
    return CorruptPack("", "blob does not end with the pack magic \"HXP1\"");
  }
  const std::uint64_t index_length = ReadLe(trailer.first(4));
  if (index_length < kAeadOverhead || index_length > blob_size - kPackTrailerSize) {
    return CorruptPack("", "pack index length " + std::to_string(index_length) +
                               " does not fit the blob");
  }
  return index_length;
}

Result<std::vector<ObjectLocation>> OpenPackIndex(const VaultContext& context,
                                                  std::string_view blob_id,
                                                  std::uint64_t objects_end,
                                                  std::span<const std::uint8_t> sealed_index) {
  auto index_or = AeadOpen(context.keys.content, PackIndexAssociatedData(context), sealed_index);
  if (!index_or.ok()) return CorruptPack(blob_id, std::string(kAeadOpenFailedMessage));
  const std::span<const std::uint8_t> index = *index_or;
  if (index.size() < 8 || !HasMagic(index, kPackIndexMagic)) {
    return CorruptPack(blob_id, "pack index has no \"HXI1\" header");
  }
  const std::uint64_t count = ReadLe(index.subspan(4, 4));
  if ((index.size() - 8) % kPackIndexRecordSize != 0 ||
      (index.size() - 8) / kPackIndexRecordSize != count) {
    return CorruptPack(blob_id, "pack index length does not match its record count");
  }

  // Records must tile [0, objects_end) exactly, in order: then every location
  // is in bounds and no two overlap, whatever the blob's size.
  std::vector<ObjectLocation> locations;
  locations.reserve(count);
  std::set<ObjectId> ids;
  std::uint64_t expected_offset = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::span<const std::uint8_t> record =
        index.subspan(8 + i * kPackIndexRecordSize, kPackIndexRecordSize);
    ObjectLocation location;
    const std::uint8_t kind = record[0];
    if (kind != static_cast<std::uint8_t>(ObjectKind::kChunk) &&
        kind != static_cast<std::uint8_t>(ObjectKind::kTree)) {
      return CorruptPack(blob_id, "pack index record " + std::to_string(i) +
                                      " has unknown kind " + std::to_string(kind));
    }
    location.kind = static_cast<ObjectKind>(kind);
    std::copy_n(record.begin() + 1, location.id.size(), location.id.begin());
    location.offset = ReadLe(record.subspan(33, 8));
    location.length = ReadLe(record.subspan(41, 8));
    location.raw_length = ReadLe(record.subspan(49, 8));
    location.blob_id = std::string(blob_id);
    const std::string what = "pack index record " + std::to_string(i);
    if (location.offset != expected_offset) {
      return CorruptPack(blob_id, what + " does not start where the previous object ends");
    }
    if (location.length < kSealedObjectOverhead || location.length > objects_end - location.offset) {
      return CorruptPack(blob_id, what + " has a length outside the pack's objects");
    }
    if (location.raw_length > kMaxObjectSize) {
      return CorruptPack(blob_id, what + " claims more plaintext than any object hx writes");
    }
    if (!ids.insert(location.id).second) {
      return CorruptPack(blob_id, what + " repeats an object id");
    }
    expected_offset = location.offset + location.length;
    locations.push_back(std::move(location));
  }
  if (expected_offset != objects_end) {
    return CorruptPack(blob_id, "pack objects do not end where the index starts");
  }
  return locations;
}

Result<std::vector<ObjectLocation>> ReadPackIndex(const VaultContext& context,
                                                  std::string_view blob_id,
                                                  std::span<const std::uint8_t> blob) {
  if (blob.size() < kPackTrailerSize) {
    return CorruptPack(blob_id, "blob is too short for a pack trailer");
  }
  auto index_length = ParsePackTrailer(blob.last(kPackTrailerSize), blob.size());
  if (!index_length.ok()) {
    Error error = std::move(index_length).error();
    error.details.insert_or_assign("blob", std::string(blob_id));
    return error;
  }
  const std::uint64_t objects_end = blob.size() - kPackTrailerSize - *index_length;
  return OpenPackIndex(context, blob_id, objects_end,
                       blob.subspan(objects_end, static_cast<std::size_t>(*index_length)));
}

}  // namespace hx
