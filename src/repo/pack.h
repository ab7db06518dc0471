// Packs: how objects travel to and sit on the store. One push seals its new
// objects and packs them into blobs of about 16 MiB, so 100,000 small files
// cost a few uploads, not 100,000.
//
// Blob layout (format 1):
//   sealed object 0 || sealed object 1 || ... || sealed index
//   || le32(length of the sealed index) || "HXP1"
// Objects start at offset 0 and follow each other without gaps. The sealed
// index is AeadSealSynthetic(keys.content, keys.nonce,
// ad = EncodeAssociatedData({"hx pack index v1", vault_id}), index) with
//   index = "HXI1" || le32(count) || count records of 57 bytes:
//           kind(1: 1 chunk, 2 tree) || id(32) || le64 offset
//           || le64 length (sealed bytes) || le64 raw_length (plaintext bytes)
// records in offset order. The index lets a pack be re-indexed without any
// snapshot; snapshot bodies carry the same locations, so a pull never needs
// to read an index.
//
// blob_id = hex(BLAKE3(blob bytes)), unkeyed: anyone (the store, a verify
// run) can check a blob against its name, and it reveals nothing the bytes
// do not. Key: "blobs/<id[0:2]>/<id[2:4]>/<id>".
//
// Memory: a PackWriter holds its pack in memory, i.e. up to the target size
// plus one object, unless its bytes are drained as it fills (Drain: to a
// store that streams writes, store.h StoreWriter). Objects are at most the chunker's max_size (4 MiB by
// default, 64 MiB at most: kMaxObjectSize), so this stays bounded. Per
// object it keeps a 64-byte record and a 4-byte slot of its id table (no
// string, no node); Finish builds the locations once, at their exact count
// (a pack of 100,000 tiny objects: ~7 MB while filling instead of ~22 MB).
//
// Thread-safety: a PackWriter is used by one thread at a time; the free
// functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "compress/zstd.h"
#include "hash/blake3.h"
#include "repo/tree.h"
#include "repo/vault_context.h"

namespace hx {

inline constexpr std::string_view kPackMagic = "HXP1";
inline constexpr std::string_view kPackIndexMagic = "HXI1";
// le32 index length + magic.
inline constexpr std::size_t kPackTrailerSize = 8;
// The index's plaintext: magic + le32 record count, then the records.
inline constexpr std::size_t kPackIndexHeaderSize = 8;
inline constexpr std::size_t kPackIndexRecordSize = 57;

struct PackOptions {
  // A pack (the whole blob: objects, sealed index, trailer) stays below
  // this size unless it holds one object that is itself too big. 16 MiB:
  // few requests for many small files, while a failed upload repeats little
  // work; and below an S3 store's default multipart threshold (16 MiB), so
  // a pack is one PUT. Tests lower it to get several packs from a few
  // objects.
  std::uint64_t target_size = std::uint64_t{16} << 20;
  // compress/zstd.h level for object payloads.
  int zstd_level = kZstdDefaultLevel;
};

struct FinishedPack {
  std::string blob_id;  // 64 lowercase hex
  // The blob's bytes, from the first not drained (PackWriter::Drain) on.
  std::vector<std::uint8_t> bytes;
  std::uint64_t blob_size = 0;  // the whole blob's, drained bytes included
  // One per object, in offset order, blob_id filled in.
  std::vector<ObjectLocation> locations;
};

// Builds one pack at a time. Typical use:
//
//   PackWriter writer(context);
//   for (each new object) {
//     if (!writer.HasRoomFor(plaintext.size())) Upload(writer.Finish());
//     HX_RETURN_IF_ERROR(writer.Add(kind, id, plaintext));
//   }
//   if (!writer.empty()) Upload(writer.Finish());
//
// (or HasRoomForSealed and AddSealed for objects sealed beforehand). Either
// way a finished pack is smaller than the target, or holds one object only.
class PackWriter {
 public:
  // Borrows `context`, which must outlive the writer.
  // How the pack's bytes are held: whole until Finish (reserved at the
  // pack's first object), or drained as it fills (Drain), when the buffer
  // only ever holds what came since the last drain.
  enum class Buffering { kWhole, kDrained };
  explicit PackWriter(const VaultContext& context, PackOptions options = {},
                      Buffering buffering = Buffering::kWhole);

  // Seals (object_codec.h SealObject) and appends the object. Returns true if
  // it was appended, false if an object with this id is already in the pack
  // (nothing is done). Precondition as SealObject: `id` is the object's id.
  // Fails with SealObject's errors; the pack is then unchanged.
  Result<bool> Add(ObjectKind kind, const ObjectId& id, std::span<const std::uint8_t> plaintext);

  // Appends an object already sealed with SealObject(context, kind, id, ...)
  // — so callers can seal on several threads and append in a fixed order,
  // which keeps packs deterministic. Returns false if the id is already in
  // the pack. Precondition: `sealed` is exactly SealObject's output for a
  // plaintext of `raw_length` bytes.
  bool AddSealed(ObjectKind kind, const ObjectId& id, std::span<const std::uint8_t> sealed,
                 std::uint64_t raw_length);

  // Whether the pack would stay below the target with one more object
  // sealed to `sealed_size` bytes (its index record counted), or is empty.
  bool HasRoomForSealed(std::uint64_t sealed_size) const;
  // The same for an object of `plaintext_size` bytes at its worst
  // (uncompressed): for Add, which seals after the check.
  bool HasRoomFor(std::uint64_t plaintext_size) const;
  // The size Finish would give the blob after one more object sealed to
  // `sealed_size` bytes.
  std::uint64_t BlobSizeWith(std::uint64_t sealed_size) const;
  // Whether the pack has reached the target size.
  bool Full() const { return size() >= options_.target_size; }
  bool empty() const { return records_.empty(); }
  // Sealed object bytes so far (the blob will add the index and trailer).
  std::uint64_t size() const { return drained_ + bytes_.size(); }
  std::size_t object_count() const { return records_.size(); }

  // Hands the bytes added since the last Drain (and not to Finish) to
  // `sink`, so that a pack need not be held in memory whole: a store that
  // streams writes takes them as the pack fills. The blob id still covers
  // every byte (they are hashed here, in order), and Finish returns only
  // the bytes after them. Returns the sink's error, after which the pack is
  // broken: drop it (the push fails).
  Status Drain(const std::function<Status(std::span<const std::uint8_t>)>& sink);
  // Bytes added and not yet drained.
  std::uint64_t undrained() const { return bytes_.size(); }

  // Gives the writer a buffer to fill with its next pack instead of a fresh
  // allocation: a finished pack's bytes, back from their upload, whose pages
  // are already mapped (a fresh 16 MiB buffer is zeroed by the kernel page
  // by page as it fills: issue 15, item 3). Its contents are dropped, its
  // capacity kept. Ignored unless the writer is empty.
  void Reuse(std::vector<std::uint8_t> buffer);

  // Appends the sealed index and trailer, computes the blob id, and returns
  // the pack; the writer is then empty, ready for the next pack. An empty
  // writer gives a valid pack of no objects (callers normally skip it).
  FinishedPack Finish();

 private:
  // One object of the pack being filled: its index record, unencoded.
  struct Record {
    ObjectId id;
    std::uint64_t offset;
    std::uint64_t length;
    std::uint64_t raw_length;
    ObjectKind kind;
  };
  // Whether an object with `id` is in the pack.
  bool Contains(const ObjectId& id) const;
  // Enters records_.back() (just appended) in the id table, growing it.
  void InsertLast();

  const VaultContext* context_;
  PackOptions options_;
  Buffering buffering_;
  std::vector<std::uint8_t> bytes_;  // the pack's bytes after drained_
  std::uint64_t drained_ = 0;        // bytes of this pack handed to Drain
  Blake3Hasher drained_hash_;        // ... and their hash
  std::vector<Record> records_;
  // The ids in the pack: an open-addressed table (linear probing, at most
  // half full) of 1 + the index of their record; 0 is a free slot.
  std::vector<std::uint32_t> slots_;
};

// "blobs/<aa>/<bb>/<blob_id>". Precondition: IsValidBlobId(blob_id).
std::string BlobKey(std::string_view blob_id);
// 64 lowercase hex digits.
bool IsValidBlobId(std::string_view blob_id);
// hex(BLAKE3(bytes)).
std::string ComputeBlobId(std::span<const std::uint8_t> bytes);
// OK if BLAKE3(bytes) is `blob_id`; else KC_SYNC_STATE_FAILED,
// Category::kHashMismatch, details {"blob": blob_id}.
Status VerifyBlobId(std::span<const std::uint8_t> bytes, std::string_view blob_id);

// The length of the sealed index, from a blob's last kPackTrailerSize bytes
// (for readers that fetch the tail with a ranged read). Fails (kCorrupt) if
// the magic is wrong or the index cannot fit in a blob of `blob_size` bytes.
Result<std::uint64_t> ParsePackTrailer(std::span<const std::uint8_t> trailer,
                                       std::uint64_t blob_size);
// Opens and validates a sealed index: it authenticates for this vault; its
// records are well formed, of known kinds, with distinct ids, contiguous from
// offset 0 to `objects_end` (the offset where the sealed index starts), each
// at least kSealedObjectOverhead bytes long and with raw_length at most
// kMaxObjectSize. Returns the locations with blob_id set to `blob_id`
// (not checked here; see VerifyBlobId).
Result<std::vector<ObjectLocation>> OpenPackIndex(const VaultContext& context,
                                                  std::string_view blob_id,
                                                  std::uint64_t objects_end,
                                                  std::span<const std::uint8_t> sealed_index);
// ParsePackTrailer + OpenPackIndex on a whole blob.
// Every failure: KC_SYNC_STATE_FAILED, Category::kCorrupt, details
// {"blob": blob_id}; nothing about the objects is trusted until then.
Result<std::vector<ObjectLocation>> ReadPackIndex(const VaultContext& context,
                                                  std::string_view blob_id,
                                                  std::span<const std::uint8_t> blob);

}  // namespace hx
