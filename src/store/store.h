// The store: where devices meet. A blob store, not a file system: named
// immutable-ish byte objects under a prefix, with a handful of operations and
// a small capabilities struct — the only place backends may differ. Folder
// and S3 stores implement it; retry, fault injection and request counting are
// wrappers around any Store (store_wrappers.h). Nothing above this interface
// knows which backend it talks to.
//
// Keys are relative to the target's prefix: '/'-separated segments of ASCII
// [a-z0-9._-], no empty, "." or ".." segment, no leading or trailing '/', at
// most kMaxStoreKeyBytes (hx never needs more; see docs/FORMAT.md). Keys are
// built by hx, never typed by a user, so every store refuses an invalid key
// as a bug: KC_SYNC_INTERNAL, Category::kInternal (ValidateStoreKey). That
// refusal is also what keeps a key from escaping a folder store's root.
// A key is never also a directory of other keys ("a" and "a/b"): a folder
// cannot be both a file and a directory, so the folder store fails such a
// write (Category::kIo). hx's layout never needs it.
//
// Errors: kNotFound for a missing key (Category::kNotFound, code
// KC_SYNC_STATE_FAILED), kAborted for a lost compare-and-swap
// (Category::kAborted), transport failures with retryable categories, auth
// failures KC_SYNC_AUTH_FAILED, a full disk or quota Category::kNoSpace.
//
// Thread-safety: implementations are thread-safe; one Store may serve many
// concurrent calls (the push pipeline uploads packs in parallel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "obs/usage.h"
#include "os/env.h"
#include "store/target_uri.h"

namespace hx {

class Clock;  // base/clock.h

using Bytes = std::vector<std::uint8_t>;

struct StoreCapabilities {
  // PutIfAbsent is atomic against concurrent creators (O_EXCL / If-None-Match).
  bool atomic_create = true;
  // PutIfMatch is atomic against concurrent writers (If-Match); when false,
  // callers must hold the write lock to replace an object safely.
  bool atomic_compare_and_swap = false;
  // Get with a byte range costs no more than the range.
  bool ranged_reads = true;
};

// A version tag of an object's current bytes: the S3 ETag, or for folders
// the BLAKE3 of the content. Opaque; compare for equality only.
using StoreVersion = std::string;

struct StoreObjectInfo {
  std::string key;
  std::uint64_t size = 0;
};

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// One new object written in pieces, for an object too big to hold in memory
// whole: a pack as it is sealed, whose key (the hash of its bytes) is known
// only at the end (Store::StartWrite). Used by one thread at a time; the
// store that made it must outlive it.
class StoreWriter {
 public:
  // A writer destroyed without a successful Commit leaves nothing behind
  // (a crash may leave what a crash during Put may: store.h's backends say).
  virtual ~StoreWriter() = default;
  // Appends `bytes` to the object. Errors as Put's (a full disk:
  // Category::kNoSpace); the writer is then spent (Commit fails).
  virtual Status Append(std::span<const std::uint8_t> bytes) = 0;
  // Makes the bytes appended the object `key`, as Put would: atomic for
  // readers, durable on success, replacing an object of that key. Once: the
  // writer is spent after it, whatever the outcome.
  virtual Status Commit(std::string_view key) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual const StoreCapabilities& capabilities() const = 0;
  // The canonical URI of this store (for messages and reports).
  virtual std::string Describe() const = 0;

  // Reads the whole object. Fails with Category::kNotFound if absent, and
  // with Category::kCorrupt if it is larger than max_size (the object is not
  // read beyond the bound).
  virtual Result<Bytes> Get(std::string_view key, std::uint64_t max_size) = 0;
  // Reads `range` of the object; fails (kCorrupt) if the object is shorter
  // than offset + length. An empty range at or before the end is an empty
  // result.
  virtual Result<Bytes> GetRange(std::string_view key, ByteRange range) = 0;
  // Reads the whole object (bounded as Get) and its version tag.
  virtual Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                              std::uint64_t max_size) = 0;
  // A conditional read, for watching an object that rarely changes (the
  // agent's RemoteNotifier polls head.json): nullopt when the object's
  // current version is still `version` ("unchanged"), else its bytes and
  // version as GetVersioned. Errors as GetVersioned (an absent object is
  // kNotFound). The default reads the whole object and compares versions;
  // the S3 store sends If-None-Match, so an unchanged object costs one
  // bodiless 304 reply. Wrappers forward it (CountingStore counts it as
  // StoreOp::kGetIfNoneMatch).
  virtual Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size);

  // Writes the object atomically for readers: a reader sees the old bytes or
  // the new bytes, never a mix or a prefix. Durable on success.
  virtual Status Put(std::string_view key, std::span<const std::uint8_t> bytes) = 0;
  // Creates the object only if absent (atomic for readers, durable) and
  // returns its version; Category::kAborted if it exists.
  virtual Result<StoreVersion> PutIfAbsent(std::string_view key,
                                           std::span<const std::uint8_t> bytes) = 0;
  // Replaces the object only if its current version is `expected`, and
  // returns the new version; Category::kAborted otherwise (also when the
  // object is absent). See StoreCapabilities::atomic_compare_and_swap.
  virtual Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                          const StoreVersion& expected) = 0;

  // Starts writing a new object in pieces (StoreWriter). The default holds
  // the pieces in memory and Puts them at Commit, so that a wrapper which
  // only overrides Put sees every write; a store that writes them out as
  // they come (a folder store: to a temporary file) says so in
  // streams_writes(), and then its Put is not called for them.
  virtual Result<std::unique_ptr<StoreWriter>> StartWrite();
  virtual bool streams_writes() const { return false; }

  // True if the object exists.
  virtual Result<bool> Exists(std::string_view key) = 0;
  // Every key that starts with `prefix` (all pages), sorted bytewise. The
  // prefix is a string prefix ("blobs/a" matches "blobs/ab/..."), valid per
  // ValidateStorePrefix; "" lists everything.
  virtual Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) = 0;
  // Deletes the object; deleting an absent object is not an error.
  virtual Status Delete(std::string_view key) = 0;
};

// The longest key, in bytes. An S3 prefix may take up to kMaxS3PrefixBytes
// (768) of S3's 1024-byte key limit, leaving 255 for the key; 255 is also a
// folder store's longest file name. hx's own keys are at most ~120 bytes.
inline constexpr std::size_t kMaxStoreKeyBytes = 255;

// The errors every Store implementation gives about one object, with the
// key in the message and in details {"key"}: KC_SYNC_STATE_FAILED with
// Category::kNotFound ("store object K does not exist"), kCorrupt and
// kAborted ("store object K <message>").
Error StoreObjectNotFound(std::string_view key);
Error StoreObjectCorrupt(std::string_view key, std::string message);
Error StoreObjectAborted(std::string_view key, std::string message);

// OK if `key` is a valid store key (rules at the top of this file); else
// KC_SYNC_INTERNAL, Category::kInternal, naming the rule and the key
// (escaped) in the message and in details {"key"}.
Status ValidateStoreKey(std::string_view key);
// The same test as a bool, for filtering (List skips names that fail it).
bool IsValidStoreKey(std::string_view key);
// OK if `prefix` may start a valid key: "" or a key-like string that may end
// in '/' or in a partial segment ("blobs/", "blobs/a"). Errors as above.
Status ValidateStorePrefix(std::string_view prefix);

// Opens the store a target names (folder or S3). For a folder target the
// folder must exist and be a directory: otherwise KC_SYNC_TARGET_INVALID
// (Category::kNotFound if it is missing) with a message that says to create
// it or run 'hx sync init'. An S3 target gives an S3Store (credentials and
// region from the environment and ~/.aws, s3/credentials.h) inside a
// RetryingStore; no network I/O happens until the first call. A folder
// store makes every file-system call through `env`; `clock` times an S3
// store's deadlines and retries and dates its signatures (null: the real
// clock). Both must outlive the store. An S3 store counts every HTTP
// request it sends in `meter` (if not null; obs/usage.h).
Result<std::unique_ptr<Store>> OpenStore(const Target& target, Env& env = Env::Default(),
                                         Clock* clock = nullptr,
                                         std::shared_ptr<obs::RequestMeter> meter = nullptr);
// For 'hx sync init': like OpenStore, but first creates a folder target's
// folder and its missing parents (durably). S3: the bucket must exist, the
// credentials must be accepted and the server must honour conditional
// writes (S3Store::CheckTarget); errors say which.
Result<std::unique_ptr<Store>> CreateStore(const Target& target, Env& env = Env::Default(),
                                           Clock* clock = nullptr);

}  // namespace hx
