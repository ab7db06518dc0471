// The no-change fast path of push and status: the scan baseline
// (scan/baseline.h) kept in .hx/baseline, checked before anything of the
// base is loaded. Internal to the sync module; the comparison itself is in
// internal.h (DetectLocalChangesOfScan, TakeLocalChangesOfScan).
//
// The baseline is a cache of one fact: "this folder, listed exactly like
// this, has no local changes against the base named by its token". Push and
// status write it whenever they have just established that fact with a
// clean scan (no changes found, or the base just committed from that scan),
// and use it first; anything but an exact match, a missing or damaged
// file, or a base that has moved on (a new kMetaBaseToken, base snapshot or
// head seq) sends them to the full comparison.
//
// Thread-safety: as Session (one thread).
#pragma once

#include "base/error.h"
#include "scan/baseline.h"
#include "scan/scanner.h"
#include "sync/internal.h"
#include "sync/session.h"

namespace hx {

// What the index says about the base without its entries, tree ids or stat
// cache (LoadBaseState fills those too): snapshot, seqs, completeness.
Result<BaseState> LoadBaseMeta(Index& index);

// Whether the vault folder is exactly as .hx/baseline recorded it for the
// index's current base: then a scan would find no local change. False when
// there is no usable baseline; never an error (a read or parse failure is a
// miss, and the caller's full comparison reports what is wrong).
bool UnchangedSinceBaseline(Session& s);

// ScanFolder (internal.h) that also collects the scan's baseline, and
// consumes base.stats (ScanVault's StatCache&& form: the stat cache shrinks
// as the scan grows; base.stats is left empty). `on_files`: as
// ScanOptions::on_files (a first push's uploads, first_push.h). What the
// stat cache is to learn is kept beside the entries
// (ScanOptions::cache_stats_in_entries): write it with SaveStatCacheOfScan
// before the entries change.
Result<ScanResult> ScanFolderForBaseline(Session& s, BaseState& base,
                                         ScannedFilesFn on_files = nullptr);

// Whether a push given SyncOptions::scope `scope` scans only those paths:
// not when .hxignore is among them (the rules of the whole folder changed).
bool ScopeIsUsable(const std::vector<std::string>& scope);

// The scoped scan of a push (SyncOptions::scope): ScanVault limited to
// `scope`, completed with the base's live entries below every directory it
// did not list whose directory the scan (or the base, above it) still has,
// so that comparing it with the base finds exactly the changes in the
// listed directories. Without a baseline. Consumes base.stats (the push
// needs it no more).
Result<ScanResult> ScanScopedForPush(Session& s, BaseState& base,
                                     const std::vector<std::string>& scope);

// Writes `baseline` to .hx/baseline for the index's current base (its
// kMetaBaseToken, given one if it has none, with the base snapshot and head
// seq). Call
// it only when the scan the baseline came from has no local changes against
// the base as now committed. Best effort: a failure removes the file (a
// stale one must not survive) and is otherwise ignored.
void SaveBaseline(Session& s, const ScanBaseline& baseline);

}  // namespace hx
