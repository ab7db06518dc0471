// hx sync link: first sync of a folder used on its own (see link.h).
//
// Why the base after a complete link is exactly the store's head: every
// local difference that survives the link (a new local item, a local version
// that won, a file the store had deleted) is then simply a local change
// against that base, so the ordinary push publishes it with a version vector
// that descends from the store's, and the other devices take it without a
// conflict. Nothing needs a special case after the link.
#include "sync/link.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/next_steps.h"
#include "base/os_error.h"
#include "json/canonical_json.h"
#include "meta/head.h"
#include "meta/prune_record.h"
#include "meta/snapshot.h"
#include "os/vault_dir.h"
#include "repo/object_codec.h"
#include "scan/scanner.h"
#include "sync/passphrase.h"
#include "sync/apply.h"
#include "sync/archive.h"
#include "sync/fetcher.h"
#include "sync/internal.h"
#include "sync/observe.h"
#include "sync/planner.h"
#include "sync/session.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

// A private temporary folder for the state of a dry run (its index and
// lock), removed with everything in it when done.
class ScratchDir {
 public:
  static Result<ScratchDir> Make() {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "hx-link-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return OsError(SyncCode::kApplyFailed, "cannot create a temporary folder", pattern, errno);
    }
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

Error NoVaultInStore(const Target& target) {
  return Error(SyncCode::kTargetInvalid, Category::kNotFound,
               "the store at " + target.ToUri() +
                   " holds no vault; link joins an existing vault: create one with hx sync init")
      .With("target", target.ToUri());
}

// Opens the store of `target` and reads its vault.json; a store without one
// is NoVaultInStore.
Result<std::pair<std::unique_ptr<Store>, VaultConfig>> OpenExistingVault(
    const Target& target, const SyncOptions& options) {
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                      OpenStore(target, env, options.clock != nullptr ? options.clock : &env.clock()));
  if (options.wrap_store) store = options.wrap_store(std::move(store));
  Result<VaultConfig> config = ReadVaultConfig(*store);
  if (!config.ok()) {
    if (config.error().category == Category::kNotFound) return NoVaultInStore(target);
    return std::move(config).error();
  }
  return std::make_pair(std::move(store), std::move(*config));
}

// A session for a dry run: the store's vault unlocked in memory, with a
// throwaway local state in `scratch` (nothing is written to the vault folder
// or cached).
Result<Session> OpenPreviewSession(const ScratchDir& scratch, const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Target target,
                      ParseTargetUri(options.target_uri, options.target_options, options.cwd));
  HX_ASSIGN_OR_RETURN(auto opened, OpenExistingVault(target, options));
  auto counting = std::make_unique<CountingStore>(std::move(opened.first));
  CountingStore* counts = counting.get();
  VaultConfig config = std::move(opened.second);
  const Error none(SyncCode::kKeyMismatch, Category::kAuth,
                   "the store's vault is encrypted and no passphrase was given; set "
                   "HX_PASSPHRASE, use --passphrase-file, or run on a terminal");
  HX_ASSIGN_OR_RETURN(SecretKey master, UnlockWithPassphrase(config, options.passphrase, none));
  HX_ASSIGN_OR_RETURN(VaultContext ctx, MakeVaultContext(config, master));
  HX_ASSIGN_OR_RETURN(FastCdc chunker, MakeVaultChunker(ctx));
  LocalConfig local_config;
  local_config.node_id = std::string(32, '0');  // never published: a dry run writes nothing
  local_config.vault_id = config.vault_id;
  local_config.target_uri = target.ToUri();
  local_config.target_options = target.Options();
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Create(scratch.path(), local_config));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(local.index_path()));
  return Session{std::move(local),
                 std::move(target),
                 std::move(counting),
                 counts,
                 std::move(config),
                 std::move(ctx),
                 std::make_unique<FastCdc>(std::move(chunker)),
                 std::move(index),
                 options.env != nullptr ? options.env : &Env::Default(),
                 options.clock != nullptr ? options.clock
                 : options.env != nullptr ? &options.env->clock()
                                          : &Env::Default().clock()};
}

// Reads every snapshot body from the head back (a first pull has imported
// none), so the locations of their objects are known. Returns the head's.
Result<Snapshot> ImportHistory(Session& s, const Head& head, ObjectFetcher& fetcher,
                               std::vector<ObjectLocation>& learned) {
  std::optional<Snapshot> at_head;
  std::vector<std::string> todo = {head.snapshot_id};
  std::set<std::string> visited;
  PrunedSnapshots pruned_snapshots(*s.store, s.ctx);
  while (!todo.empty()) {
    const std::string id = todo.back();
    todo.pop_back();
    if (!visited.insert(id).second) continue;
    // A forgotten snapshot a prune deleted on purpose (prune_record.h).
    HX_ASSIGN_OR_RETURN(std::optional<Snapshot> body,
                        ReadHistoryStep(s, pruned_snapshots, head.snapshot_id, id,
                                        /*is_head=*/!at_head, visited.size()));
    if (!body) continue;
    Snapshot snapshot = std::move(*body);
    if (snapshot.key_fingerprint != s.config.key_fingerprint) {
      return Error(SyncCode::kStateFailed, Category::kCorrupt,
                   "snapshot " + id + " was made with another key; refusing to link to it")
          .With("snapshot", id);
    }
    learned.insert(learned.end(), snapshot.added.begin(), snapshot.added.end());
    for (const std::string& parent : snapshot.parents) todo.push_back(parent);
    if (!at_head) at_head = std::move(snapshot);
  }
  fetcher.AddLocations(learned);
  return std::move(*at_head);
}

bool IsLive(const Entry* e) { return e != nullptr && e->kind != EntryKind::kTombstone; }

// The nearest ancestor of `path` that is a key of `map`, or map.end().
template <typename Map>
auto FindAncestor(const Map& map, const std::string& path) {
  for (std::size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    auto it = map.find(path.substr(0, slash));
    if (it != map.end()) return it;
  }
  return map.end();
}

// What the link does with one path.
struct Planned {
  LinkItem item;
  const Entry* local = nullptr;   // live local entry (scan)
  const Entry* remote = nullptr;  // the store's entry (live or tombstone)
  bool archive_local = false;     // move the local version to the archive
  bool archive_remote = false;    // write the store's version to the archive
  bool take_remote = false;       // write the store's version here
};

// A changed path whose winner makes its descendants follow it: a local
// non-directory that wins over a store directory (the store's children lose
// too), or a store non-directory that wins over a local directory (the
// local children are archived with it). Unresolved: its children wait too.
struct Covering {
  std::optional<Side> winner;
  std::string archive_rel;  // where the parent's losing version goes
};

class Linker {
 public:
  Linker(Session& s, const fs::path& folder, const SyncOptions& options, const LinkOptions& link,
         const Decisions& decisions, LinkReport& report)
      : s_(s),
        folder_(folder),
        options_(options),
        link_(link),
        decisions_(decisions),
        report_(report) {
    archive_rel_ = "link-" + std::to_string(options.now_ms);
  }

  Status Run() {
    HX_ASSIGN_OR_RETURN(base_, LoadBaseState(*s_.index));
    if (base_.snapshot_id) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   folder_.string() +
                       " is already a synced vault; link is for a folder's first sync: use hx "
                       "sync pull (with --auto-merge) instead")
          .With("path", folder_.string());
    }
    fetcher_ = std::make_unique<ObjectFetcher>(*s_.store, s_.ctx, *s_.index);
    HX_ASSIGN_OR_RETURN(HeadState head_state, ReadHead(*s_.store, s_.ctx));
    if (head_state.head) {
      head_ = *head_state.head;
      HX_RETURN_IF_ERROR(CheckHeadNotReplayed(*head_, base_.max_head_seq));
      report_.head_seq = head_->seq;
      report_.snapshot_id = head_->snapshot_id;
      HX_ASSIGN_OR_RETURN(Snapshot snapshot, ImportHistory(s_, *head_, *fetcher_, learned_));
      ObjectFetcher& fetcher = *fetcher_;
      TreeLoader load = [&fetcher](const ObjectId& id) -> Result<Tree> {
        HX_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, fetcher.Fetch(ObjectKind::kTree, id));
        return DecodeTree(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      };
      HX_ASSIGN_OR_RETURN(remote_, FlattenTreesDiff(snapshot.root, load, {}, {}));
    }
    const VaultContext& ctx = s_.ctx;
    ChunkIdFn chunk_id = [&ctx](std::span<const std::uint8_t> bytes) {
      return ComputeObjectId(ctx, ObjectKind::kChunk, bytes);
    };
    HX_ASSIGN_OR_RETURN(scan_,
                        ScanVault(folder_, ScanOptions{}, base_.stats, *s_.chunker, chunk_id));

    // A link rerun in the same millisecond archives beside the earlier one.
    {
      HX_ASSIGN_OR_RETURN(const VaultDir vault, VaultDir::Open(*s_.env, folder_));
      HX_ASSIGN_OR_RETURN(archive_rel_, FreeArchiveReason(vault, archive_rel_));
    }
    Classify();
    HX_RETURN_IF_ERROR(CheckDecisionsNameConflicts());
    const bool waiting = std::any_of(planned_.begin(), planned_.end(), [](const Planned& p) {
      return p.item.status == "conflicted";
    });
    if (link_.dry_run) {
      report_.outcome = "preview";
    } else if (waiting) {
      // Nothing is applied until every changed item has a decision.
      report_.outcome = "needs_decisions";
      for (Planned& p : planned_) {
        if (p.item.status != "conflicted" && p.item.status != "failed") p.item.status = "skipped";
      }
    } else {
      Apply();
    }
    for (Planned& p : planned_) {
      report_.summary.Count(p.item.status);
      report_.items.push_back(std::move(p.item));
    }
    if (link_.dry_run) return OkStatus();
    if (report_.outcome == "needs_decisions") {
      report_.error = Error(SyncCode::kConflict, Category::kConflict,
                            std::to_string(report_.summary.conflicted) +
                                " item(s) differ between this folder and the store and have no "
                                "decision; nothing was applied. Name a choice for each in a "
                                "decisions file and link again with --decisions FILE")
                          .With("conflicted", std::to_string(report_.summary.conflicted));
    } else if (report_.summary.failed > 0) {
      report_.outcome = "partial";
      const LinkItem& first = *std::find_if(report_.items.begin(), report_.items.end(),
                                            [](const LinkItem& i) { return i.error.has_value(); });
      report_.error = Error(SyncCode::kApplyFailed, first.error->category,
                            std::to_string(report_.summary.failed) +
                                " item(s) could not be linked (first: " + first.path + ": " +
                                first.error->message +
                                "); the others were. Fix the cause (or list the path in "
                                ".hxignore) and link again to finish")
                          .With("failed", std::to_string(report_.summary.failed))
                          .With("first_path", first.path)
                          .WithNextStep(std::string(next_steps::kPartialLink));
    } else {
      report_.outcome = "linked";
      HX_RETURN_IF_ERROR(CommitBase());
    }
    if (report_.outcome != "linked") {
      HX_RETURN_IF_ERROR(SaveStatCache(*s_.index, scan_.stat_changes));
    }
    SaveReport();
    return OkStatus();
  }

 private:
  std::optional<Side> Winner(const std::string& path) const {
    switch (link_.policy) {
      case MergePolicy::kLocalPreferred:
        return Side::kLocal;
      case MergePolicy::kCloudPreferred:
        return Side::kCloud;
      default:
        break;
    }
    auto it = decisions_.find(path);
    if (it == decisions_.end()) return std::nullopt;
    return it->second == ManualChoice::kLocal ? Side::kLocal : Side::kCloud;
  }

  std::string ArchiveRel(const std::string& path, Side loser) const {
    return archive_rel_ + "/" + path + "." + std::string(ToString(loser));
  }
  static std::string ShownArchive(const std::string& rel) { return ".hx/archive/" + rel; }

  // Decides every path of the folder and of the store (paths sort before
  // their descendants, so an ancestor is always decided first).
  void Classify() {
    std::map<std::string, const Error*> unreadable;
    for (const ScanError& e : scan_.errors) unreadable.emplace(e.path, &e.error);
    std::set<std::string> paths;
    for (const auto& [path, entry] : scan_.entries) paths.insert(path);
    for (const auto& [path, entry] : remote_.entries) paths.insert(path);
    for (const auto& [path, error] : unreadable) paths.insert(path);

    for (const std::string& path : paths) {
      Planned p;
      auto l = scan_.entries.find(path);
      auto r = remote_.entries.find(path);
      p.local = l == scan_.entries.end() ? nullptr : &l->second;
      p.remote = r == remote_.entries.end() ? nullptr : &r->second;
      p.item.path = path;
      const Entry* shown = IsLive(p.local) ? p.local : p.remote;
      p.item.kind = shown ? std::string(ToString(shown->kind)) : "file";

      auto bad = std::as_const(unreadable).find(path);
      if (bad == unreadable.end()) bad = FindAncestor(unreadable, path);
      if (bad != unreadable.end()) {
        if (!IsLive(p.local) && !IsLive(p.remote) && bad->first != path) continue;
        p.item.change =
            IsLive(p.remote) ? (IsLive(p.local) ? "changed" : "new_remote") : "new_local";
        Fail(p, *bad->second);
        planned_.push_back(std::move(p));
        continue;
      }
      if (auto cover = FindAncestor(covering_, path); cover != covering_.end()) {
        if (!IsLive(p.local) && !IsLive(p.remote)) continue;
        ClassifyCovered(p, cover->first, cover->second);
        planned_.push_back(std::move(p));
        continue;
      }
      if (!IsLive(p.local)) {
        if (!IsLive(p.remote)) continue;  // a store tombstone: nothing here to keep
        p.item.change = "new_remote";
        p.item.status = "created";
        p.take_remote = true;
      } else if (p.remote == nullptr) {
        p.item.change = "new_local";
        p.item.status = "created";
      } else if (p.remote->kind == EntryKind::kTombstone) {
        // Never delete local data at link: the file stays and is published
        // again by the next push.
        p.item.change = "deleted_remotely";
        p.item.status = "created";
      } else if (p.local->SameContent(*p.remote)) {
        p.item.change = "unchanged";
        p.item.status = "skipped";
      } else {
        ClassifyChanged(p);
      }
      planned_.push_back(std::move(p));
    }
  }

  void ClassifyChanged(Planned& p) {
    const std::string& path = p.item.path;
    p.item.change = "changed";
    p.item.winner = Winner(path);
    const bool local_dir = p.local->kind == EntryKind::kDir;
    const bool remote_dir = p.remote->kind == EntryKind::kDir;
    if (!p.item.winner) {
      p.item.status = "conflicted";
      if (local_dir || remote_dir) covering_[path] = Covering{};
      return;
    }
    p.item.status = "updated";
    if (*p.item.winner == Side::kLocal) {
      p.archive_remote = !remote_dir;
      if (!remote_dir) p.item.archived = ShownArchive(ArchiveRel(path, Side::kCloud));
      if (remote_dir) covering_[path] = Covering{Side::kLocal, ArchiveRel(path, Side::kCloud)};
    } else {
      p.archive_local = true;
      p.take_remote = true;
      p.item.archived = ShownArchive(ArchiveRel(path, Side::kLocal));
      if (local_dir) covering_[path] = Covering{Side::kCloud, ArchiveRel(path, Side::kLocal)};
    }
  }

  // A path below a changed path whose kind differs on the two sides.
  void ClassifyCovered(Planned& p, const std::string& parent, const Covering& cover) {
    p.item.change = "changed";
    p.item.winner = cover.winner;
    if (!cover.winner) {
      p.item.status = "conflicted";
      return;
    }
    p.item.status = "updated";
    if (*cover.winner == Side::kLocal) {
      // The store's children of a directory that the local non-directory
      // replaces: archived here; the next push deletes them in the store.
      if (IsLive(p.remote) && p.remote->kind != EntryKind::kDir) {
        p.archive_remote = true;
        p.item.archived = ShownArchive(ArchiveRel(p.item.path, Side::kCloud));
      }
    } else {
      // The local children of a directory that the store's version
      // replaces: they move to the archive with it.
      const std::string below = p.item.path.substr(parent.size());
      p.item.archived = ShownArchive(cover.archive_rel + below);
    }
  }

  Status CheckDecisionsNameConflicts() const {
    std::set<std::string_view> changed;
    for (const Planned& p : planned_) {
      if (p.item.change == "changed") changed.insert(p.item.path);
    }
    for (const auto& [id, choice] : decisions_) {
      HX_RETURN_IF_ERROR(DecidedSide(id, choice));
      if (changed.count(id) == 0) {
        return InvalidInput(SyncCode::kInputInvalid,
                            "the decisions file names " + id +
                                ", which is not an item that differs between this folder and "
                                "the store; remove it from the file")
            .With("item_id", id);
      }
    }
    return OkStatus();
  }

  void Fail(Planned& p, Error error) {
    p.item.status = "failed";
    p.item.error = std::move(error);
    p.take_remote = p.archive_local = p.archive_remote = false;
  }

  // The archive's directory of this link, in the vault's state area:
  // ".hx/archive/link-<now_ms>".
  std::string ArchiveStateRel() const {
    return std::string(kLocalDirName) + "/archive/" + archive_rel_;
  }
  std::string ArchiveStateRel(const std::string& path, Side side) const {
    return std::string(kLocalDirName) + "/archive/" + ArchiveRel(path, side);
  }

  // Writes the store's version of `path` to the archive (a file's content,
  // or a symlink with its target), relative to the archive directory's
  // descriptor (opened beneath the vault root, never through a symlink).
  Status ArchiveRemote(const std::string& path, const Entry& remote) {
    const std::string rel = ArchiveStateRel(path, Side::kCloud);
    const fs::path to = vault_->Full(rel);
    HX_ASSIGN_OR_RETURN(VaultSlot slot, vault_->OpenParent(rel, VaultArea::kState, true));
    Env& env = vault_->env();
    if (remote.kind == EntryKind::kSymlink) {
      if (const int err = env.SymlinkAt(remote.symlink_target.c_str(), slot.dir.get(),
                                        slot.name.c_str());
          err != 0) {
        return OsError(SyncCode::kApplyFailed, "cannot archive", to, err);
      }
      return OkStatus();
    }
    int raw = -1;
    if (const int err = env.Open(slot.dir.get(), slot.name.c_str(),
                                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                 remote.executable ? 0755 : 0644, &raw);
        err != 0) {
      return OsError(SyncCode::kApplyFailed, "cannot archive", to, err);
    }
    Fd fd(env, raw);
    auto fail = [&](Error e) -> Status {
      fd.reset();
      (void)env.UnlinkAt(slot.dir.get(), slot.name.c_str(), 0);
      return e;
    };
    std::uint64_t written = 0;
    for (const ChunkRef& chunk : remote.chunks) {
      Result<std::vector<std::uint8_t>> bytes = fetcher_->Fetch(ObjectKind::kChunk, chunk.id);
      if (!bytes.ok()) return fail(std::move(bytes).error());
      if (bytes->size() != chunk.size) {
        return fail(Error(SyncCode::kApplyFailed, Category::kHashMismatch,
                          "a chunk of " + path + " has the wrong size"));
      }
      const std::string_view view(reinterpret_cast<const char*>(bytes->data()), bytes->size());
      if (const int err = WriteAll(env, fd.get(), view); err != 0) {
        return fail(OsError(SyncCode::kApplyFailed, "cannot write", to, err));
      }
      written += bytes->size();
    }
    if (written != remote.size) {
      return fail(Error(SyncCode::kApplyFailed, Category::kCorrupt,
                        "the chunks of " + path + " do not add up to its size"));
    }
    if (const int err = fd.reset(); err != 0) {  // made durable by SyncArchive, once for all
      return fail(OsError(SyncCode::kApplyFailed, "cannot write", to, err));
    }
    return OkStatus();
  }

  // Fsyncs every file beneath the directory open at `dir` (never following
  // a symlink), and the directory itself.
  void FsyncTree(int dir, int depth) {
    Env& env = vault_->env();
    std::vector<DirEntry> entries;
    if (depth > 1024 || env.ReadDir(dir, &entries) != 0) return;
    for (const DirEntry& e : entries) {
      unsigned char type = e.type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (env.StatAt(dir, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
      }
      if (type != DT_DIR && type != DT_REG) continue;
      int raw = -1;
      const int flags = O_RDONLY | O_NOFOLLOW | (type == DT_DIR ? O_DIRECTORY : 0);
      if (env.Open(dir, e.name.c_str(), flags, 0, &raw) != 0) continue;
      Fd fd(env, raw);
      if (type == DT_DIR) {
        FsyncTree(fd.get(), depth + 1);
      } else {
        (void)env.Fsync(fd.get());
      }
    }
    (void)env.Fsync(dir);
  }

  // One syncfs makes every archived version durable (an fsync per file
  // costs a journal commit each); if syncfs fails, an fsync per file.
  void SyncArchive() {
    Result<Fd> root = vault_->OpenDir(ArchiveStateRel(), VaultArea::kState, false);
    if (!root.ok()) return;  // nothing was archived
    if (vault_->env().SyncFs(root->get()) == 0) return;
    FsyncTree(root->get(), 0);
  }

  void Apply() {
    Result<VaultDir> vault = VaultDir::Open(*s_.env, folder_);
    if (!vault.ok()) {
      for (Planned& p : planned_) {
        if (p.item.status != "failed" && (p.take_remote || p.archive_local || p.archive_remote)) {
          Fail(p, vault.error());
        }
      }
      return;
    }
    vault_.emplace(std::move(*vault));
    // A local version that the store's version replaces (a directory with
    // what it holds) is archived by the applier as it replaces it
    // (sync/displace.h: the path always holds one of the two).
    std::map<std::string, Displacement> displaced;
    // (archive_local goes with take_remote, and the two sides differ in
    // kind or content: never two directories.)
    for (const Planned& p : planned_) {
      if (p.item.status != "failed" && p.archive_local) {
        displaced[p.item.path] = Displacement{ArchiveStateRel(p.item.path, Side::kLocal), true};
      }
    }
    // 1. The store's losing versions into the archive.
    std::set<std::string> failed;  // paths whose descendants cannot be applied
    for (Planned& p : planned_) {
      if (p.item.status == "failed") failed.insert(p.item.path);
      if (p.item.status == "failed" || !p.archive_remote) continue;
      if (FindAncestor(failed, p.item.path) != failed.end()) {
        Fail(p, Error(SyncCode::kApplyFailed, Category::kAborted,
                      "a parent directory could not be linked"));
        failed.insert(p.item.path);
        continue;
      }
      if (Status done = ArchiveRemote(p.item.path, *p.remote); !done.ok()) {
        Fail(p, done.error());
        failed.insert(p.item.path);
      }
    }
    SyncArchive();
    // 2. The store's versions, through the pull's applier, re-checked
    // against the scan.
    std::vector<PlannedItem> items;
    std::vector<Planned*> owners;
    for (Planned& p : planned_) {
      if (!p.take_remote || p.item.status == "failed") continue;
      if (FindAncestor(failed, p.item.path) != failed.end()) {
        Fail(p, Error(SyncCode::kApplyFailed, Category::kAborted,
                      "a parent directory could not be linked"));
        failed.insert(p.item.path);
        continue;
      }
      PlannedItem item;
      item.path = p.item.path;
      item.action = PullAction::kTakeRemote;
      item.remote = p.remote;  // its path's entry in remote_ (planner.h)
      items.push_back(std::move(item));
      owners.push_back(&p);
    }
    options_.progress.StartPhase(obs::Phase::kDownload, items.size(), 0);
    const SyncOptions apply_options = WithApplyProgress(options_, items.size());
    std::vector<AppliedItem> applied = ApplyPlan({.vault = folder_,
                                                  .staging = s_.local.staging_dir(),
                                                  .scan = &scan_,
                                                  .cache = &base_.stats,
                                                  .checkpoint = &apply_options,
                                                  .env = s_.env,
                                                  .displace = &displaced},
                                                 items, *fetcher_);
    for (std::size_t i = 0; i < applied.size(); ++i) {
      Planned& p = *owners[i];
      if (applied[i].displaced_to) p.item.archived = *applied[i].displaced_to;
      if (applied[i].status == ApplyStatus::kApplied) {
        // A displaced directory took what it held to the archive.
        if (IsLive(p.local) && p.local->kind == EntryKind::kDir) StatRemoveTree(p.item.path);
        if (applied[i].stat) {
          StatPut(p.item.path, StatCacheEntry{*applied[i].stat, p.remote->chunks});
        }
        continue;
      }
      Fail(p, applied[i].error ? *applied[i].error
                               : Error(SyncCode::kApplyFailed, Category::kAborted,
                                       "something hx does not sync is at this path, or it "
                                       "changed while linking (" +
                                           std::string(ToString(applied[i].status)) +
                                           "); move it away and link again"));
    }
  }

  void StatPut(const std::string& path, StatCacheEntry entry) {
    auto& remove = scan_.stat_changes.remove;
    remove.erase(std::remove(remove.begin(), remove.end(), path), remove.end());
    scan_.stat_changes.put.insert_or_assign(path, std::move(entry));
  }

  void StatRemoveTree(const std::string& path) {
    auto& put = scan_.stat_changes.put;
    const std::string prefix = path + "/";
    for (auto it = put.begin(); it != put.end();) {
      it = (it->first == path || it->first.starts_with(prefix)) ? put.erase(it) : std::next(it);
    }
  }

  Status CommitBase() {
    if (!head_) return SaveStatCache(*s_.index, scan_.stat_changes);  // an empty vault
    SyncedState synced;
    synced.entries = remote_.entries;
    synced.tree_ids = remote_.tree_ids;
    synced.stat_changes = scan_.stat_changes;
    synced.added = learned_;
    synced.snapshot_id = head_->snapshot_id;
    synced.head_seq = head_->seq;
    HX_RETURN_IF_ERROR(CommitSyncedState(s_, base_, synced, kMetaLastPullMs, options_.now_ms));
    // A read-only store (a reader's credentials) that refuses only the
    // manifest: the link is complete, with a warning (as pull's).
    return UpdateOwnManifestAfterPull(s_, head_->seq, options_.now_ms, report_.warnings, "linked");
  }

  // .hx/reports/link_<now_ms>.json (or -N: never over an earlier link's
  // report of the same millisecond), best effort (as pull's reports).
  void SaveReport() {
    Result<std::string> name = LocalState::FreeFileName(
        *s_.env, s_.local.reports_dir(), "link_" + std::to_string(options_.now_ms), ".json");
    if (!name.ok()) return;
    report_.report_file = ".hx/reports/" + *name;
    Result<std::string> json = WriteCanonicalJson(report_.ToJson());
    if (!json.ok() ||
        !LocalState::WriteFileAtomic(*s_.env, s_.local.reports_dir() / *name, *json).ok()) {
      report_.report_file.reset();
    }
  }

  Session& s_;
  fs::path folder_;
  const SyncOptions& options_;
  const LinkOptions& link_;
  const Decisions& decisions_;
  LinkReport& report_;
  std::string archive_rel_;
  BaseState base_;
  std::optional<Head> head_;
  std::unique_ptr<ObjectFetcher> fetcher_;
  std::vector<ObjectLocation> learned_;
  FlattenedTrees remote_;
  ScanResult scan_;
  std::vector<Planned> planned_;
  std::map<std::string, Covering> covering_;
  std::optional<VaultDir> vault_;  // opened by Apply
};

Status CheckPolicy(const LinkOptions& link) {
  if (link.policy != MergePolicy::kLocalPreferred && link.policy != MergePolicy::kCloudPreferred &&
      link.policy != MergePolicy::kManualPerItem) {
    return Error(SyncCode::kMergePolicyUnsupported, Category::kUnsupported,
                 "hx sync link takes --policy local_preferred, cloud_preferred or "
                 "manual_per_item, not " +
                     std::string(MergePolicyName(link.policy)))
        .With("policy", std::string(MergePolicyName(link.policy)));
  }
  if (!link.decisions_file.empty() && link.policy != MergePolicy::kManualPerItem) {
    return InvalidInput(SyncCode::kInputInvalid, "--decisions goes with --policy manual_per_item");
  }
  return OkStatus();
}

}  // namespace

Result<LinkReport> SyncLink(const fs::path& vault, const SyncOptions& options,
                            const LinkOptions& link) {
  HX_RETURN_IF_ERROR(CheckPolicy(link));
  if (options.target_uri.empty()) {
    return InvalidInput(SyncCode::kTargetInvalid, "hx sync link needs a target URI");
  }
  Decisions decisions;
  if (!link.decisions_file.empty()) {
    HX_ASSIGN_OR_RETURN(decisions, ReadDecisionsFile(link.decisions_file));
  }
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  struct stat st;
  if (const int err = env.StatAt(AT_FDCWD, vault.c_str(), &st, 0);
      err == ENOENT || err == ENOTDIR || (err == 0 && !S_ISDIR(st.st_mode))) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "the folder " + vault.string() + " does not exist; link joins an existing folder")
        .With("path", vault.string());
  } else if (err != 0) {
    // A folder that cannot be looked at is that error, not a missing one.
    return OsError(SyncCode::kStateFailed, "cannot look at the folder", vault, err);
  }
  LinkReport report;
  report.vault_path = vault.string();
  report.policy = std::string(MergePolicyName(link.policy));
  report.dry_run = link.dry_run;

  HX_ASSIGN_OR_RETURN(const bool initialized, LocalState::Exists(vault, env));
  std::optional<ScratchDir> scratch;
  Result<Session> session = Error(SyncCode::kInternal, Category::kInternal, "no session");
  if (link.dry_run && !initialized) {
    HX_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Make());
    scratch.emplace(std::move(dir));
    session = OpenPreviewSession(*scratch, options);
  } else {
    if (!initialized) {
      HX_ASSIGN_OR_RETURN(Target target,
                          ParseTargetUri(options.target_uri, options.target_options, options.cwd));
      HX_RETURN_IF_ERROR(OpenExistingVault(target, options));
      HX_RETURN_IF_ERROR(SyncInit(vault, options, InitOptions{}));
    }
    session = OpenSession(vault, options);
  }
  if (!session.ok()) return std::move(session).error();
  Session& s = *session;
  report.target = s.target.ToUri();
  report.vault_id = s.ctx.vault_id;
  if (!link.dry_run || initialized) report.node_id = s.node_id();

  Linker linker(s, vault, options, link, decisions, report);
  options.progress.StartPhase(obs::Phase::kScan);
  Status run = linker.Run();
  if (!link.dry_run) {
    RecordOutcome(*s.index, !run.ok() ? run : report.error ? Status(*report.error) : OkStatus());
  }
  if (!run.ok()) return std::move(run).error();
  return report;
}

}  // namespace hx
