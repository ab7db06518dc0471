// hx envelope apply: the envelope's items into the folder, with a policy,
// archiving every losing version (see folder.h).
#include <algorithm>
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
#include "sync/archive.h"
#include "sync/local_state.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

class EnvelopeApplier {
 public:
  EnvelopeApplier(const fs::path& vault, const EnvelopeApplyOptions& options)
      : vault_(vault), archive_rel_("envelope-" + std::to_string(options.now_ms)) {}

  std::string ArchiveRel(const std::string& id, Side loser) const {
    return archive_rel_ + "/" + id + "." + std::string(ToString(loser));
  }

  // Writes the item (a file's data, a symlink, a directory) at `to`, which
  // must not exist: files and symlinks are staged in .hx/staging/ and
  // renamed into place without replacing anything.
  Status Write(const EnvelopeItem& item, const fs::path& to) {
    HX_RETURN_IF_ERROR(CheckParents(to));
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    if (ec) return OsError(SyncCode::kApplyFailed, "cannot create the folder for", to, ec.value());
    if (item.item_type == "directory") {
      if (::mkdir(to.c_str(), 0755) != 0)
        return OsError(SyncCode::kApplyFailed, "cannot create directory", to, errno);
      return OkStatus();
    }
    const fs::path staging = vault_ / kLocalDirName / "staging";
    fs::create_directories(staging, ec);
    if (ec) return OsError(SyncCode::kApplyFailed, "cannot create", staging, ec.value());
    const fs::path staged =
        staging / ("envelope-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    if (item.item_type == "symlink") {
      const std::string target = item.content.at("target").get<std::string>();
      if (::symlink(target.c_str(), staged.c_str()) != 0) {
        return OsError(SyncCode::kApplyFailed, "cannot create symlink", staged, errno);
      }
    } else {
      HX_RETURN_IF_ERROR(StageFile(item, staged));
    }
    // link() refuses an existing target, so nothing is ever replaced; then
    // the staged name goes away.
    if (::link(staged.c_str(), to.c_str()) != 0) {
      const int err = errno;
      ::unlink(staged.c_str());
      return OsError(SyncCode::kApplyFailed,
                     err == EEXIST ? "something appeared at" : "cannot write", to, err);
    }
    ::unlink(staged.c_str());
    return OkStatus();
  }

  // Moves the folder's version of `id` into the archive (never over an
  // earlier archived version).
  Status ArchiveLocal(const std::string& id, const fs::path& to) {
    const fs::path from = vault_ / id;
    HX_RETURN_IF_ERROR(CheckParents(from));
    return MoveNoReplace(from, to);
  }

 private:
  // Every directory between the vault and `path` must be a real directory
  // (or absent, to be created): an envelope must never write through a
  // symlink to somewhere outside the vault.
  Status CheckParents(const fs::path& path) const {
    const fs::path rel = path.lexically_relative(vault_);
    fs::path at = vault_;
    for (auto it = rel.begin(); it != rel.end() && std::next(it) != rel.end(); ++it) {
      at /= *it;
      struct stat st;
      if (::lstat(at.c_str(), &st) != 0) {
        if (errno == ENOENT) return OkStatus();
        return OsError(SyncCode::kApplyFailed, "cannot inspect", at, errno);
      }
      if (!S_ISDIR(st.st_mode)) {
        return Error(
                   SyncCode::kApplyFailed, Category::kInvalidInput,
                   "cannot write " + path.string() + ": " + at.string() +
                       (S_ISLNK(st.st_mode) ? " is a symlink; an envelope never writes through one"
                                            : " is not a directory"))
            .With("path", path.string());
      }
    }
    return OkStatus();
  }

  Status StageFile(const EnvelopeItem& item, const fs::path& staged) {
    Result<std::string> data = DecodeBase64(item.content.at("data").get<std::string>());
    if (!data.ok()) return data.error();
    const bool executable = item.content.at("executable").get<bool>();
    const int fd =
        ::open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0755 : 0644);
    if (fd < 0) return OsError(SyncCode::kApplyFailed, "cannot create", staged, errno);
    std::size_t done = 0;
    while (done < data->size()) {
      const ssize_t n = ::write(fd, data->data() + done, data->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(staged.c_str());
        return OsError(SyncCode::kApplyFailed, "cannot write", staged, err);
      }
      done += static_cast<std::size_t>(n);
    }
    // The item's time, so exporting the folder again gives the same bytes.
    const std::int64_t ns = ParseUtcNs(item.updated_utc);
    const struct timespec times[2] = {
        {0, UTIME_OMIT},
        {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)}};
    if (ns >= 0) (void)::futimens(fd, times);
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(staged.c_str());
      return OsError(SyncCode::kApplyFailed, "cannot sync", staged, err);
    }
    ::close(fd);
    return OkStatus();
  }

  fs::path vault_;
  std::string archive_rel_;
  std::uint64_t counter_ = 0;
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

Result<EnvelopeApplyReport> ApplyEnvelope(const fs::path& vault, const Envelope& envelope,
                                          const EnvelopeApplyOptions& options) {
  HX_RETURN_IF_ERROR(CheckOptions(options));
  // An hx vault is locked against a concurrent sync for the whole apply.
  std::optional<LocalState> lock;
  if (LocalState::Exists(vault)) {
    HX_ASSIGN_OR_RETURN(LocalState state, LocalState::Open(vault));
    lock.emplace(std::move(state));
  }
  HX_ASSIGN_OR_RETURN(auto local, ListFolderItems(vault));

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
  EnvelopeApplier applier(vault, options);
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
        done = applier.Write(item, vault / kLocalDirName / "archive" / rel);
        if (done.ok()) out.archived = ".hx/archive/" + rel;
      }
    } else {
      if (out.winner == Side::kCloud) {
        const std::string rel = applier.ArchiveRel(item.item_id, Side::kLocal);
        done = applier.ArchiveLocal(item.item_id, vault / kLocalDirName / "archive" / rel);
        if (done.ok()) out.archived = ".hx/archive/" + rel;
      }
      if (done.ok()) done = applier.Write(item, vault / item.item_id);
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
    const EnvelopeApplyItem& first =
        *std::find_if(report.items.begin(), report.items.end(),
                      [](const EnvelopeApplyItem& i) { return i.status == "failed"; });
    report.error = Error(SyncCode::kApplyFailed, first.error->category,
                         std::to_string(report.summary.failed) +
                             " item(s) could not be applied (first: " + first.item_id + ": " +
                             first.error->message + "); the others were")
                       .With("failed", std::to_string(report.summary.failed))
                       .With("first_item_id", first.item_id);
  } else {
    report.outcome = "applied";
  }

  // .hx/reports/envelope_apply_<now_ms>.json (best effort, as pull's).
  const std::string name = "envelope_apply_" + std::to_string(options.now_ms) + ".json";
  const fs::path reports = vault / kLocalDirName / "reports";
  std::error_code ec;
  fs::create_directories(reports, ec);
  report.report_file = ".hx/reports/" + name;
  Result<std::string> json = WriteCanonicalJson(report.ToJson());
  if (ec || !json.ok() || !LocalState::WriteFileAtomic(reports / name, *json).ok()) {
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
