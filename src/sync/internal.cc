#include "sync/internal.h"

#include <algorithm>
#include <charconv>

#include "base/hex.h"
#include "base/next_steps.h"
#include "meta/manifest.h"
#include "repo/object_codec.h"

namespace hx {
namespace {

Result<std::uint64_t> MetaUint(Index& index, std::string_view key) {
  HX_ASSIGN_OR_RETURN(std::optional<std::uint64_t> value, index.GetMetaUint64(key));
  return value.value_or(0);
}

std::string Platform() {
#if defined(__linux__) && defined(__x86_64__)
  return "linux-x86_64";
#elif defined(__linux__) && defined(__aarch64__)
  return "linux-aarch64";
#elif defined(__APPLE__)
  return "macos";
#else
  return "unknown";
#endif
}

}  // namespace

Result<nlohmann::json> LoadCounters(Index& index) {
  HX_ASSIGN_OR_RETURN(std::optional<std::string> text, index.GetMeta(kMetaCounters));
  nlohmann::json counters = nlohmann::json::object();
  if (text) {
    nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, false);
    if (parsed.is_object()) counters = std::move(parsed);
  }
  return counters;
}

void AddCounters(Index& index, const std::map<std::string, std::uint64_t>& deltas) {
  auto counters = LoadCounters(index);
  if (!counters.ok()) return;
  for (const auto& [name, delta] : deltas) {
    if (delta == 0) continue;
    const std::uint64_t was = counters->value(name, std::uint64_t{0});
    (*counters)[name] = was + delta;
  }
  (void)index.SetMeta(kMetaCounters, counters->dump());
}

Result<BaseState> LoadBaseState(Index& index, bool with_stat_cache) {
  BaseState base;
  HX_ASSIGN_OR_RETURN(base.entries, index.LoadBase());
  HX_ASSIGN_OR_RETURN(base.tree_ids, index.LoadBaseTrees());
  if (with_stat_cache) {
    HX_ASSIGN_OR_RETURN(base.stats, index.LoadStatCache());
  }
  HX_ASSIGN_OR_RETURN(base.snapshot_id, index.GetMeta(kMetaBaseSnapshotId));
  HX_ASSIGN_OR_RETURN(base.head_seq, MetaUint(index, kMetaBaseHeadSeq));
  HX_ASSIGN_OR_RETURN(base.max_head_seq, MetaUint(index, kMetaMaxHeadSeq));
  HX_ASSIGN_OR_RETURN(std::optional<std::string> incomplete, index.GetMeta(kMetaIncomplete));
  base.complete = !incomplete || *incomplete != "1";
  return base;
}

Result<std::vector<std::string>> LoadRepublish(Index& index) {
  HX_ASSIGN_OR_RETURN(std::optional<std::string> text, index.GetMeta(kMetaRepublish));
  std::vector<std::string> paths;
  if (!text || text->empty()) return paths;
  const nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, false);
  if (!parsed.is_array()) return paths;
  for (const nlohmann::json& path : parsed) {
    if (path.is_string()) paths.push_back(path.get<std::string>());
  }
  return paths;
}

bool HeadIsBase(const HeadState& head, const BaseState& base) {
  if (!head.head) return !base.snapshot_id.has_value();
  return base.snapshot_id && *base.snapshot_id == head.head->snapshot_id &&
         base.head_seq == head.head->seq;
}

Result<HeadState> ReadHeadForBase(Session& s, const BaseState& base) {
  HX_ASSIGN_OR_RETURN(HeadState head, ReadHead(*s.store, s.ctx));
  if (head.head || !base.snapshot_id) return head;
  return Error(SyncCode::kStateFailed, Category::kNotFound,
               "the store at " + s.target.ToUri() + " has no head.json, but this device synced "
               "snapshot " + *base.snapshot_id + " (seq " + std::to_string(base.head_seq) +
               ") from it: the store lost its head (deleted, or restored from an older "
               "backup). Nothing was changed. Run 'hx sync repair' to publish this device's "
               "last synced snapshot as the head again")
      .With("key", std::string(kHeadKey))
      .With("base_snapshot_id", *base.snapshot_id)
      .With("base_head_seq", std::to_string(base.head_seq));
}

Result<std::optional<Snapshot>> ReadHistoryStep(Session& s, PrunedSnapshots& pruned,
                                                const std::string& head_id,
                                                const std::string& id, bool is_head,
                                                std::size_t visited) {
  if (visited > kMaxHistorySnapshots) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "the history of head " + head_id + " lists more than " +
                     std::to_string(kMaxHistorySnapshots) +
                     " snapshots; refusing to read it. Run 'hx sync verify' to check the store")
        .With("snapshot", head_id);
  }
  Result<Snapshot> body = ReadSnapshot(*s.store, s.ctx, id);
  if (!body.ok() && !is_head) {
    HX_ASSIGN_OR_RETURN(const bool deleted, pruned.ExplainsMissing(body.error(), id));
    if (deleted) return std::optional<Snapshot>();
  }
  if (!body.ok()) return std::move(body).error();
  return std::optional<Snapshot>(std::move(*body));
}

std::uint64_t CountDeletedFiles(const EntryMap& entries, const std::vector<std::string>& paths) {
  std::uint64_t n = 0;
  for (const std::string& path : paths) {
    auto it = entries.find(path);
    if (it != entries.end() &&
        (it->second.kind == EntryKind::kFile || it->second.kind == EntryKind::kSymlink)) {
      ++n;
    }
  }
  return n;
}

ChangeSummary MakeChangeSummary(const std::vector<std::string>& added,
                                const std::vector<std::string>& modified,
                                const std::vector<std::string>& deleted) {
  ChangeSummary summary;
  summary.added = added.size();
  summary.modified = modified.size();
  summary.deleted = deleted.size();
  for (const auto* list : {&added, &modified, &deleted}) {
    for (const std::string& path : *list) {
      if (summary.paths.size() >= kMaxReportedPaths) break;
      summary.paths.push_back(path);
    }
  }
  std::sort(summary.paths.begin(), summary.paths.end());
  return summary;
}

ChunkIdFn VaultChunkIds(const VaultContext& ctx) {
  return [&ctx](std::span<const std::uint8_t> bytes) {
    return ComputeObjectId(ctx, ObjectKind::kChunk, bytes);
  };
}

Result<ScanResult> ScanFolder(Session& s) {
  HX_ASSIGN_OR_RETURN(StatCache stats, s.index->LoadStatCache());
  return ScanVault(s.local.vault(), s.scan_options(), std::move(stats), *s.chunker,
                   VaultChunkIds(s.ctx));
}

std::vector<std::string> DescribeIssues(const ScanResult& scan) {
  return DescribeIssues(scan.skipped, scan.errors);
}

std::vector<std::string> DescribeIssues(const std::vector<ScanSkip>& skipped,
                                        const std::vector<ScanError>& errors) {
  std::vector<std::string> out;
  for (const ScanSkip& skip : skipped) {
    out.push_back(skip.path + ": skipped (" + std::string(ToString(skip.reason)) + ")");
  }
  for (const ScanError& error : errors) {
    out.push_back(error.path + ": " + error.error.message);
  }
  return out;
}

EntryMap ScannedWithBase(const BaseState& base, const ScanResult& scan) {
  EntryMap scanned = scan.entries;
  // A path the scanner could not read is unknown, not deleted; a path that
  // .hxignore now ignores is no longer synced from here, not deleted.
  for (const ScanError& error : scan.errors) {
    auto it = base.entries.find(error.path);
    if (it != base.entries.end()) scanned.insert(*it);
    const std::string prefix = error.path + "/";
    for (auto sub = base.entries.lower_bound(prefix);
         sub != base.entries.end() && sub->first.starts_with(prefix); ++sub) {
      scanned.insert(*sub);
    }
  }
  for (const auto& [path, entry] : base.entries) {
    if (entry.kind == EntryKind::kTombstone || scanned.count(path) != 0) continue;
    if (scan.ignore_rules.IsIgnored(path, entry.kind == EntryKind::kDir)) {
      scanned.emplace(path, entry);
    }
  }
  return scanned;
}

Status SaveStatCache(Index& index, const StatCacheChanges& changes) {
  if (changes.empty()) return OkStatus();
  HX_ASSIGN_OR_RETURN(Index::Transaction txn, index.Begin());
  HX_RETURN_IF_ERROR(txn.ApplyStatCacheChanges(changes));
  return txn.Commit();
}

Status SaveStatCacheOfScan(Index& index, ScanResult& scan) {
  if (!scan.stat_changes.empty() || !scan.entry_stats.empty()) {
    HX_ASSIGN_OR_RETURN(Index::Transaction txn, index.Begin());
    HX_RETURN_IF_ERROR(txn.ApplyStatCacheChanges(scan.stat_changes));
    if (!scan.entry_stats.empty()) {
      const Error mismatch(SyncCode::kInternal, Category::kInternal,
                           "the scan's stat cache entries do not match its files");
      std::size_t next = 0;
      for (const auto& [path, entry] : scan.entries) {
        if (entry.kind != EntryKind::kFile) continue;
        if (next == scan.entry_stats.size()) return mismatch;  // more files than stats
        const FileStat& stat = scan.entry_stats[next++];
        if (stat.mode == 0) continue;  // none to keep
        HX_RETURN_IF_ERROR(txn.PutStat(path, StatCacheEntry{stat, entry.chunks}));
      }
      if (next != scan.entry_stats.size()) return mismatch;  // more stats than files
    }
    HX_RETURN_IF_ERROR(txn.Commit());
  }
  scan.stat_changes = StatCacheChanges();
  scan.entry_stats = std::vector<FileStat>();
  return OkStatus();
}

Status CommitSyncedState(Session& s, const BaseState& base, const SyncedState& synced,
                         std::string_view time_key, std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(Index::Transaction txn, s.index->Begin());
  if (synced.changed_paths) {
    HX_RETURN_IF_ERROR(txn.UpdateBasePaths(synced.entries, *synced.changed_paths));
  } else {
    HX_RETURN_IF_ERROR(txn.UpdateBase(base.entries, synced.entries));
  }
  HX_RETURN_IF_ERROR(txn.UpdateBaseTrees(base.tree_ids, synced.tree_ids));
  HX_RETURN_IF_ERROR(txn.ApplyStatCacheChanges(synced.stat_changes));
  if (synced.history) {
    // The head does not descend from the base: the index keeps only what
    // the head's own history locates.
    HX_RETURN_IF_ERROR(txn.ClearObjects());
    for (const ImportedSnapshot& snapshot : *synced.history) {
      HX_RETURN_IF_ERROR(txn.MarkSnapshotImported(snapshot.snapshot_id, snapshot.seq));
    }
  }
  HX_RETURN_IF_ERROR(txn.AddObjects(synced.added));
  HX_RETURN_IF_ERROR(txn.MarkSnapshotImported(synced.snapshot_id, synced.head_seq));
  HX_RETURN_IF_ERROR(txn.SetMeta(kMetaBaseSnapshotId, synced.snapshot_id));
  HX_RETURN_IF_ERROR(txn.SetMeta(kMetaBaseHeadSeq, std::to_string(synced.head_seq)));
  HX_RETURN_IF_ERROR(txn.SetMeta(
      kMetaMaxHeadSeq, std::to_string(std::max(base.max_head_seq, synced.head_seq))));
  HX_RETURN_IF_ERROR(txn.SetMeta(kMetaIncomplete, synced.complete ? "0" : "1"));
  HX_RETURN_IF_ERROR(txn.SetMeta(
      kMetaRepublish, synced.republish.empty() ? "" : nlohmann::json(synced.republish).dump()));
  HX_RETURN_IF_ERROR(txn.SetMeta(time_key, std::to_string(now_ms)));
  return txn.Commit();
}

namespace {

// The manifest this device last wrote, with its store version, as the index
// remembers it (meta kMetaManifestCache: "<version hex>:<sealed bytes hex>");
// nullopt if there is none or it does not open.
std::optional<StoredManifest> CachedManifest(Session& s) {
  Result<std::optional<std::string>> cached = s.index->GetMeta(kMetaManifestCache);
  if (!cached.ok() || !*cached) return std::nullopt;
  const std::string_view text = **cached;
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto version = FromHex(text.substr(0, colon));
  const auto bytes = FromHex(text.substr(colon + 1));
  if (!version || version->empty() || !bytes) return std::nullopt;
  Result<DeviceManifest> manifest = DecodeManifest(s.ctx, s.node_id(), *bytes);
  if (!manifest.ok()) return std::nullopt;
  StoredManifest stored;
  stored.manifest = std::move(*manifest);
  stored.version = std::string(version->begin(), version->end());
  return stored;
}

}  // namespace

Status UpdateOwnManifest(Session& s, std::uint64_t head_seq,
                         std::optional<std::string> published_snapshot, std::int64_t now_ms) {
  // This device is the only writer of its manifest; the index remembers the
  // last seq written, so a manifest damaged on the store is replaced by a
  // newer one instead of blocking every sync.
  HX_ASSIGN_OR_RETURN(const std::uint64_t local_seq, MetaUint(*s.index, kMetaManifestSeq));
  const auto next = [&](const StoredManifest& current) {
    DeviceManifest m;
    if (current.manifest) m = *current.manifest;
    m.vault_id = s.ctx.vault_id;
    m.node_id = s.node_id();
    m.manifest_seq = std::max(m.manifest_seq, local_seq) + 1;
    m.last_seen_head_seq = std::max(m.last_seen_head_seq, head_seq);
    if (published_snapshot &&
        std::find(m.snapshots.begin(), m.snapshots.end(), *published_snapshot) ==
            m.snapshots.end()) {
      m.snapshots.push_back(*published_snapshot);
    }
    m.device.hx_version = HX_VERSION_STRING;
    m.device.platform = Platform();
    m.device.last_seen_ms = now_ms;
    // Sorted; prune_guard.h.
    m.device.capabilities = {"folder", "prune_v1", "prune_v2", "snapshot_v2"};
    return m;
  };
  // Over the manifest this device last wrote, without reading it (one
  // request, not two), as long as the store still holds exactly that one;
  // else (a write whose reply was lost, a repair, a store restored from a
  // backup) the store refuses the write and the manifest is read first.
  std::optional<Result<StoredManifest>> written;
  if (std::optional<StoredManifest> cached = CachedManifest(s)) {
    written = WriteManifest(*s.store, s.ctx, next(*cached), *cached);
    if (!written->ok() && (written->error().category == Category::kAborted ||
                           written->error().category == Category::kNotFound)) {
      written.reset();
    }
  }
  if (!written) {
    HX_ASSIGN_OR_RETURN(const StoredManifest current,
                        ReadManifestForUpdate(*s.store, s.ctx, s.node_id()));
    if (current.damaged) AddCounters(*s.index, {{"manifests_repaired", 1}});
    written = WriteManifest(*s.store, s.ctx, next(current), current);
  }
  if (!written->ok()) return std::move(*written).error();
  const StoredManifest& stored = **written;
  HX_RETURN_IF_ERROR(s.index->SetMeta(kMetaManifestSeq,
                                      std::to_string(stored.manifest->manifest_seq)));
  // Best effort: without it the next update reads first.
  Result<Bytes> sealed = EncodeManifest(s.ctx, *stored.manifest);
  if (stored.version && sealed.ok()) {
    const std::string& version = *stored.version;
    const std::span<const std::uint8_t> version_bytes(
        reinterpret_cast<const std::uint8_t*>(version.data()), version.size());
    (void)s.index->SetMeta(kMetaManifestCache, ToHex(version_bytes) + ":" + ToHex(*sealed));
  } else {
    (void)s.index->SetMeta(kMetaManifestCache, "");
  }
  return OkStatus();
}

Status UpdateOwnManifestAfterPull(Session& s, std::uint64_t head_seq, std::int64_t now_ms,
                                  std::vector<Error>& warnings, std::string_view done) {
  Status written = UpdateOwnManifest(s, head_seq, std::nullopt, now_ms);
  if (written.ok() || written.error().category != Category::kAuth) return written;
  Error refused = std::move(written).error();
  Error warning(SyncCode::kAuthFailed, Category::kAuth,
                "everything was " + std::string(done) +
                    ", but the store refused this device's manifest (" +
                    refused.message +
                    "): other devices will not see which head this device has; give these "
                    "credentials write access to manifests/ if that matters");
  warning.details = std::move(refused.details);
  warning.With("key", ManifestKey(s.node_id()));
  warnings.push_back(std::move(warning));
  AddCounters(*s.index, {{"manifest_writes_refused", 1}});
  return OkStatus();
}

Error ReportConflict(Session& s, const ConflictArtifact& artifact, std::string message) {
  Error conflict(SyncCode::kConflict, Category::kConflict, std::move(message));
  std::string paths;
  for (std::size_t i = 0; i < artifact.paths.size() && i < 20; ++i) {
    paths += (i ? ", " : "") + artifact.paths[i];
  }
  if (artifact.paths.size() > 20) paths += ", ...";
  conflict.With("paths", paths).With("path_count", std::to_string(artifact.paths.size()));
  // The artifact is best effort: failing to write it must not hide the
  // conflict itself, but the user is told.
  auto stored = EncodeStoreArtifact(s.ctx, artifact);
  if (stored.ok()) {
    Status put = s.store->Put(ConflictKey(stored->name), stored->bytes);
    conflict.With("artifact", put.ok() ? ConflictKey(stored->name)
                                       : "not written: " + put.error().message);
  }
  auto local = EncodeLocalArtifact(s.ctx, artifact);
  if (local.ok()) {
    const std::filesystem::path path = s.local.conflicts_dir() / local->name;
    Status wrote = LocalState::WriteFileAtomic(
        *s.env, path, std::string_view(reinterpret_cast<const char*>(local->bytes.data()),
                               local->bytes.size()));
    if (wrote.ok()) conflict.With("local_artifact", path.string());
  }
  return conflict;
}

Error ReportPushDivergence(Session& s, const BaseState& base, const LocalChanges& changes,
                           const Head& remote, std::int64_t now_ms) {
  ConflictArtifact artifact;
  artifact.vault_id = s.ctx.vault_id;
  artifact.kind = ConflictKind::kPushDiverged;
  artifact.created_ms = now_ms;
  artifact.base_snapshot = base.snapshot_id;
  artifact.local_node_id = s.node_id();
  artifact.local_changes = {changes.added.size(), changes.modified.size(),
                            changes.deleted.size()};
  artifact.remote_head_seq = remote.seq;
  artifact.remote_snapshot_id = remote.snapshot_id;
  for (const auto* list : {&changes.added, &changes.modified, &changes.deleted}) {
    artifact.paths.insert(artifact.paths.end(), list->begin(), list->end());
  }
  std::sort(artifact.paths.begin(), artifact.paths.end());
  return ReportConflict(
             s, artifact,
             "the store has changes this device has not pulled (head " +
                 std::to_string(remote.seq) +
                 "); nothing was published. Run 'hx sync pull', then push again")
      .WithNextStep(std::string(next_steps::kPushBehind));
}

}  // namespace hx
