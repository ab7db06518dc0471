#include "versions/versions.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>

#include <fcntl.h>
#include <sys/stat.h>

namespace hx {
namespace {

constexpr std::int64_t kSecondMs = 1000;
constexpr std::int64_t kHourMs = 3600 * kSecondMs;
constexpr std::int64_t kDayMs = 24 * kHourMs;

// Days since 1970-01-01 -> civil date (H. Hinnant's algorithm), and back.
void CivilFromDays(std::int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(year + (*m <= 2));
}

std::int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "YYYYMMDD-HHMMSS" (UTC).
std::string Stamp(std::int64_t ms) {
  const std::int64_t s = (ms >= 0 ? ms : 0) / kSecondMs;
  const std::int64_t days = s / 86400;
  const std::int64_t rest = s % 86400;
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char out[32];
  std::snprintf(out, sizeof(out), "%04d%02u%02u-%02d%02d%02d", y, m, d,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  return out;
}

std::optional<std::int64_t> ParseStamp(std::string_view t) {
  if (t.size() != 15 || t[8] != '-') return std::nullopt;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i != 8 && (t[i] < '0' || t[i] > '9')) return std::nullopt;
  }
  const auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  const int y = num(0, 4), mo = num(4, 2), d = num(6, 2);
  const int h = num(9, 2), mi = num(11, 2), s = num(13, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const std::int64_t days =
      DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400) + h * 3600 + mi * 60 + s) * kSecondMs;
}

// The last ".xyz" of a leaf name (none for a name starting with its only
// dot): where the stamp goes before it.
std::size_t ExtAt(std::string_view leaf) {
  const std::size_t dot = leaf.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? leaf.size() : dot;
}

std::string Join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

// Every version under the directory `dir_rel` (vault-relative, under the
// cache), recursively; `path_dir` is the vault directory it mirrors.
Status Walk(const VaultDir& vault, const std::string& dir_rel, const std::string& path_dir,
            std::vector<StoredVersion>* out) {
  HX_ASSIGN_OR_RETURN(Fd dir, vault.OpenDir(dir_rel, VaultArea::kState, /*create=*/false));
  Env& env = vault.env();
  std::vector<DirEntry> entries;
  if (const int err = env.ReadDir(dir.get(), &entries); err != 0) {
    return vault.PathError("cannot list", dir_rel, err);
  }
  for (const DirEntry& e : entries) {
    if (e.name == "." || e.name == "..") continue;
    struct stat st;
    if (const int err = env.StatAt(dir.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW); err != 0) {
      if (err == ENOENT) continue;
      return vault.PathError("cannot inspect", Join(dir_rel, e.name), err);
    }
    if (S_ISDIR(st.st_mode)) {
      HX_RETURN_IF_ERROR(Walk(vault, Join(dir_rel, e.name), Join(path_dir, e.name), out));
      continue;
    }
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    std::optional<VersionName> parsed = ParseVersionName(e.name);
    if (!parsed) continue;
    out->push_back(StoredVersion{Join(path_dir, parsed->leaf), Join(dir_rel, e.name),
                                 parsed->time_ms, static_cast<std::uint64_t>(st.st_size),
                                 S_ISLNK(st.st_mode)});
  }
  return OkStatus();
}

// Removes the version at `rel` (a file or symlink in the cache).
Status RemoveVersion(const VaultDir& vault, const std::string& rel) {
  HX_ASSIGN_OR_RETURN(VaultSlot slot, vault.OpenParent(rel, VaultArea::kState, false));
  if (const int err = vault.env().UnlinkAt(slot.dir.get(), slot.name.c_str(), 0);
      err != 0 && err != ENOENT) {
    return vault.PathError("cannot remove the old version", rel, err);
  }
  return OkStatus();
}

// Removes the empty directories under the cache (best effort: a directory
// that is not empty, or cannot be removed, stays). Returns whether `rel`
// itself was removed.
bool PruneEmptyDirs(const VaultDir& vault, const std::string& rel, bool remove_self) {
  Result<Fd> dir = vault.OpenDir(rel, VaultArea::kState, false);
  if (!dir.ok()) return false;
  Env& env = vault.env();
  std::vector<DirEntry> entries;
  if (env.ReadDir(dir->get(), &entries) != 0) return false;
  for (const DirEntry& e : entries) {
    if (e.name == "." || e.name == "..") continue;
    struct stat st;
    if (env.StatAt(dir->get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode) && PruneEmptyDirs(vault, Join(rel, e.name), true)) {
      (void)env.UnlinkAt(dir->get(), e.name.c_str(), AT_REMOVEDIR);
    }
  }
  if (!remove_self) return false;
  entries.clear();
  return env.ReadDir(dir->get(), &entries) == 0 &&
         std::none_of(entries.begin(), entries.end(),
                      [](const DirEntry& e) { return e.name != "." && e.name != ".."; });
}

// The thinning slot width for a version `age_ms` old (0: too old, remove).
std::int64_t SlotWidth(std::int64_t age_ms) {
  if (age_ms < kHourMs) return 30 * kSecondMs;
  if (age_ms < kDayMs) return kHourMs;
  if (age_ms < kVersionsMaxAgeMs) return kDayMs;
  return 0;
}

}  // namespace

std::string VersionRel(std::string_view path, std::int64_t now_ms) {
  const std::size_t slash = path.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash + 1);
  const std::string_view leaf = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t ext = ExtAt(leaf);
  std::string out(kVersionsRel);
  out += "/";
  out += dir;
  out += leaf.substr(0, ext);
  out += "~" + Stamp(now_ms);
  out += leaf.substr(ext);
  return out;
}

std::optional<VersionName> ParseVersionName(std::string_view name) {
  // A ".~N~" variant suffix.
  if (name.size() > 4 && name.ends_with('~')) {
    const std::size_t mark = name.rfind(".~", name.size() - 2);
    if (mark != std::string_view::npos && mark + 2 < name.size() - 1 &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(mark + 2), name.end() - 1,
                    [](char c) { return c >= '0' && c <= '9'; })) {
      name = name.substr(0, mark);
    }
  }
  // "<stem>~<stamp><ext>": the stamp is the 15 characters after the last
  // '~' that is followed by a valid stamp and then the extension.
  for (std::size_t tilde = name.rfind('~'); tilde != std::string_view::npos && tilde > 0;
       tilde = tilde == 0 ? std::string_view::npos : name.rfind('~', tilde - 1)) {
    if (tilde + 16 > name.size()) continue;
    std::optional<std::int64_t> t = ParseStamp(name.substr(tilde + 1, 15));
    if (!t) continue;
    const std::string_view stem = name.substr(0, tilde);
    const std::string_view ext = name.substr(tilde + 16);
    if (!ext.empty() && (ext[0] != '.' || ext.find('.', 1) != std::string_view::npos)) continue;
    std::string leaf(stem);
    leaf += ext;
    if (ExtAt(leaf) != stem.size()) continue;  // not where VersionRel puts it
    return VersionName{std::move(leaf), *t};
  }
  return std::nullopt;
}

Result<std::vector<StoredVersion>> ListVersions(const VaultDir& vault,
                                                std::optional<std::string_view> path) {
  std::vector<StoredVersion> out;
  HX_ASSIGN_OR_RETURN(std::optional<struct stat> there,
                      vault.Lstat(kVersionsRel, VaultArea::kState));
  if (!there) return out;
  if (S_ISLNK(there->st_mode) || !S_ISDIR(there->st_mode)) {
    return Error(SyncCode::kApplyFailed, Category::kConflict,
                 vault.Full(kVersionsRel).string() +
                     " is not a directory (a symlink?); hx never follows one: move it away")
        .With("path", vault.Full(kVersionsRel).string());
  }
  HX_RETURN_IF_ERROR(Walk(vault, std::string(kVersionsRel), "", &out));
  if (path) std::erase_if(out, [&](const StoredVersion& v) { return v.path != *path; });
  std::sort(out.begin(), out.end(), [](const StoredVersion& a, const StoredVersion& b) {
    if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
    if (a.path != b.path) return a.path < b.path;
    return a.rel > b.rel;  // ".~2~" after the first of its second
  });
  return out;
}

Result<ThinReport> ThinVersions(const VaultDir& vault, const VersionsPolicy& policy,
                                std::int64_t now_ms) {
  HX_ASSIGN_OR_RETURN(std::vector<StoredVersion> all, ListVersions(vault));
  ThinReport report;
  // Newest first: per path, the first version of each slot is kept.
  std::map<std::string, std::vector<std::int64_t>> slots_taken;
  std::vector<const StoredVersion*> kept;
  std::vector<const StoredVersion*> gone;
  for (const StoredVersion& v : all) {
    const std::int64_t age = std::max<std::int64_t>(0, now_ms - v.time_ms);
    const std::int64_t width = SlotWidth(age);
    bool keep = width != 0 && policy.max_bytes != 0;
    if (keep) {
      // Slots are counted back from now, so a version keeps its slot as
      // time passes within one width.
      const std::int64_t slot = (age / width) * width + width;  // unique across widths
      std::vector<std::int64_t>& taken = slots_taken[v.path];
      if (std::find(taken.begin(), taken.end(), slot) != taken.end()) {
        keep = false;
      } else {
        taken.push_back(slot);
      }
    }
    (keep ? kept : gone).push_back(&v);
  }
  // The cap: the oldest go first (kept is newest first).
  std::uint64_t total = 0;
  for (const StoredVersion* v : kept) total += v->size;
  while (!kept.empty() && total > policy.max_bytes) {
    total -= kept.back()->size;
    gone.push_back(kept.back());
    kept.pop_back();
  }
  for (const StoredVersion* v : gone) {
    HX_RETURN_IF_ERROR(RemoveVersion(vault, v->rel));
    ++report.removed;
    report.bytes_removed += v->size;
  }
  report.kept = kept.size();
  report.bytes_kept = total;
  if (!gone.empty()) (void)PruneEmptyDirs(vault, std::string(kVersionsRel), false);
  return report;
}

}  // namespace hx
