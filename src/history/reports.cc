// Rendering of the history reports: canonical JSON (keys sorted, integers
// only) and text for humans, every store- or user-chosen string through
// Printable (base/printable.h).
#include <sstream>

#include "base/printable.h"
#include "base/utc_time.h"
#include "history/history.h"
#include "history/reader.h"

namespace hx {
namespace {

using nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

std::string Short(const std::string& id) { return id.substr(0, 12); }

}  // namespace

json LogReport::ToJson() const {
  json list = json::array();
  for (const LogEntry& e : snapshots) {
    json item = {{"added", e.added},     {"author", e.author},         {"bytes", e.bytes},
                 {"created_ms", e.created_ms}, {"deleted", e.deleted}, {"files", e.files},
                 {"forgotten", e.forgotten},
                 {"modified", e.modified}, {"relocation", e.relocation}, {"seq", e.seq},             {"snapshot_id", e.snapshot_id},
                 {"time", FormatUtcSeconds(e.created_ms)}};
    if (e.kind) {
      item["kind"] = *e.kind;
      item["size"] = OrNull(e.size);
      item["content_id"] = OrNull(e.content_id);
    }
    list.push_back(std::move(item));
  }
  return {{"next_offset", OrNull(next_offset)},
          {"offset", offset},
          {"path", path.empty() ? json(nullptr) : json(path)},
          {"snapshots", std::move(list)},
          {"snapshots_read", snapshots_read},
          {"target", target},
          {"warnings", warnings}};
}

std::string LogReport::ToHuman() const {
  std::ostringstream out;
  if (snapshots.empty()) {
    out << (path.empty() ? "no snapshots" : "no snapshot changed " + Printable(path)) << "\n";
  }
  for (const LogEntry& e : snapshots) {
    out << "seq " << e.seq << "  " << Short(e.snapshot_id) << "  " << FormatUtcSeconds(e.created_ms)
        << "  device " << Printable(e.author.substr(0, 8));
    if (e.kind) {
      out << "  " << *e.kind;
      if (e.size) out << "  " << *e.size << " bytes";
      if (e.content_id) out << "  content " << e.content_id->substr(0, 12);
    } else {
      out << "  +" << e.added << " ~" << e.modified << " -" << e.deleted << "  (" << e.files
          << " files, " << e.bytes << " bytes)";
    }
    if (e.forgotten) out << "  (forgotten)";
    if (e.relocation) out << "  (prune relocation: the same files, objects moved)";
    out << "\n";
  }
  if (next_offset) out << "more: --offset " << *next_offset << "\n";
  for (const std::string& w : warnings) out << "warning: " << Printable(w) << "\n";
  return out.str();
}

json RestoreReport::ToJson() const {
  if (!from_version.empty()) {
    return {{"bytes", bytes},
            {"files", files},
            {"from_replaced_ms", from_replaced_ms},
            {"from_version", from_version},
            {"in_vault", in_vault},
            {"kind", kind},
            {"path", path},
            {"symlinks", symlinks},
            {"written_to", written_to}};
  }
  return {{"bytes", bytes},
          {"dirs", dirs},
          {"files", files},
          {"from_created_ms", from_created_ms},
          {"from_seq", from_seq},
          {"from_snapshot_id", from_snapshot_id},
          {"in_vault", in_vault},
          {"kind", kind},
          {"path", path},
          {"seq", seq},
          {"snapshot_id", snapshot_id},
          {"symlinks", symlinks},
          {"warnings", warnings},
          {"written_to", written_to}};
}

std::string RestoreReport::ToHuman() const {
  std::ostringstream out;
  if (!from_version.empty()) {
    out << "restored " << Printable(path) << " (" << kind << ") from this device's history cache: "
        << "the version a pull replaced at " << FormatUtcSeconds(from_replaced_ms) << " ("
        << Printable(from_version) << ")\n  to " << Printable(written_to) << ": " << bytes
        << " bytes\n";
    if (in_vault) out << "  the next push publishes it like any new file\n";
    return out.str();
  }
  out << "restored " << Printable(path) << " (" << kind << ") as it was in seq " << from_seq << " "
      << Short(from_snapshot_id) << " (" << FormatUtcSeconds(from_created_ms) << ")";
  if (from_seq != seq) out << ", the last version before seq " << seq;
  out << "\n  to " << Printable(written_to) << ": " << files << " file(s), " << dirs
      << " dir(s), " << symlinks << " symlink(s), " << bytes << " bytes\n";
  if (in_vault) out << "  the next push publishes it like any new file\n";
  for (const std::string& w : warnings) out << "warning: " << Printable(w) << "\n";
  return out.str();
}

json DiffReport::ToJson() const {
  return {{"added", added},
          {"added_count", added_count},
          {"deleted", deleted},
          {"deleted_count", deleted_count},
          {"from_seq", from_seq},
          {"from_snapshot_id", from_snapshot_id},
          {"modified", modified},
          {"modified_count", modified_count},
          {"to_seq", to_seq},
          {"to_snapshot_id", to_snapshot_id},
          {"warnings", warnings}};
}

std::string DiffReport::ToHuman() const {
  std::ostringstream out;
  out << "seq " << from_seq << " " << Short(from_snapshot_id) << " -> seq " << to_seq << " "
      << Short(to_snapshot_id) << ": " << added_count << " added, " << modified_count
      << " modified, " << deleted_count << " deleted\n";
  for (const auto& [mark, list] :
       {std::pair{'+', &added}, std::pair{'~', &modified}, std::pair{'-', &deleted}}) {
    for (const std::string& p : *list) out << mark << " " << Printable(p) << "\n";
  }
  const std::uint64_t shown = added.size() + modified.size() + deleted.size();
  const std::uint64_t total = added_count + modified_count + deleted_count;
  if (shown < total) out << "(" << total - shown << " more not listed)\n";
  for (const std::string& w : warnings) out << "warning: " << Printable(w) << "\n";
  return out.str();
}

}  // namespace hx
