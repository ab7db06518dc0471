// First sync (seed 003): `hx sync link` joins a folder that was used on its
// own (files, no .hx/) to an EXISTING vault of a store, without losing a
// byte.
//
// A link is a join (SyncInit against a store that already holds a vault)
// followed by a first pull with an empty base, under rules of its own:
//   - nothing local is ever deleted: a remote tombstone never removes a local
//     file (the file stays and is published again by the next push);
//   - items only the store has are written locally ("new_remote");
//   - items only the folder has stay and are published by the next push
//     ("new_local");
//   - items both sides hold with the same content join ("unchanged");
//   - items both sides hold with different content ("changed") are decided
//     by the policy: local_preferred keeps the local version (it replaces the
//     store's at the next push) and archives the store's version locally;
//     cloud_preferred archives the local version and writes the store's;
//     manual_per_item applies NOTHING unless a decisions file names a choice
//     for every changed item.
// Archives go under .hx/archive/link-<now_ms>/<path>.local or .cloud (the
// suffix names the side that lost; link-<now_ms>-N/ when a link of the same
// millisecond made that folder); an existing archive is never replaced. A
// local version that the store's version replaces (a file, a symlink, or a
// directory with everything in it) is archived by the step that replaces it
// (sync/displace.h): the path always holds one of them.
//
// A link completes only when every item succeeded: then the base becomes the
// store's head (every path of the head, exactly). Every link but a dry run
// saves its report as .hx/reports/link_<now_ms>.json (link_<now_ms>-N.json
// when that name is taken: never over another). If an item failed or awaits
// a decision, no base is recorded: push and pull refuse (the folder has not
// synced yet) and running link again continues where it stopped (what it
// already wrote joins as unchanged).
//
// --dry-run reads the store and the folder and writes nothing anywhere (no
// .hx/, no key cache, no report): the report is the preview.
//
// Thread-safety: as the engine (engine.h): one operation per vault at a time.
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
#include "merge/policy.h"
#include "sync/engine.h"
#include "sync/resolve.h"

namespace hx {

// The two sides of a first sync, in reports: "local" (this folder) and
// "cloud" (the store, or an envelope).
enum class Side { kLocal, kCloud };
std::string_view ToString(Side side);

// A decisions file (manual_per_item) is the one pull reads (sync/resolve.h:
// {"decisions":{"<item id>":"local"|"remote"|"both"},"format_version":1}).
// Link and the envelope take "local" (this folder's version wins) and
// "remote" (the store's or the envelope's wins); "both" is keep_both, which
// they do not do (KC_SYNC_INPUT_INVALID). Reads and parses the file (errors
// name it).
Result<Decisions> ReadDecisionsFile(const std::filesystem::path& file);
// The side a decision picks; "both" is KC_SYNC_INPUT_INVALID naming the item.
Result<Side> DecidedSide(const std::string& item_id, ManualChoice choice);

// The per-item statuses and summary counts of seed 003 (shared by link and
// the envelope apply).
struct ItemSummary {
  std::uint64_t created = 0;
  std::uint64_t updated = 0;
  std::uint64_t skipped = 0;
  std::uint64_t conflicted = 0;
  std::uint64_t failed = 0;
  // Counts `status` ("created", "updated", "skipped", "conflicted", "failed").
  void Count(std::string_view status);
  nlohmann::json ToJson() const;
  friend bool operator==(const ItemSummary&, const ItemSummary&) = default;
};

struct LinkItem {
  std::string path;
  std::string kind;  // "file", "dir", "symlink": the local kind if live, else the store's
  // "new_local", "new_remote", "unchanged", "changed", "deleted_remotely"
  // (the store deleted it; the local item is kept and published again).
  std::string change;
  // "created" (new on one side; written here or published by the next push),
  // "updated" (changed; the policy chose a side and the loser is archived),
  // "skipped" (unchanged, or not applied because other items await a
  // decision), "conflicted" (awaits a decision), "failed". A dry run shows
  // the statuses the link would give.
  std::string status;
  std::optional<Side> winner;           // for changed items that were decided
  std::optional<std::string> archived;  // vault-relative path of the archived loser
  std::optional<Error> error;           // for failed items
};

struct LinkOptions {
  MergePolicy policy = MergePolicy::kLocalPreferred;
  // manual_per_item only: the decisions file (empty: none).
  std::string decisions_file;
  bool dry_run = false;
};

struct LinkReport {
  std::string vault_path;
  std::string target;
  std::string vault_id;
  std::string node_id;  // empty for a dry run (no node is created)
  std::string policy;
  bool dry_run = false;
  // "linked" (complete), "preview" (dry run), "needs_decisions" (nothing
  // applied), "partial" (some items failed; link again).
  std::string outcome;
  std::optional<std::uint64_t> head_seq;
  std::optional<std::string> snapshot_id;
  std::vector<LinkItem> items;  // sorted by path
  ItemSummary summary;
  // Vault-relative path of the saved report (not for dry runs).
  std::optional<std::string> report_file;
  // Set for "needs_decisions" (KC_SYNC_CONFLICT) and "partial"
  // (KC_SYNC_APPLY_FAILED): what to do next.
  std::optional<Error> error;
  // Problems that did not undo a complete link: a store that refused this
  // device's manifest (read-only credentials; KC_SYNC_AUTH_FAILED, detail
  // key), as pull reports it. The JSON carries "warnings" only when there
  // are some; the text shows "warning: <message>" lines.
  std::vector<Error> warnings;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Links `vault` to the existing vault at options.target_uri (required).
// Errors (nothing changed): a policy other than local_preferred,
// cloud_preferred, manual_per_item -> KC_SYNC_MERGE_POLICY_UNSUPPORTED; a
// decisions file with another policy or malformed -> KC_SYNC_INPUT_INVALID;
// the folder missing -> KC_SYNC_STATE_FAILED (not_found); a store without a
// vault -> KC_SYNC_TARGET_INVALID (not_found, "use hx sync init"); a folder
// that is already a synced vault -> KC_SYNC_INPUT_INVALID ("use hx sync
// pull"); and the errors of SyncInit and of reading the store.
// Per-item outcomes are in the report (see LinkReport::error).
Result<LinkReport> SyncLink(const std::filesystem::path& vault, const SyncOptions& options,
                            const LinkOptions& link);

}  // namespace hx
