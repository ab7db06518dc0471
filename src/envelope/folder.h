// The envelope and a vault folder: export the folder's items, diff an
// envelope against the folder (a dry run), and apply it with a seed-003
// policy (docs/ENVELOPE.md).
//
// What counts as the folder's items is what sync sees: every file, symlink
// and directory except .hx/ at the root and what .hxignore ignores;
// sockets, FIFOs, devices and names that are not valid UTF-8 are left out.
//
// Apply never overwrites silently: when the envelope and the folder hold
// different versions of an item, the policy picks one and the other is
// archived under .hx/archive/envelope-<now_ms>/<item_id>.local (the folder's
// version, "<...>.local.~N~" if that name is taken) or .cloud (the
// envelope's). The folder's version is archived by the step that puts the
// envelope's in its place (sync/displace.h): at every instant the path
// holds one of the two, whatever fails. Items are applied one by one in
// item_id order (parents first); one that fails is reported and the others
// go on. The report is saved under .hx/reports/. An hx vault is locked
// (LocalState) while an envelope is applied to it.
//
// No clock is read: times come from now_ms and file mtimes.
// Thread-safety: one call per folder at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "envelope/envelope.h"
#include "merge/policy.h"
#include "sync/link.h"

namespace hx {

struct ExportOptions {
  std::int64_t now_ms = 0;  // exported_utc
  std::string app_version;  // source.app_version
  // Refuse folders whose envelope would be larger (bytes of JSON).
  std::size_t max_bytes = kMaxEnvelopeBytes;
  // Every file-system read goes through this Env. Null: Env::Default().
  Env* env = nullptr;
};

// The envelope of the folder `vault` (items sorted by item_id; updated_utc
// from each item's mtime; source.device_id the vault's node id, or
// "unlinked" for a folder that is not an hx vault). Errors: the folder
// missing (KC_SYNC_STATE_FAILED, not_found); items above max_bytes or
// kMaxEnvelopeItems (KC_SYNC_INPUT_INVALID naming the size and the limit);
// an unreadable item or one that changes while being read
// (KC_SYNC_STATE_FAILED naming it).
Result<Envelope> ExportFolder(const std::filesystem::path& vault, const ExportOptions& options);

// One item of the folder, without its content (its hash is computed by
// streaming the file).
struct LocalItem {
  std::string item_type;
  std::string item_id;
  std::string updated_utc;
  std::string content_hash;
};
Result<std::map<std::string, LocalItem>> ListFolderItems(const std::filesystem::path& vault,
                                                         Env& env = Env::Default());

// How an envelope item relates to the folder:
//   "new"        the folder has nothing at item_id
//   "unchanged"  same item_type and content_hash
//   "conflict"   same item_type, different content_hash (seed 003's key)
//   "changed"    the folder holds another item_type at item_id
std::string_view ClassifyEnvelopeItem(const EnvelopeItem& item, const LocalItem* local);

struct EnvelopeDiffItem {
  std::string item_type;
  std::string item_id;
  std::string change;
  std::optional<std::string> local_item_type;
  std::optional<std::string> local_content_hash;
  std::string content_hash;
};

struct EnvelopeDiffReport {
  std::string vault_path;
  std::string schema_version;
  EnvelopeSource source;
  std::string exported_utc;
  std::vector<EnvelopeDiffItem> items;  // by item_id
  std::vector<std::string> local_only;  // item ids only the folder has (never touched)
  std::uint64_t new_items = 0, changed = 0, unchanged = 0, conflicts = 0;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// A dry run: writes nothing.
Result<EnvelopeDiffReport> DiffEnvelope(const std::filesystem::path& vault,
                                        const Envelope& envelope, Env& env = Env::Default());
// The same comparison against any item set (the hub's server-side items,
// hub/envelope_hub.h): vault_path is left empty, local_only lists the ids
// only `local` has.
EnvelopeDiffReport DiffEnvelopeItems(const std::map<std::string, LocalItem>& local,
                                     const Envelope& envelope);

struct EnvelopeApplyOptions {
  MergePolicy policy = MergePolicy::kManualPerItem;
  // manual_per_item: "local" or "remote" per conflict/changed item (see
  // sync/link.h; "both" is refused).
  Decisions decisions;
  std::int64_t now_ms = 0;
  // Every write into the folder goes through this Env, relative to the
  // folder's descriptor (os/vault_dir.h). Null: Env::Default().
  Env* env = nullptr;
};

struct EnvelopeApplyItem {
  std::string item_type;
  std::string item_id;
  std::string change;  // as in the diff
  // "created", "updated" (the envelope's version replaced the folder's),
  // "skipped" (unchanged, or the folder's version kept), "conflicted"
  // (awaits a decision), "failed".
  std::string status;
  std::optional<Side> winner;
  std::optional<std::string> archived;  // vault-relative path of the archived loser
  std::optional<Error> error;
};

struct EnvelopeApplyReport {
  std::string vault_path;
  std::string policy;
  std::string exported_utc;
  // "applied", "partial" (some items failed), "needs_decisions" (nothing
  // applied).
  std::string outcome;
  std::vector<EnvelopeApplyItem> items;
  ItemSummary summary;
  std::optional<std::string> report_file;
  // KC_SYNC_CONFLICT for needs_decisions, KC_SYNC_APPLY_FAILED for partial.
  std::optional<Error> error;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// The error of a report with failed items (outcome "partial"):
// KC_SYNC_APPLY_FAILED with the first failed item's category, naming it
// (details failed, first_item_id). Also the hub's (hub/envelope_hub.h).
Error PartialApplyError(const EnvelopeApplyReport& report);

// Applies `envelope` to the folder. Errors (nothing changed): a policy other
// than the three of seed 003 (KC_SYNC_MERGE_POLICY_UNSUPPORTED); decisions
// with another policy, or naming an item that is not a conflict/changed one
// (KC_SYNC_INPUT_INVALID); the folder missing; the vault locked by another
// hx process (KC_SYNC_LOCKED). Item failures are in the report.
Result<EnvelopeApplyReport> ApplyEnvelope(const std::filesystem::path& vault,
                                          const Envelope& envelope,
                                          const EnvelopeApplyOptions& options);

}  // namespace hx
