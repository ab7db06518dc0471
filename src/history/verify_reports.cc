// Rendering of the verify and repair reports (verify.h): canonical JSON and
// text, every store- or user-chosen string through Printable.
#include <cstdio>
#include <sstream>

#include "base/printable.h"
#include "history/verify.h"

namespace hx {
namespace {

using nlohmann::json;

json ErrorJson(const std::optional<Error>& error) {
  return error ? json::parse(error->ToJson()) : json(nullptr);
}

// Percent as canonical JSON allows (integers only): per ten thousand.
std::uint64_t Basis(double percent) { return static_cast<std::uint64_t>(percent * 100 + 0.5); }

std::string PercentText(double percent) {
  char out[32];
  std::snprintf(out, sizeof(out), "%g", percent);
  return out;
}

}  // namespace

json VerifyReport::ToJson() const {
  json objects = json::array();
  for (const DamagedObject& o : damaged_objects) {
    objects.push_back({{"blob", o.blob},
                       {"kind", o.kind},
                       {"message", o.message},
                       {"object", o.object},
                       {"path_count", o.path_count},
                       {"paths", o.paths},
                       {"problem", o.problem},
                       {"repaired", o.repaired},
                       {"seqs", o.seqs},
                       {"snapshot_count", o.snapshot_count}});
  }
  json snapshots = json::array();
  for (const DamagedSnapshot& d : damaged_snapshots) {
    snapshots.push_back({{"message", d.message}, {"problem", d.problem},
                         {"snapshot_id", d.snapshot_id}});
  }
  return {{"affected_path_count", affected_path_count},
          {"affected_paths", affected_paths},
          {"bytes_read", bytes_read},
          {"chunks_read", chunks_read},
          {"chunks_referenced", chunks_referenced},
          {"damaged_objects", std::move(objects)},
          {"damaged_snapshots", std::move(snapshots)},
          {"error", ErrorJson(error)},
          {"ok", !damaged()},
          {"packs_listed", packs_listed},
          {"packs_unreferenced", packs_unreferenced},
          {"bytes_unreferenced", bytes_unreferenced},
          {"garbage_bytes_in_live_packs", garbage_bytes_in_live_packs},
          {"read_data", read_data},
          {"read_data_basis_points", Basis(percent)},
          {"requests", requests},
          {"seed", seed},
          {"snapshots_checked", snapshots_checked},
          {"snapshots_forgotten", snapshots_forgotten},
          {"target", target},
          {"trees_checked", trees_checked}};
}

std::string VerifyReport::ToHuman() const {
  std::ostringstream out;
  out << "checked " << snapshots_checked << " snapshot(s), " << trees_checked << " tree(s), "
      << chunks_referenced << " chunk(s) in " << packs_listed << " pack(s) at "
      << Printable(target) << "\n";
  if (packs_unreferenced > 0 || garbage_bytes_in_live_packs > 0) {
    out << "not referenced by a retained snapshot: " << packs_unreferenced << " pack(s), "
        << bytes_unreferenced << " bytes; " << garbage_bytes_in_live_packs
        << " bytes inside packs still in use\n";
  }
  out << "requests:";
  for (const auto& [op, n] : requests) out << " " << op << "=" << n;
  out << "\n";
  if (read_data) {
    out << "read " << chunks_read << " chunk(s) (" << bytes_read << " bytes): "
        << PercentText(percent) << "% with seed " << seed << " (repeat with --read-data="
        << PercentText(percent) << " --seed " << seed << ")\n";
  }
  for (const DamagedSnapshot& d : damaged_snapshots) {
    out << "snapshot " << d.snapshot_id.substr(0, 16) << ": " << d.problem << ": "
        << Printable(d.message) << "\n";
  }
  for (const DamagedObject& o : damaged_objects) {
    out << o.kind << " " << o.object.substr(0, 16) << ": " << o.problem
        << (o.repaired ? " (repaired)" : "");
    if (!o.blob.empty()) out << " in pack " << o.blob.substr(0, 16);
    out << "\n";
    for (const std::string& path : o.paths) out << "  " << Printable(path) << "\n";
    if (o.path_count > o.paths.size()) {
      out << "  (" << o.path_count - o.paths.size() << " more path(s))\n";
    }
    if (!o.seqs.empty()) {
      out << "  in " << o.snapshot_count << " snapshot(s), newest seq " << o.seqs.front() << "\n";
    }
  }
  if (!damaged()) out << "no damage found\n";
  return out.str();
}

json ObjectRepairReport::ToJson() const {
  return {{"error", ErrorJson(error)},
          {"found", found.ToJson()},
          {"objects_repaired", objects_repaired},
          {"packs_written", packs_written},
          {"repaired_paths", repaired_paths},
          {"unrepairable_path_count", unrepairable_path_count},
          {"unrepairable_paths", unrepairable_paths}};
}

std::string ObjectRepairReport::ToHuman() const {
  std::ostringstream out;
  if (!found.damaged()) {
    out << "objects: no damage found (" << found.chunks_referenced << " chunk(s), "
        << found.trees_checked << " tree(s)" << (found.read_data ? ", data read" : "")
        << ")\n";
    return out.str();
  }
  out << found.ToHuman();
  out << "objects: repaired " << objects_repaired << " in " << packs_written << " pack(s)\n";
  for (const std::string& path : repaired_paths) out << "  repaired: " << Printable(path) << "\n";
  for (const std::string& path : unrepairable_paths) {
    out << "  cannot repair: " << Printable(path) << "\n";
  }
  return out.str();
}

json FullRepairReport::ToJson() const {
  json out = records.ToJson();
  out["objects"] = objects.ToJson();
  return out;
}

std::string FullRepairReport::ToHuman() const { return records.ToHuman() + objects.ToHuman(); }

}  // namespace hx
