// Copying live objects into new packs (repack.h).
#include "history/repack.h"

#include <algorithm>
#include <map>

#include "base/hex.h"
#include "repo/object_codec.h"

namespace hx {

Result<std::vector<ObjectLocation>> CopyIntoNewPacks(Session& s,
                                                     const std::vector<ObjectLocation>& sources,
                                                     const PackOptions& pack_options,
                                                     RepackStats& stats) {
  // Deterministic order: by old pack, then offset.
  std::vector<std::size_t> order(sources.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const ObjectLocation& x = sources[a];
    const ObjectLocation& y = sources[b];
    return x.blob_id != y.blob_id ? x.blob_id < y.blob_id : x.offset < y.offset;
  });
  std::map<ObjectId, std::size_t> slot;  // id -> index in sources
  for (std::size_t i = 0; i < sources.size(); ++i) slot[sources[i].id] = i;
  std::vector<ObjectLocation> out(sources.size());
  PackWriter writer(s.ctx, pack_options);
  const auto finish = [&]() -> Status {
    if (writer.empty()) return OkStatus();
    FinishedPack pack = writer.Finish();
    HX_RETURN_IF_ERROR(s.store->Put(BlobKey(pack.blob_id), pack.bytes));
    ++stats.packs_written;
    stats.bytes_written += pack.bytes.size();
    stats.packs[pack.blob_id] = pack.bytes.size();
    for (const ObjectLocation& loc : pack.locations) out[slot.at(loc.id)] = loc;
    return OkStatus();
  };
  std::size_t i = 0;
  while (i < order.size()) {
    // One ranged read per old pack: from its first copied object to the end
    // of its last (a pack is at most ~16 MiB).
    const std::string blob = sources[order[i]].blob_id;
    std::size_t end = i;
    std::uint64_t from = sources[order[i]].offset, to = from;
    while (end < order.size() && sources[order[end]].blob_id == blob) {
      const ObjectLocation& loc = sources[order[end]];
      to = std::max(to, loc.offset + loc.length);
      ++end;
    }
    HX_ASSIGN_OR_RETURN(const Bytes bytes, s.store->GetRange(BlobKey(blob), ByteRange{from, to - from}));
    ++stats.packs_read;
    stats.bytes_read += bytes.size();
    if (bytes.size() != to - from) {
      return Error(SyncCode::kStateFailed, Category::kCorrupt,
                   "pack " + blob + " is shorter than its objects' locations say; run 'hx sync "
                   "verify' and 'hx sync repair', then prune again")
          .With("blob", blob);
    }
    for (; i < end; ++i) {
      const ObjectLocation& loc = sources[order[i]];
      const std::span<const std::uint8_t> sealed(bytes.data() + (loc.offset - from), loc.length);
      // Never copy damage: the object must open (authenticated, hashed).
      Result<std::vector<std::uint8_t>> opened = OpenObject(s.ctx, loc, sealed);
      if (!opened.ok()) {
        return std::move(opened).error().With("blob", blob).With(
            "next", "run 'hx sync verify' and 'hx sync repair', then prune again");
      }
      if (!writer.HasRoomForSealed(loc.length)) HX_RETURN_IF_ERROR(finish());
      writer.AddSealed(loc.kind, loc.id, sealed, loc.raw_length);
      ++stats.objects;
    }
  }
  HX_RETURN_IF_ERROR(finish());
  return out;
}

}  // namespace hx
