// hx explain: why one path of a vault is as it is. It puts side by side what
// this device has (the folder as a scan sees it), what it last synced (the
// base, in the index) and what the store's head holds, says how their
// version vectors relate in words, asks the real planner (sync/planner.h,
// through PreparePull, exactly what a pull would compute) what a push and a
// pull would do with the path, lists what stands in the way (a conflict, a
// path lock, an .hxignore rule, the mass-delete guard, a damaged object, the
// last failure) and says what to run next.
//
// Read-only: the session is opened with SyncOptions::read_only (no key
// cached, nothing remembered), nothing is recorded as the last outcome, and
// only reads reach the store (the head, the snapshot bodies and trees a pull
// would read, the path locks). The vault folder and .hx/ are not written.
//
// Thread-safety: as every engine operation (one per vault at a time: it
// takes the vault's process lock while it reads).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sync/engine.h"

namespace hx {

// One version of the path (local, base or remote).
struct ExplainVersion {
  // "file", "dir", "symlink", "tombstone" (deleted, the deletion is known),
  // "none" (no entry at all).
  std::string kind = "none";
  std::uint64_t size = 0;        // files
  std::string content;           // files and symlinks: ContentId (resolve.h), 8 hex
  std::map<std::string, std::uint64_t> vv;  // node id -> counter
  std::string vv_words;          // VersionVectorInWords
};

// What stands in the way of syncing the path.
struct ExplainBlocker {
  // "conflict", "lock", "ignored", "mass_delete", "damaged_tree",
  // "failed_item", "last_error", "unreadable", "incomplete_base".
  std::string kind;
  std::string detail;  // one sentence
  std::optional<Error> error;
};

struct ExplainReport {
  std::string vault_path;
  std::string path;  // normalized, vault-relative
  std::string node_id;
  std::string target;
  std::optional<std::uint64_t> base_head_seq;
  std::optional<std::uint64_t> remote_head_seq;

  // On disk now: "file", "dir", "symlink", "other", "absent".
  std::string on_disk = "absent";
  // The local change against the base: "unchanged", "added", "modified",
  // "deleted", "ignored", "unreadable".
  std::string local_change = "unchanged";
  ExplainVersion local;   // what this device would publish
  ExplainVersion base;    // what it last synced
  ExplainVersion remote;  // what the store's head holds
  // How the local version relates to the remote one: "equal", "same_content"
  // (equal content, different histories: a join), "local_newer",
  // "remote_newer", "concurrent".
  std::string relation = "equal";
  std::string relation_words;

  // The decision: "in_sync", "push" (the next push publishes this device's
  // version), "pull" (the next pull applies the store's), "join" (the next
  // pull records the same content as synced), "conflict", "ignored",
  // "unreadable".
  std::string decision = "in_sync";
  // The planner's action on the path, or on the directory above it whose
  // plan item carries it ("keep_local", "take_remote", "join", "conflict");
  // empty when the pull plan does not list it.
  std::string plan_action;
  std::string plan_path;  // the path of that plan item
  std::string policy = "none";  // the merge policy a pull would use
  // For a conflict under a resolving policy: what it would decide
  // ("kept_local", "kept_remote", "kept_both", "await_decision").
  std::string resolution;
  std::string decision_words;

  std::vector<ExplainBlocker> blockers;
  std::vector<std::string> next;  // what to run or do, in order

  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Explains `path` (vault-relative, or absolute inside the vault folder) at
// options.now_ms. Errors: the path is not a valid vault path or outside the
// vault (KC_SYNC_INPUT_INVALID); those of opening the session and of
// PreparePull (a lost or replayed head, store errors).
Result<ExplainReport> SyncExplain(const std::filesystem::path& vault, const SyncOptions& options,
                                  std::string_view path);

// The words for a version vector: "last changed by this device (ab12cd34)
// (counter 3); includes the changes of device 9f8e7d6c up to 2" ("no
// history" for an empty one). The highest counter is the last change.
std::string VersionVectorInWords(const std::map<std::string, std::uint64_t>& vv,
                                 std::string_view self);

}  // namespace hx
