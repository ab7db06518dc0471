// Governance: who may publish to a vault (device roles), which paths a
// device has reserved (path locks), and whether the remote history this
// device is about to merge can be trusted (the trust chain). The records
// live in the store (meta/path_lock.h, meta/membership.h); this file turns
// them into
//   - the SyncMergeContextV2 the conservative_plus policies decide on
//     (merge/preview.h), computed on exactly what a pull would apply
//     (sync/prepare.h);
//   - EnsureMayPush, the "a reader cannot push" rule;
//   - the engine side of `hx lock add|remove|list` and
//     `hx member list|set-role`.
//
// Threat model (docs/ARCHITECTURE.md, "Governance"): every device holds the
// same vault key, so roles and locks are honoured by honest hx clients, not
// enforced by cryptography; a device that ignores them (or anyone with the
// passphrase) can write anything. What the key does guarantee is that the
// store provider cannot forge, edit or rename a record; it can delete one or
// serve an older one.
//
// Thread-safety: functions use the Session of the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "merge/preview.h"
#include "meta/membership.h"
#include "meta/path_lock.h"
#include "sync/engine.h"
#include "sync/prepare.h"
#include "sync/session.h"

namespace hx {

// ---- The merge context --------------------------------------------------------

// The trust chain walks at most this many snapshots from the head back to
// the base; a longer gap is reported as a chain that could not be verified.
inline constexpr std::size_t kMaxTrustChainSnapshots = 10000;

// What the walk from the head to this device's base found.
struct TrustChain {
  std::string expected_key_fingerprint;  // pinned: the key this device unlocked at init/join
  std::string seen_key_fingerprint;      // the head snapshot's (expected if no head)
  bool author_chain_ok = true;
  // Why the chain is not ok, one line each, in walk order (for reports).
  std::vector<std::string> problems;
  // Authors of the snapshots after the base, sorted, unique.
  std::vector<std::string> authors;
  std::size_t snapshots_checked = 0;
};

// Walks the snapshots from `head_snapshot` through their parents until the
// base (`base_snapshot_id`; nullopt: to the first snapshot). Every snapshot
// must decode (so it carries this vault's key fingerprint), have an author
// this vault knows (a member of the membership record, a device with a
// manifest, or this device), and a seq below its child's; the walk must
// reach the base. A failure of any of these is a fact (author_chain_ok
// false, a line in problems), not an error; store errors other than a
// missing or damaged snapshot are returned.
Result<TrustChain> CheckTrustChain(Session& s, const Snapshot& head_snapshot,
                                   const std::optional<std::string>& base_snapshot_id,
                                   const Membership& membership);

// The active locks of other devices that cover `changed_paths` (normalized),
// in the context's form: one entry per (covered path, lock), the object hash
// being the covered path's (merge/preview.h ObjectHashOfPath), so that a lock
// on a directory conflicts with a change beneath it. Sorted by (object_hash,
// owner), unique. Locks of `self` and expired ones are left out.
std::vector<SyncMergeLockV2> LocksCovering(const std::vector<PathLock>& locks,
                                           const std::vector<std::string>& changed_paths,
                                           std::string_view self, std::int64_t now_ms);

// The context of a planned pull: the trust chain from the head to the base,
// the other devices' active locks on this device's changed paths, this
// device's role and the remote authors without write rights. Reads the
// membership record, the snapshots between base and head (only if the head
// moved) and the path locks (only if there are local changes); writes
// nothing. A membership record older than one this device has seen makes
// the chain not ok (the record cannot vouch for anyone's role). An up-to-date or empty vault gives the "nothing against the
// merge" context with this device's fingerprint and role.
Result<SyncMergeContextV2> BuildMergeContext(Session& s, const PreparedPull& prepared,
                                             std::int64_t now_ms);

// OK if this device may publish: it is a writer of the vault (membership.h:
// unlisted devices are writers). A reader: KC_SYNC_AUTH_FAILED,
// Category::kAuth, "this device is a reader ..." naming the command a writer
// runs to change it. A membership record older than one this device has seen
// (a lower seq, or none at all: the store lost it or serves an old copy):
// KC_SYNC_STATE_FAILED, Category::kCorrupt, saying a writer repairs it with
// `hx member set-role`. One read of the membership record (and the index);
// remembers the seq read (index meta "membership_seq_seen"); store and
// decoding errors pass through.
Status EnsureMayPush(Session& s);

// ---- hx lock ------------------------------------------------------------------

struct PathLockView {
  PathLock lock;
  bool active = false;
  bool mine = false;  // held by this device
};

struct LockReport {
  std::string action;  // "added" (or renewed) or "removed"
  std::optional<PathLockView> lock;  // nullopt: a damaged lock was removed
  std::string path;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

struct LockListReport {
  std::string node_id;
  std::int64_t now_ms = 0;
  std::vector<PathLockView> locks;   // by path, expired ones included
  std::vector<std::string> damaged;  // store keys of locks that do not decode
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// The lock path as the user gave it: vault-relative, or absolute inside the
// vault folder; normalized by NormalizeLockPath.
Result<std::string> ResolveLockPath(const std::filesystem::path& vault, std::string_view path);

// hx lock add: locks `path` for this device for ttl_ms from options.now_ms.
// A reader may not lock (KC_SYNC_AUTH_FAILED). See AddPathLock for the rest.
Result<LockReport> SyncLockAdd(const std::filesystem::path& vault, const SyncOptions& options,
                               std::string_view path, std::int64_t ttl_ms);
// hx lock remove: RemovePathLock with this device as the owner.
Result<LockReport> SyncLockRemove(const std::filesystem::path& vault, const SyncOptions& options,
                                  std::string_view path, bool force);
// hx lock list.
Result<LockListReport> SyncLockList(const std::filesystem::path& vault,
                                    const SyncOptions& options);

// ---- hx member ----------------------------------------------------------------

struct MemberView {
  std::string node_id;
  DeviceRole role = DeviceRole::kWriter;
  bool listed = false;        // the record sets its role (else: writer by default)
  std::string set_by;         // when listed
  std::int64_t set_ms = 0;    // when listed
  bool has_manifest = false;  // the device has synced with the store
  bool this_device = false;
};

struct MemberReport {
  std::string node_id;      // this device
  std::uint64_t seq = 0;    // of the membership record; 0: none yet
  bool changed = false;     // set-role wrote a new record
  std::vector<MemberView> members;  // every known device, by node id
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// hx member list: every device the store knows (manifests and the record).
Result<MemberReport> SyncMemberList(const std::filesystem::path& vault,
                                    const SyncOptions& options);
// hx member set-role: SetDeviceRole on behalf of this device, writing above
// the highest seq this device has seen (which is how a writer repairs a
// record the store lost or rolled back). `node_id` may be a unique prefix
// (at least 4 hex digits) of a known device's id.
Result<MemberReport> SyncMemberSetRole(const std::filesystem::path& vault,
                                       const SyncOptions& options, std::string_view node_id,
                                       DeviceRole role);

}  // namespace hx
