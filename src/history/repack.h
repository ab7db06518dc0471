// The copying half of a repack (prune.h): the sealed bytes of live objects
// that sit in packs which are mostly garbage are copied, unchanged, into new
// packs. Sealing is deterministic (object_codec.h: a synthetic nonce), so a
// copied object is byte for byte what the uploader would have sealed, and
// the new packs are canonical packs (repo/pack.h) named by their hash: the
// same objects in the same order give the same packs, and a run that
// crashed after uploading leaves nothing a later run would not write again.
// Internal to the history module.
//
// Thread-safety: one call per operation, on its session's thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "repo/pack.h"
#include "sync/session.h"

namespace hx {

struct RepackStats {
  std::uint64_t objects = 0;        // objects copied
  std::uint64_t packs_read = 0;     // ranged reads of old packs (one per pack)
  std::uint64_t bytes_read = 0;
  std::uint64_t packs_written = 0;  // new packs stored
  std::uint64_t bytes_written = 0;
  std::map<std::string, std::uint64_t> packs;  // the new packs and their sizes
};

// Copies every object of `sources` (locations in packs the store holds,
// distinct ids) into new packs, in the order (old pack, offset), and stores
// them (Put: a pack is named by its bytes). Each object is opened first
// (authenticated and hashed to its id): a damaged one fails the call
// (KC_SYNC_STATE_FAILED, Category::kCorrupt or kHashMismatch, naming it) and
// nothing damaged is ever copied. Reads one range per old pack. Returns the
// new locations, one per source, in the order of `sources`.
Result<std::vector<ObjectLocation>> CopyIntoNewPacks(Session& s,
                                                     const std::vector<ObjectLocation>& sources,
                                                     const PackOptions& pack_options,
                                                     RepackStats& stats);

}  // namespace hx
