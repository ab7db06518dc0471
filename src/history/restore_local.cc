// hx sync versions (history.h): what this device's history cache
// (.hx/versions/, versions/versions.h) holds, read from the vault folder
// alone — offline, without the store or a passphrase. hx sync restore
// --local (restore.cc) brings one of them back.
#include <sstream>

#include "base/printable.h"
#include "base/utc_time.h"
#include "history/history.h"
#include "history/reader.h"
#include "os/vault_dir.h"
#include "sync/local_state.h"

namespace hx {

Result<VersionsReport> SyncVersions(const std::filesystem::path& vault, const std::string& path) {
  if (!path.empty()) HX_RETURN_IF_ERROR(CheckUserPath(path));
  HX_ASSIGN_OR_RETURN(LocalState local, LocalState::Open(vault));
  HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(Env::Default(), local.vault()));
  VersionsReport report;
  report.path = path;
  report.max_bytes = local.config().versions_max_bytes;
  HX_ASSIGN_OR_RETURN(report.versions,
                      ListVersions(dir, path.empty() ? std::nullopt
                                                     : std::optional<std::string_view>(path)));
  for (const StoredVersion& v : report.versions) report.bytes += v.size;
  return report;
}

nlohmann::json VersionsReport::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const StoredVersion& v : versions) {
    list.push_back({{"kind", v.symlink ? "symlink" : "file"},
                    {"path", v.path},
                    {"replaced_ms", v.time_ms},
                    {"size", v.size},
                    {"version", v.rel}});
  }
  return {{"bytes", bytes}, {"max_bytes", max_bytes}, {"path", path}, {"versions", list}};
}

std::string VersionsReport::ToHuman() const {
  std::ostringstream out;
  for (const StoredVersion& v : versions) {
    out << FormatUtcSeconds(v.time_ms) << "  " << Printable(v.path) << "  "
        << (v.symlink ? "symlink" : std::to_string(v.size) + " bytes") << "  " << Printable(v.rel)
        << "\n";
  }
  out << versions.size() << " version(s), " << bytes << " bytes in this device's history cache";
  if (max_bytes == 0) {
    out << " (off: pulls keep nothing; hx sync config <vault> --versions-max-bytes N)";
  } else {
    out << " (at most " << max_bytes << " bytes)";
  }
  out << "\n";
  if (!versions.empty()) {
    out << "restore one beside the current file with: hx sync restore <vault> PATH --local "
           "[--at TIME]\n";
  }
  return out.str();
}

}  // namespace hx
