// The folder store: a Store rooted at a local folder (a NAS share, a USB
// disk, a mounted drive). The object `key` is the file `<root>/<key>`, so
// the folder holds exactly the layout of PRODUCT.md "Store layout" and a user
// can back it up or copy it with ordinary tools.
//
// Durability and atomicity (the ordering is explained in folder_store.cc):
// - Put writes a temporary file in the key's directory, fsyncs it, renames it
//   over the key and fsyncs the directory: readers see the old or the new
//   bytes, never a prefix, and after success the object survives a crash.
// - PutIfAbsent writes and fsyncs a temporary file, then link()s it to the
//   key, which fails if the key exists, even against a creator in another
//   process or on another host of a network file system with POSIX link
//   semantics. On file systems without hard links (FAT, exFAT) it falls back
//   to renameat2(RENAME_NOREPLACE), which is just as atomic locally.
// - StartWrite streams (streams_writes()): the pieces go to a temporary file
//   in the root as they come, so a pack is never held in memory whole;
//   Commit fsyncs it, renames it to its key (creating the key's directory)
//   and fsyncs that directory, as Put does. A writer dropped uncommitted
//   removes its file.
// - PutIfMatch is NOT atomic across processes
//   (capabilities().atomic_compare_and_swap == false): it compares the
//   current version, then Puts. Callers must hold the store's write lock
//   (locks/write.lock, itself taken with PutIfAbsent).
// - Versions are the lowercase hex BLAKE3 of an object's bytes.
//
// Temporary files are named ".tmp~<16 hex>": '~' is not a key character, so
// a temporary file can never collide with a key and List never returns one.
// A crash can leave one behind, and so can a failure to remove the temporary
// name after PutIfAbsent has linked it to its key (the object is written;
// the removal is cleanup); it is invisible to every operation and costs
// only its disk space.
//
// Thread-safety: thread-safe; the object holds no mutable state, and
// concurrent calls (also from other processes) are serialized by the file
// system as described above.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "os/env.h"
#include "store/store.h"
#include "store/target_uri.h"

namespace hx {

struct FolderStoreOptions {
  // fsync files and directories so that a completed write survives a power
  // loss. Turn off only for throwaway stores (benchmarks of everything but
  // the disk); tests keep it on and run in a tmpfs instead.
  bool sync = true;
};

class FolderStore final : public Store {
  struct PrivateTag {};

 public:
  // Opens the store at `target` (kind kFolder). The root must exist and be a
  // directory; errors as OpenStore (store.h). Every file-system call goes
  // through `env`, which must outlive the store.
  static Result<std::unique_ptr<FolderStore>> Open(const Target& target,
                                                   FolderStoreOptions options = {},
                                                   Env& env = Env::Default());

  const StoreCapabilities& capabilities() const override;
  std::string Describe() const override;

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  // Not atomic across writers: see the top of this file.
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  Result<std::unique_ptr<StoreWriter>> StartWrite() override;
  bool streams_writes() const override { return true; }
  Result<bool> Exists(std::string_view key) override;
  // Regular files only: directories are walked, and symbolic links, special
  // files, temporary files and names that are not valid keys (README.txt,
  // .DS_Store) are skipped, so a user's stray file never breaks a sync.
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

  // The root folder (absolute).
  const std::string& root() const { return target_.path; }

  // Use Open(); public only for std::make_unique.
  FolderStore(PrivateTag, Target target, FolderStoreOptions options, Env& env);

 private:
  friend class FolderStoreWriter;
  // Creates a new, empty temporary file in `dir` (created with its parents
  // if missing) and opens it for writing into `fd`; returns its path.
  Result<std::string> CreateTempFile(const std::string& dir, Fd* fd);
  // Writes `bytes` to a new temporary file in `dir` (as CreateTempFile),
  // fsynced; returns its path.
  Result<std::string> WriteTempFile(const std::string& dir, std::span<const std::uint8_t> bytes);
  // Makes the fsynced, closed temporary file `temp` the object at `path`
  // (its directory created if missing) and fsyncs that directory; on
  // failure `temp` is removed.
  Status RenameIntoPlace(const std::string& temp, const std::string& path);
  Status CreateDirectories(const std::string& dir);
  Status SyncDirectory(const std::string& dir);
  // OK if the root is still a directory; the "disappeared" error otherwise.
  Status CheckRoot();
  Result<std::string> PathFor(std::string_view key) const;

  Target target_;
  FolderStoreOptions options_;
  Env* env_;
};

// Creates `path` (absolute) and its missing parents, fsyncing the parent of
// every directory it creates. OK if it exists as a directory already.
Status CreateFolderStoreRoot(const std::string& path, Env& env = Env::Default());

// The one mapping from an errno of `operation` ("open", "rename", ...) on
// `path` to an Error: ENOENT -> not_found; EACCES, EPERM, EROFS ->
// KC_SYNC_AUTH_FAILED "permission denied on <path>"; ENOSPC, EDQUOT ->
// no_space; everything else (EIO, ...) -> io. Codes are KC_SYNC_STATE_FAILED
// except for auth. Details: {"errno", "operation", "path"}.
Error FolderStoreErrorFromErrno(int errno_value, std::string_view operation, std::string_view path);

// True if `name` (one path segment) is a folder store temporary file name.
bool IsFolderStoreTempName(std::string_view name);

}  // namespace hx
