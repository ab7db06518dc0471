#include "sync/local_chunks.h"

#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>

namespace hx {

std::size_t LocalChunks::IdHash::operator()(const ObjectId& id) const {
  // Ids are keyed BLAKE3 outputs: any 8 of their bytes are already uniform.
  std::size_t h = 0;
  std::memcpy(&h, id.data(), sizeof(h));
  return h;
}

void LocalChunks::Offer(const std::string& path, const std::vector<ChunkRef>& chunks,
                        const IdSet& wanted) {
  std::uint64_t offset = 0;
  bool used = false;
  for (const ChunkRef& chunk : chunks) {
    if (wanted.count(chunk.id) != 0 &&
        where_.emplace(chunk.id, Source{static_cast<std::uint32_t>(files_.size()), offset}).second) {
      used = true;
    }
    offset += chunk.size;
  }
  if (used) files_.push_back(path);
}

LocalChunks LocalChunks::Find(const EntryMap& scanned, const StatCache* cache,
                              const EntryMap* base, const IdSet& wanted, ChunkIdFn chunk_id) {
  LocalChunks out;
  out.chunk_id_ = std::move(chunk_id);
  if (wanted.empty()) return out;
  for (const auto& [path, entry] : scanned) {
    if (out.where_.size() == wanted.size()) return out;
    if (entry.kind == EntryKind::kFile) out.Offer(path, entry.chunks, wanted);
  }
  if (cache != nullptr) {
    for (const auto& [path, entry] : *cache) {
      if (out.where_.size() == wanted.size()) return out;
      out.Offer(path, entry.chunks, wanted);
    }
  }
  if (base != nullptr) {
    for (const auto& [path, entry] : *base) {
      if (out.where_.size() == wanted.size()) return out;
      if (entry.kind == EntryKind::kFile) out.Offer(path, entry.chunks, wanted);
    }
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> LocalChunks::Read(const VaultDir& vault,
                                                           const ChunkRef& chunk) {
  auto it = where_.find(chunk.id);
  if (it == where_.end()) return std::nullopt;
  const Source source = it->second;
  Env& env = vault.env();
  if (!open_ || open_->file != source.file) {
    open_.reset();
    // Never through a symlink, never outside the vault nor into .hx/.
    Result<VaultSlot> slot = vault.OpenParent(files_[source.file], VaultArea::kContent, false);
    int raw = -1;
    if (!slot.ok() ||
        env.Open(slot->dir.get(), slot->name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY, 0, &raw) !=
            0) {
      ++stats_.unreadable;
      // Its other chunks are not tried either.
      std::erase_if(where_, [&](const auto& w) { return w.second.file == source.file; });
      return std::nullopt;
    }
    open_.emplace(OpenFile{source.file, Fd(env, raw)});
    struct stat st;
    if (env.Fstat(open_->fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      open_.reset();
      ++stats_.unreadable;
      std::erase_if(where_, [&](const auto& w) { return w.second.file == source.file; });
      return std::nullopt;
    }
  }
  std::vector<std::uint8_t> bytes(chunk.size);
  std::size_t have = 0;
  while (have < bytes.size()) {
    std::size_t got = 0;
    if (env.PRead(open_->fd.get(), bytes.data() + have, bytes.size() - have, source.offset + have,
                  &got) != 0 ||
        got == 0) {
      break;
    }
    have += got;
  }
  if (have != bytes.size()) {
    ++stats_.unreadable;
    where_.erase(it);
    return std::nullopt;
  }
  if (chunk_id_(bytes) != chunk.id) {
    // Changed since it was scanned: this chunk is fetched (the file's other
    // chunks may still be what they were, and are checked each).
    ++stats_.mismatches;
    where_.erase(it);
    return std::nullopt;
  }
  ++stats_.chunks;
  stats_.bytes += bytes.size();
  return bytes;
}

}  // namespace hx
