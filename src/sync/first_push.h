// A first push uploads while it scans (issue 15 item 6).
//
// Where the state to publish is known before the base is loaded — a first
// push: no base, so every file the scan finds is added, with no held
// conflicts, no kept versions and no scope — the scanner hands its files on
// in path order while it runs (ScanOptions::on_files, scan/file_release.h) to a
// bounded queue, and the uploader packs them on a thread of its own
// (ObjectUploader::AddFileChunks per batch taken from the queue). The
// uploader sees exactly the files, in exactly the order, that the
// sequential push gives it after the scan, so the packs, their ids and the
// snapshot are the same bytes whatever the timing; only the start is
// earlier (over a distant store, the scan and the first uploads overlap).
//
// Stopping: an upload error (or a file that changed under the uploader)
// closes the queue, which refuses what the scan hands on next, and the scan
// stops; a scan error closes the queue too, and the uploader stops at its
// next batch. Small files (a queue full of files before a pack's worth of
// bytes) are not overlapped at all. Either way both threads are joined before returning, and what was
// uploaded is recorded as unpublished pack by pack as always (uploader.h,
// "Resuming"). Nothing of the scan is kept when the upload failed (the
// rerun hashes again what it had hashed).
//
// Thread-safety: as Session (one thread); the uploader is used on a thread
// of its own until ScanWhileUploading returns, and must not be touched by
// anything else meanwhile.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "scan/scanner.h"
#include "sync/internal.h"
#include "sync/session.h"
#include "sync/uploader.h"

namespace hx {

// How far the scan may run ahead of the uploader, and how much the uploader
// takes at once. Only entries are queued (path and chunk ids: ~150 bytes a
// file), never file bytes.
struct ScanQueueLimits {
  // The scan waits while this many files, or files of this many bytes (on
  // disk: what the uploader will read back, still in the page cache), are
  // queued.
  std::size_t max_files = 4096;
  std::uint64_t max_bytes = std::uint64_t{64} << 20;
  // The uploader waits for this many files or bytes, so that it reads and
  // seals in batches; at most the maxima above.
  std::size_t batch_files = 1024;
  std::uint64_t batch_bytes = std::uint64_t{8} << 20;
  // The uploader starts once files of this many bytes are queued (a pack's
  // worth); if max_files fill the queue first, the overlap is given up and
  // the push packs every file after the scan (small files: the pack buffer
  // is not held beside the scan's tree; the memory test's first push).
  std::uint64_t start_bytes = std::uint64_t{16} << 20;
};

// Whether this push is a first push that may upload while it scans: no
// base (never synced, so nothing held and nothing to delete), no kept
// versions to publish (`republish`), not scoped (the caller's test), and
// the checks push makes before packing pass: the membership record lets
// this device push, and the store's prune record is applied. A check that
// fails is a "no", not an error: the push then goes the sequential way,
// which makes it again where it always did and reports what it says (a
// device that may not push still publishes nothing from an empty folder,
// without an error).
bool StartsOverlappedFirstPush(Session& s, const BaseState& base, bool republish);

// ScanFolderForBaseline (local_changes.h) that hands the files it finds to
// `uploader` as it goes (above); `uploader` must be fresh. Returns the
// scan, or the uploader's error if it failed (then the scan's result is
// dropped), else the scan's. The uploader has then packed a prefix of the
// scan's files in path order (maybe none): the caller packs them all with
// AddFileChunks, which skips what is packed already.
Result<ScanResult> ScanWhileUploading(Session& s, BaseState& base, ObjectUploader& uploader,
                                      const ScanQueueLimits& limits = {});

}  // namespace hx
