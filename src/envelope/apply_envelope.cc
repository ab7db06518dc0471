// hx envelope apply: the envelope's items into the folder, with a policy,
// archiving every losing version (see folder.h).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/os_error.h"
#include "base/printable.h"
#include "envelope/folder.h"
#include "json/canonical_json.h"
#include "os/vault_dir.h"
#include "sync/archive.h"
#include "sync/displace.h"
#include "sync/local_state.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

// Names staged versions uniquely within the process (with the pid: across
// processes), so an apply never collides with what an earlier one left.
std::atomic<std::uint64_t> staging_counter{0};

// Writes relative to the folder's VaultDir: every parent is opened beneath
// the folder without following a symlink, so an envelope never writes
// through one (KC_SYNC_APPLY_FAILED, Category::kConflict) and an item id
// that would lead into .hx/ is refused (kInvalidInput).
class EnvelopeApplier {
 public:
  // `archive_rel`: this apply's archive folder (FreeArchiveReason).
  EnvelopeApplier(const VaultDir& vault, std::string archive_rel)
      : vault_(vault), env_(vault.env()), archive_rel_(std::move(archive_rel)) {}

  std::string ArchiveRel(const std::string& id, Side loser) const {
    return archive_rel_ + "/" + id + "." + std::string(ToString(loser));
  }
  static std::string ArchiveStateRel(const std::string& rel) {
    return std::string(kLocalDirName) + "/archive/" + rel;
  }

  // Removes what an interrupted apply left in .hx/staging/ (the caller
  // holds the vault's lock, so nothing else is using it).
  void ClearStaging() {
    Result<Fd> staging =
        vault_.OpenDir(std::string(kLocalDirName) + "/staging", VaultArea::kState, false);
    std::vector<DirEntry> entries;
    if (!staging.ok() || env_.ReadDir(staging->get(), &entries) != 0) return;
    for (const DirEntry& e : entries) {
      if (!e.name.starts_with("envelope-")) continue;
      // A staged directory (always empty) that was never swapped in.
      if (env_.UnlinkAt(staging->get(), e.name.c_str(), 0) != 0) {
        (void)env_.UnlinkAt(staging->get(), e.name.c_str(), AT_REMOVEDIR);
      }
    }
  }

  // Writes the item (a file's data, a symlink, a directory) at the vault
  // path `to` (of `area`), which must not exist: files and symlinks are
  // staged in .hx/staging/ and renamed into place without replacing
  // anything.
  Status Write(const EnvelopeItem& item, const std::string& to, VaultArea area) {
    HX_ASSIGN_OR_RETURN(VaultSlot slot, vault_.OpenParent(to, area, /*create=*/true));
    if (item.item_type == "directory") {
      if (const int err = env_.MkdirAt(slot.dir.get(), slot.name.c_str(), 0755); err != 0)
        return vault_.PathError("cannot create directory", to, err);
      return OkStatus();
    }
    HX_ASSIGN_OR_RETURN(const std::string staged, Stage(item));
    return MoveInto(staged, false, slot, to);
  }

  // Puts the envelope's version of `item` at its path and keeps the
  // folder's version there at `keep_at` (a state path, or its first free
  // "<keep_at>.~N~") in the same step (sync/displace.h): at every instant
  // the path holds one of the two, and a failure leaves the folder's
  // version where it was. Returns where the folder's version is now
  // (vault-relative; nullopt: nothing was there any more).
  Result<std::optional<std::string>> Replace(const EnvelopeItem& item, const std::string& keep_at) {
    const bool dir = item.item_type == "directory";
    HX_ASSIGN_OR_RETURN(const std::string staged, Stage(item));
    const auto drop = [&] {
      (void)env_.UnlinkAt(staging_.get(), staged.c_str(), dir ? AT_REMOVEDIR : 0);
    };
    const std::string& to = item.item_id;
    Result<VaultSlot> slot = vault_.OpenParent(to, VaultArea::kContent, /*create=*/true);
    if (!slot.ok()) {
      drop();
      return std::move(slot).error();
    }
    // Whatever is there now is the folder's version (it is kept, whatever
    // it became since the listing).
    struct stat st;
    if (const int err = vault_.StatIn(*slot, &st); err != 0) {
      if (err != ENOENT) {
        drop();
        return vault_.PathError("cannot inspect", to, err);
      }
      HX_RETURN_IF_ERROR(MoveInto(staged, dir, *slot, to));
      return std::optional<std::string>();
    }
    Result<std::string> kept = ReplaceKeeping(
        vault_, *slot, to, S_ISDIR(st.st_mode), StagedVersion{staging_.get(), staged, dir},
        Displacement{keep_at, /*free_variant=*/true});
    if (!kept.ok()) {
      drop();
      return std::move(kept).error();
    }
    (void)env_.Fsync(slot->dir.get());
    return std::optional<std::string>(std::move(*kept));
  }

 private:
  // The item's version (a file's data, a symlink, an empty directory)
  // under a new name in .hx/staging/, durable; returns the name.
  Result<std::string> Stage(const EnvelopeItem& item) {
    if (!staging_.valid()) {
      HX_ASSIGN_OR_RETURN(staging_, vault_.OpenDir(std::string(kLocalDirName) + "/staging",
                                                   VaultArea::kState, /*create=*/true));
    }
    std::string staged = "envelope-" + std::to_string(::getpid()) + "-" +
                         std::to_string(staging_counter.fetch_add(1));
    const fs::path shown = vault_.Full(std::string(kLocalDirName) + "/staging/" + staged);
    if (item.item_type == "directory") {
      if (const int err = env_.MkdirAt(staging_.get(), staged.c_str(), 0755); err != 0) {
        return OsError(SyncCode::kApplyFailed, "cannot create directory", shown, err);
      }
    } else if (item.item_type == "symlink") {
      const std::string target = item.content.at("target").get<std::string>();
      if (const int err = env_.SymlinkAt(target.c_str(), staging_.get(), staged.c_str());
          err != 0) {
        return OsError(SyncCode::kApplyFailed, "cannot create symlink", shown, err);
      }
    } else {
      HX_RETURN_IF_ERROR(StageFile(item, staged, shown));
    }
    return staged;
  }

  // Renames the staged version into the free path `to` (its `slot`), never
  // replacing: something that appeared there stays.
  Status MoveInto(const std::string& staged, bool dir, const VaultSlot& slot,
                  const std::string& to) {
    if (const int err = vault_.RenameNoReplace(staging_.get(), staged, slot.dir.get(), slot.name);
        err != 0) {
      (void)env_.UnlinkAt(staging_.get(), staged.c_str(), dir ? AT_REMOVEDIR : 0);
      if (err == EEXIST) {
        return OsError(SyncCode::kApplyFailed, "something appeared at", vault_.Full(to), err);
      }
      return vault_.PathError("cannot write", to, err);
    }
    (void)env_.Fsync(slot.dir.get());
    return OkStatus();
  }

  Status StageFile(const EnvelopeItem& item, const std::string& staged, const fs::path& shown) {
    Result<std::string> data = DecodeBase64(item.content.at("data").get<std::string>());
    if (!data.ok()) return data.error();
    const bool executable = item.content.at("executable").get<bool>();
    int raw = -1;
    if (const int err = env_.Open(staging_.get(), staged.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                  executable ? 0755 : 0644, &raw);
        err != 0) {
      return OsError(SyncCode::kApplyFailed, "cannot create", shown, err);
    }
    Fd fd(env_, raw);
    auto fail = [&](std::string_view what, int err) -> Status {
      fd.reset();
      (void)env_.UnlinkAt(staging_.get(), staged.c_str(), 0);
      return OsError(SyncCode::kApplyFailed, what, shown, err);
    };
    if (const int err = WriteAll(env_, fd.get(), *data); err != 0) return fail("cannot write", err);
    // The item's time, so exporting the folder again gives the same bytes.
    const std::int64_t ns = ParseUtcNs(item.updated_utc);
    const struct timespec times[2] = {
        {0, UTIME_OMIT},
        {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)}};
    if (ns >= 0) (void)env_.Futimens(fd.get(), times);
    if (const int err = env_.Fsync(fd.get()); err != 0) return fail("cannot sync", err);
    if (const int err = fd.reset(); err != 0) return fail("cannot write", err);
    return OkStatus();
  }

  const VaultDir& vault_;
  Env& env_;
  std::string archive_rel_;
  Fd staging_;
};

Status CheckOptions(const EnvelopeApplyOptions& options) {
  if (options.policy != MergePolicy::kLocalPreferred &&
      options.policy != MergePolicy::kCloudPreferred &&
      options.policy != MergePolicy::kManualPerItem) {
    return Error(SyncCode::kMergePolicyUnsupported, Category::kUnsupported,
                 "hx envelope apply takes --policy local_preferred, cloud_preferred or "
                 "manual_per_item, not " +
                     std::string(MergePolicyName(options.policy)))
        .With("policy", std::string(MergePolicyName(options.policy)));
  }
  if (!options.decisions.empty() && options.policy != MergePolicy::kManualPerItem) {
    return InvalidInput(SyncCode::kInputInvalid, "--decisions goes with --policy manual_per_item");
  }
  return OkStatus();
}

nlohmann::json ErrorJson(const std::optional<Error>& e) {
  return e ? nlohmann::json::parse(e->ToJson()) : nlohmann::json(nullptr);
}

}  // namespace

Error PartialApplyError(const EnvelopeApplyReport& report) {
  const auto first = std::find_if(report.items.begin(), report.items.end(),
                                  [](const EnvelopeApplyItem& i) { return i.status == "failed"; });
  if (first == report.items.end() || !first->error) {
    return Error(SyncCode::kInternal, Category::kInternal, "no failed item in the report");
  }
  return Error(SyncCode::kApplyFailed, first->error->category,
               std::to_string(report.summary.failed) + " item(s) could not be applied (first: " +
                   first->item_id + ": " + first->error->message + "); the others were")
      .With("failed", std::to_string(report.summary.failed))
      .With("first_item_id", first->item_id);
}

Result<EnvelopeApplyReport> ApplyEnvelope(const fs::path& vault, const Envelope& envelope,
                                          const EnvelopeApplyOptions& options) {
  HX_RETURN_IF_ERROR(CheckOptions(options));
  // An hx vault is locked against a concurrent sync for the whole apply.
  std::optional<LocalState> lock;
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(const bool linked, LocalState::Exists(vault, env));
  if (linked) {
    HX_ASSIGN_OR_RETURN(LocalState state, LocalState::Open(vault, env));
    lock.emplace(std::move(state));
  }
  HX_ASSIGN_OR_RETURN(auto local, ListFolderItems(vault, env));

  EnvelopeApplyReport report;
  report.vault_path = vault.string();
  report.policy = std::string(MergePolicyName(options.policy));
  report.exported_utc = envelope.exported_utc;
  std::set<std::string> decidable;
  for (const EnvelopeItem& item : envelope.items) {
    auto l = local.find(item.item_id);
    EnvelopeApplyItem out;
    out.item_type = item.item_type;
    out.item_id = item.item_id;
    out.change = std::string(ClassifyEnvelopeItem(item, l == local.end() ? nullptr : &l->second));
    if (!VerifyContentHash(item)) {
      out.status = "failed";
      out.error = Error(SyncCode::kApplyFailed, Category::kHashMismatch,
                        "the content_hash of " + item.item_id +
                            " does not match its content; it was not written (export it again)")
                      .With("item_id", item.item_id);
    } else if (out.change == "new") {
      out.status = "created";
    } else if (out.change == "unchanged") {
      out.status = "skipped";
    } else {
      decidable.insert(item.item_id);
      if (options.policy == MergePolicy::kLocalPreferred) {
        out.winner = Side::kLocal;
      } else if (options.policy == MergePolicy::kCloudPreferred) {
        out.winner = Side::kCloud;
      } else if (auto d = options.decisions.find(item.item_id); d != options.decisions.end()) {
        HX_ASSIGN_OR_RETURN(out.winner, DecidedSide(item.item_id, d->second));
      }
      out.status = !out.winner ? "conflicted" : *out.winner == Side::kLocal ? "skipped" : "updated";
    }
    report.items.push_back(std::move(out));
  }
  for (const auto& [id, choice] : options.decisions) {
    if (decidable.count(id) == 0) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "the decisions file names " + id +
                              ", which is not an item that differs between the envelope and the "
                              "folder; remove it from the file")
          .With("item_id", id);
    }
  }
  const bool waiting =
      std::any_of(report.items.begin(), report.items.end(),
                  [](const EnvelopeApplyItem& i) { return i.status == "conflicted"; });
  HX_ASSIGN_OR_RETURN(VaultDir vault_dir, VaultDir::Open(env, vault));
  // An apply rerun in the same millisecond archives beside the earlier one.
  HX_ASSIGN_OR_RETURN(std::string archive_rel,
                      FreeArchiveReason(vault_dir, "envelope-" + std::to_string(options.now_ms)));
  EnvelopeApplier applier(vault_dir, std::move(archive_rel));
  if (linked && !waiting) applier.ClearStaging();
  for (std::size_t i = 0; i < report.items.size(); ++i) {
    EnvelopeApplyItem& out = report.items[i];
    const EnvelopeItem& item = envelope.items[i];
    if (waiting) {
      // Nothing is applied until every conflict has a decision.
      if (out.status != "conflicted" && out.status != "failed") out.status = "skipped";
      continue;
    }
    if (out.status != "created" && out.status != "updated" && !(out.winner == Side::kLocal)) {
      continue;
    }
    Status done = OkStatus();
    if (out.winner == Side::kLocal) {
      // The folder's version stays; the envelope's goes to the archive.
      if (item.item_type != "directory") {
        const std::string rel = applier.ArchiveRel(item.item_id, Side::kCloud);
        done = applier.Write(item, EnvelopeApplier::ArchiveStateRel(rel), VaultArea::kState);
        if (done.ok()) out.archived = ".hx/archive/" + rel;
      }
    } else if (out.winner == Side::kCloud) {
      // The folder's version goes to the archive as the envelope's takes
      // its place.
      const std::string rel = applier.ArchiveRel(item.item_id, Side::kLocal);
      Result<std::optional<std::string>> kept =
          applier.Replace(item, EnvelopeApplier::ArchiveStateRel(rel));
      if (kept.ok()) {
        out.archived = std::move(*kept);
      } else {
        done = std::move(kept).error();
      }
    } else {
      done = applier.Write(item, item.item_id, VaultArea::kContent);
    }
    if (!done.ok()) {
      out.status = "failed";
      out.error = done.error();
      out.error->With("item_id", item.item_id);
    }
  }
  for (const EnvelopeApplyItem& item : report.items) report.summary.Count(item.status);

  if (waiting) {
    report.outcome = "needs_decisions";
    report.error = Error(SyncCode::kConflict, Category::kConflict,
                         std::to_string(report.summary.conflicted) +
                             " item(s) differ between the envelope and the folder and have no "
                             "decision; nothing was applied. Name a choice for each in a "
                             "decisions file and apply again with --decisions FILE")
                       .With("conflicted", std::to_string(report.summary.conflicted));
  } else if (report.summary.failed > 0) {
    report.outcome = "partial";
    report.error = PartialApplyError(report);
  } else {
    report.outcome = "applied";
  }

  // .hx/reports/envelope_apply_<now_ms>.json (or -N: never over an earlier
  // apply's of the same millisecond; best effort, as pull's).
  const fs::path reports = vault / kLocalDirName / "reports";
  // Created (or found) beneath the folder without following a symlink.
  const bool reports_ok =
      vault_dir.OpenDir(std::string(kLocalDirName) + "/reports", VaultArea::kState, true).ok();
  Result<std::string> name = LocalState::FreeFileName(
      env, reports, "envelope_apply_" + std::to_string(options.now_ms), ".json");
  if (name.ok()) report.report_file = ".hx/reports/" + *name;
  Result<std::string> json = WriteCanonicalJson(report.ToJson());
  if (!reports_ok || !name.ok() || !json.ok() ||
      !LocalState::WriteFileAtomic(env, reports / *name, *json).ok()) {
    report.report_file.reset();
  }
  return report;
}

nlohmann::json EnvelopeApplyReport::ToJson() const {
  nlohmann::json items_json = nlohmann::json::array();
  for (const EnvelopeApplyItem& i : items) {
    items_json.push_back(
        {{"item_type", i.item_type},
         {"item_id", i.item_id},
         {"change", i.change},
         {"status", i.status},
         {"winner", i.winner ? nlohmann::json(ToString(*i.winner)) : nlohmann::json(nullptr)},
         {"archived", i.archived ? nlohmann::json(*i.archived) : nlohmann::json(nullptr)},
         {"error", ErrorJson(i.error)}});
  }
  return {{"report", "envelope_apply"},
          {"vault_path", vault_path},
          {"policy", policy},
          {"exported_utc", exported_utc},
          {"outcome", outcome},
          {"items", std::move(items_json)},
          {"summary", summary.ToJson()},
          {"report_file", report_file ? nlohmann::json(*report_file) : nlohmann::json(nullptr)},
          {"error", ErrorJson(error)}};
}

std::string EnvelopeApplyReport::ToHuman() const {
  std::ostringstream out;
  out << "envelope apply to " << Printable(vault_path) << " (" << policy << "): " << outcome
      << "\n";
  for (const EnvelopeApplyItem& i : items) {
    out << "  " << i.status << "  " << Printable(i.item_id) << "  (" << i.change;
    if (i.winner) out << ", " << ToString(*i.winner) << " kept";
    out << ")";
    if (i.archived) out << "  archived: " << Printable(*i.archived);
    if (i.error) out << "  error: " << Printable(i.error->message);
    out << "\n";
  }
  out << "created " << summary.created << ", updated " << summary.updated << ", skipped "
      << summary.skipped << ", conflicted " << summary.conflicted << ", failed " << summary.failed
      << "\n";
  if (report_file) out << "report: " << Printable(*report_file) << "\n";
  return out.str();
}

}  // namespace hx
