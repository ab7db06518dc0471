// hx diag bundle (see bundle.h).
#include "diag/bundle.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <zstd.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>
#include <unordered_set>

#include "base/hex.h"
#include "base/printable.h"
#include "compress/zstd.h"
#include "crypto/secret.h"
#include "diag/ustar.h"
#include "hash/blake3.h"
#include "json/canonical_json.h"
#include "sync/local_state.h"
#include "sync/session.h"

namespace hx::diag {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kRoot = "hx-diag/";
// The most paths of the base the name scrubber learns (a bigger vault's
// remaining names are still hashed where they sit under a path key).
constexpr std::size_t kMaxKnownNames = 1'000'000;

// Reads at most the last `max` bytes of `file` through `env`. nullopt if it
// cannot be opened or read; `cut` says whether bytes before were left out.
std::optional<std::string> ReadTail(Env& env, const fs::path& file, std::size_t max, bool& cut) {
  int raw = -1;
  cut = false;
  if (env.Open(AT_FDCWD, file.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw) != 0) return std::nullopt;
  Fd fd(env, raw);
  struct stat st {};
  if (env.Fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t from = size > max ? size - max : 0;
  cut = from > 0;
  std::string out(static_cast<std::size_t>(size - from), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    std::size_t got = 0;
    if (env.PRead(fd.get(), out.data() + done, out.size() - done, from + done, &got) != 0) {
      return std::nullopt;
    }
    if (got == 0) break;
    done += got;
  }
  out.resize(done);
  return out;
}

bool IsNameByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '.' || c == '_' || c == '-' || u >= 0x80;
}

// Replaces known names in text by their keyed hashes (see bundle.h).
class NameScrubber {
 public:
  NameScrubber(const Blake3Key& key, bool keep) : key_(key), keep_(keep) {}

  // A name that is hashed only whole (the vault folder's own path: its
  // components are ordinary words like "home" or "vault").
  void AddWhole(std::string_view name) {
    if (!keep_ && !name.empty()) Insert(name);
  }

  void Add(std::string_view path) {
    if (keep_ || path.empty() || names_.size() >= kMaxKnownNames) return;
    Insert(path);
    std::size_t start = 0;
    while (start < path.size()) {
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      const std::string_view part = path.substr(start, end - start);
      if (part.size() >= 4 || part.find('.') != std::string_view::npos) Insert(part);
      start = end + 1;
    }
  }

  std::string Hash(std::string_view name) const {
    if (keep_) return std::string(name);
    const Blake3Digest d = Blake3KeyedHash(
        key_, std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
    return "name:" + ToHex(std::span(d.data(), 8));
  }

  // Every known name that stands between non-name bytes (or the ends) is
  // replaced, the longest first at each position.
  std::string Scrub(std::string_view text) const {
    if (keep_ || names_.empty()) return std::string(text);
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    std::vector<std::size_t> ends;
    while (i < text.size()) {
      bool replaced = false;
      if (IsNameByte(text[i]) && (i == 0 || !IsNameByte(text[i - 1]))) {
        ends.clear();
        const std::size_t limit = std::min(text.size(), i + max_len_);
        for (std::size_t j = i + 1; j <= limit; ++j) {
          if (j == text.size() || !IsNameByte(text[j])) ends.push_back(j);
        }
        for (auto e = ends.rbegin(); e != ends.rend(); ++e) {
          const std::string_view candidate = text.substr(i, *e - i);
          if (names_.count(std::string(candidate)) != 0) {
            out += Hash(candidate);
            i = *e;
            replaced = true;
            break;
          }
        }
      }
      if (!replaced) out.push_back(text[i++]);
    }
    return out;
  }

  // A JSON value with every string scrubbed and the values under path keys
  // hashed whole.
  json Redact(const json& value, bool path_value = false) const {
    if (value.is_string()) {
      const std::string& s = value.get_ref<const std::string&>();
      return path_value ? json(Hash(s)) : json(Scrub(s));
    }
    if (value.is_array()) {
      json out = json::array();
      for (const json& v : value) out.push_back(Redact(v, path_value));
      return out;
    }
    if (value.is_object()) {
      json out = json::object();
      for (const auto& [k, v] : value.items()) {
        const bool is_path = kPathKeys.count(k) != 0;
        out[Scrub(k)] = Redact(v, is_path);
      }
      return out;
    }
    return value;
  }

 private:
  void Insert(std::string_view name) {
    names_.insert(std::string(name));
    max_len_ = std::max(max_len_, name.size());
  }

  inline static const std::set<std::string> kPathKeys = {
      "path", "paths", "renamed_to", "archived", "first_path", "vault_path", "local_artifact",
      "file", "scan_issues"};
  Blake3Key key_;
  bool keep_;
  std::unordered_set<std::string> names_;
  std::size_t max_len_ = 0;
};

std::string Dump(const json& j) { return j.dump(2) + "\n"; }

// Table row counts, integrity_check, schema facts, and the base's paths
// (for the scrubber), read through a read-only connection.
json IndexHealth(const fs::path& file, NameScrubber& names) {
  json out = {{"file_exists", false}};
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return out;
  out["file_exists"] = true;
  out["file_bytes"] = static_cast<std::uint64_t>(st.st_size);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    out["open_error"] = db != nullptr ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
  const auto query = [&](const std::string& sql, const std::function<void(sqlite3_stmt*)>& row,
                         std::size_t max_rows) -> std::string {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return sqlite3_errmsg(db);
    }
    std::size_t rows = 0;
    int rc = SQLITE_ROW;
    while (rows < max_rows && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      row(stmt);
      ++rows;
    }
    std::string error = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? "" : sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    return error;
  };
  const auto text = [](sqlite3_stmt* s, int col) {
    const unsigned char* t = sqlite3_column_text(s, col);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  };
  std::vector<std::string> tables;
  json errors = json::array();
  if (std::string e = query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name",
                            [&](sqlite3_stmt* s) { tables.push_back(text(s, 0)); }, 1000);
      !e.empty()) {
    errors.push_back(e);
  }
  json counts = json::object();
  for (const std::string& table : tables) {
    std::string quoted = "\"";
    for (char c : table) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    quoted += "\"";
    if (std::string e = query("SELECT count(*) FROM " + quoted,
                              [&](sqlite3_stmt* s) { counts[table] = sqlite3_column_int64(s, 0); }, 1);
        !e.empty()) {
      errors.push_back(table + ": " + e);
    }
  }
  out["row_counts"] = counts;
  json integrity = json::array();
  if (std::string e = query("PRAGMA integrity_check(" + std::to_string(kMaxIntegrityRows) + ")",
                            [&](sqlite3_stmt* s) { integrity.push_back(text(s, 0)); },
                            kMaxIntegrityRows);
      !e.empty()) {
    errors.push_back("integrity_check: " + e);
  }
  out["integrity_check"] = integrity;
  for (const char* pragma : {"user_version", "page_count", "page_size", "freelist_count",
                             "journal_mode"}) {
    (void)query(std::string("PRAGMA ") + pragma, [&](sqlite3_stmt* s) {
      out[pragma] = sqlite3_column_type(s, 0) == SQLITE_INTEGER ? json(sqlite3_column_int64(s, 0))
                                                                 : json(text(s, 0));
    }, 1);
  }
  if (std::find(tables.begin(), tables.end(), "base") != tables.end()) {
    (void)query("SELECT path FROM base", [&](sqlite3_stmt* s) { names.Add(text(s, 0)); },
                kMaxKnownNames);
  }
  out["errors"] = errors;
  sqlite3_close(db);
  return out;
}

// The reports of .hx/reports/, newest first (by the ms in their names).
std::vector<std::string> NewestReports(Env& env, const fs::path& dir) {
  std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, std::string>> found;
  int raw = -1;
  if (env.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY, 0, &raw) != 0) return {};
  Fd fd(env, raw);
  std::vector<DirEntry> entries;
  if (env.ReadDir(fd.get(), &entries) != 0) return {};
  for (const DirEntry& e : entries) {
    if (!e.name.ends_with(".json")) continue;
    const std::size_t us = e.name.find('_');
    if (us == std::string::npos) continue;
    const std::string stem = e.name.substr(us + 1, e.name.size() - us - 6);
    std::int64_t ms = 0;
    std::int64_t n = 0;
    const std::size_t dash = stem.find('-');
    const std::string ms_text = stem.substr(0, dash);
    if (std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), ms).ec != std::errc()) {
      continue;
    }
    if (dash != std::string::npos) {
      const std::string n_text = stem.substr(dash + 1);
      (void)std::from_chars(n_text.data(), n_text.data() + n_text.size(), n);
    }
    found.push_back({{ms, n}, e.name});
  }
  std::sort(found.begin(), found.end(), std::greater<>());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < found.size() && i < kMaxReports; ++i) out.push_back(found[i].second);
  return out;
}

void ReplaceAll(std::string& s, std::string_view what, std::string_view with) {
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

}  // namespace

Result<BundleReport> WriteBundle(const fs::path& vault, const SyncOptions& given,
                                 const BundleOptions& bundle, const fs::path& output) {
  SyncOptions options = given;
  options.read_only = true;
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  Clock* clock = options.clock != nullptr ? options.clock : &env.clock();
  const fs::path hx_dir = vault / ".hx";

  bool cut = false;
  std::optional<std::string> config_bytes = ReadTail(env, hx_dir / "config.json", 1 << 20, cut);
  if (!config_bytes || cut) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 vault.string() + " is not a vault (no readable .hx/config.json); run hx sync "
                                  "init, or give the vault folder")
        .With("path", (hx_dir / "config.json").string());
  }
  Result<LocalConfig> config = ParseLocalConfig(*config_bytes);

  Blake3Key key{};
  if (bundle.random) {
    bundle.random(key);
  } else {
    RandomBytes(key);
  }
  NameScrubber names(key, bundle.include_names);

  std::vector<TarMember> members;
  json manifest_members = json::array();
  json skipped = json::array();
  const std::int64_t mtime_s = options.now_ms / 1000;
  const auto add = [&](std::string name, std::string bytes, std::string what) {
    members.push_back({std::string(kRoot) + name, std::move(bytes), mtime_s, 0644});
    manifest_members.push_back({{"name", members.back().name}, {"what", std::move(what)}});
  };

  // Versions.
  add("versions.json",
      Dump({{"hx", bundle.hx_version},
            {"zstd", ZSTD_versionString()},
            {"sqlite", sqlite3_libversion()},
            {"openssl", OpenSSL_version(OPENSSL_VERSION)},
            {"libsodium", sodium_version_string()},
            {"compiler", __VERSION__}}),
      "hx and library versions");

  // The config, through an allow-list.
  json config_json;
  if (config.ok()) {
    config_json = {{"node_id", config->node_id},
                   {"vault_id", config->vault_id},
                   {"target_uri", config->target_uri},
                   {"s3_endpoint", config->target_options.endpoint},
                   {"s3_path_style", config->target_options.path_style},
                   {"s3_region", config->target_options.region},
                   {"mass_delete_max_share_pct", config->mass_delete_max_share_pct},
                   {"default_merge_policy", std::string(MergePolicyName(config->default_merge_policy))}};
  } else {
    config_json = {{"error", config.error().message}};
  }
  config_json["key_cached"] = ::access((hx_dir / "key").c_str(), F_OK) == 0;

  // The index first: its base paths teach the scrubber the vault's names.
  json index = IndexHealth(hx_dir / "index.sqlite", names);

  // Status (it scans: its changed paths and issues are names too).
  json status;
  Result<StatusReport> st = SyncStatus(vault, options);
  if (st.ok()) {
    for (const std::string& p : st->local_changes.paths) names.Add(p);
    for (const std::string& issue : st->scan_issues) names.Add(issue.substr(0, issue.find(": ")));
    status = st->ToJson();
  } else {
    status = {{"error", json::parse(st.error().ToJson(), nullptr, false)}};
    if (auto p = st.error().details.find("path"); p != st.error().details.end()) {
      names.Add(p->second);
    }
  }
  names.AddWhole(vault.string());
  add("config.json", Dump(names.Redact(config_json)), ".hx/config.json (allow-listed fields)");
  add("status.json", Dump(names.Redact(status)), "hx sync status, or its error");

  // The store: what it is and can do (no request is made).
  json store_json;
  if (config.ok()) {
    Result<Target> target = ResolveTarget(*config, options);
    Result<std::unique_ptr<Store>> store =
        target.ok() ? OpenStore(*target, env, clock) : Result<std::unique_ptr<Store>>(target.error());
    if (store.ok()) {
      const StoreCapabilities& caps = (*store)->capabilities();
      store_json = {{"describe", (*store)->Describe()},
                    {"capabilities",
                     {{"atomic_create", caps.atomic_create},
                      {"atomic_compare_and_swap", caps.atomic_compare_and_swap},
                      {"ranged_reads", caps.ranged_reads}}}};
    } else {
      store_json = {{"error", json::parse(store.error().ToJson(), nullptr, false)}};
    }
  }
  add("store.json", Dump(names.Redact(store_json)), "the store's Describe() and capabilities");
  add("index.json", Dump(names.Redact(index)),
      "the index: row counts, PRAGMA integrity_check, schema facts");

  // The newest reports.
  for (const std::string& name : NewestReports(env, hx_dir / "reports")) {
    std::optional<std::string> bytes = ReadTail(env, hx_dir / "reports" / name, kMaxReportBytes, cut);
    if (!bytes || cut) {
      skipped.push_back({{"what", "report"}, {"name", name}, {"why", "unreadable or too large"}});
      continue;
    }
    json report = json::parse(*bytes, nullptr, false);
    add("reports/" + names.Scrub(name),
        report.is_discarded() ? names.Scrub(*bytes) : Dump(names.Redact(report)),
        "a report of .hx/reports/");
  }

  // Log tails: the files given, and .hx/logs/ if it exists.
  std::vector<fs::path> logs = bundle.log_files;
  {
    int raw = -1;
    if (env.Open(AT_FDCWD, (hx_dir / "logs").c_str(), O_RDONLY | O_DIRECTORY, 0, &raw) == 0) {
      Fd fd(env, raw);
      std::vector<DirEntry> entries;
      if (env.ReadDir(fd.get(), &entries) == 0) {
        std::sort(entries.begin(), entries.end(),
                  [](const DirEntry& a, const DirEntry& b) { return a.name > b.name; });
        for (const DirEntry& e : entries) {
          if (e.name != "." && e.name != "..") logs.push_back(hx_dir / "logs" / e.name);
        }
      }
    }
  }
  std::size_t log_n = 0;
  for (const fs::path& log : logs) {
    if (log_n == kMaxLogFiles) {
      skipped.push_back({{"what", "log"}, {"why", "more than " + std::to_string(kMaxLogFiles) + " logs"}});
      break;
    }
    std::optional<std::string> tail = ReadTail(env, log, kMaxLogTailBytes, cut);
    if (!tail) {
      skipped.push_back({{"what", "log"}, {"name", names.Hash(log.string())}, {"why", "unreadable"}});
      continue;
    }
    if (cut) {  // drop the line the cut went through
      const std::size_t nl = tail->find('\n');
      tail->erase(0, nl == std::string::npos ? tail->size() : nl + 1);
    }
    std::string out;
    std::size_t start = 0;
    while (start < tail->size()) {
      std::size_t end = tail->find('\n', start);
      if (end == std::string::npos) end = tail->size();
      const std::string_view line(tail->data() + start, end - start);
      json j = json::parse(line, nullptr, false);
      out += j.is_discarded() ? names.Scrub(line) : names.Redact(j).dump();
      out += "\n";
      start = end + 1;
    }
    ++log_n;
    add("logs/log-" + std::to_string(log_n) + ".jsonl", std::move(out),
        "the last " + std::to_string(kMaxLogTailBytes) + " bytes (at most) of a log file" +
            std::string(cut ? ", cut" : ""));
  }

  // Secrets the caller knows never appear, whatever carried them.
  for (TarMember& m : members) {
    for (const std::string& secret : bundle.secrets) {
      if (secret.size() >= 4) ReplaceAll(m.bytes, secret, "<redacted>");
    }
  }
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Blake3Digest d = Blake3Hash(members[i].bytes);
    manifest_members[i]["bytes"] = members[i].bytes.size();
    manifest_members[i]["blake3"] = ToHex(d);
  }
  json manifest = {
      {"format", "hx diag bundle 1"},
      {"created_ms", options.now_ms},
      {"hx", bundle.hx_version},
      {"names",
       bundle.include_names
           ? json{{"hashed", false}}
           : json{{"hashed", true},
                  {"scheme", "name:<16 hex> = the first 8 bytes of BLAKE3 keyed with a random key "
                             "made for this bundle (not in it)"}}},
      {"bounds",
       {{"log_tail_bytes", kMaxLogTailBytes},
        {"log_files", kMaxLogFiles},
        {"reports", kMaxReports},
        {"report_bytes", kMaxReportBytes},
        {"integrity_rows", kMaxIntegrityRows}}},
      {"never_included", {".hx/key", "the store's vault.json", "passphrases", "file contents"}},
      {"members", manifest_members},
      {"skipped", skipped}};
  members.insert(members.begin(), {std::string(kRoot) + "manifest.json", Dump(manifest), mtime_s, 0644});

  HX_ASSIGN_OR_RETURN(const std::string tar, WriteUstar(members));
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> zst,
                      ZstdCompress(std::span(reinterpret_cast<const std::uint8_t*>(tar.data()),
                                             tar.size()),
                                   3));
  HX_RETURN_IF_ERROR(LocalState::WriteFileAtomic(
      env, output, std::string_view(reinterpret_cast<const char*>(zst.data()), zst.size()), 0600));
  BundleReport report;
  report.output = output.string();
  report.bytes = zst.size();
  report.names_hashed = !bundle.include_names;
  for (const TarMember& m : members) report.members.push_back(m.name);
  return report;
}

json BundleReport::ToJson() const {
  return {{"bytes", bytes}, {"members", members}, {"names_hashed", names_hashed},
          {"output", output}};
}

std::string BundleReport::ToHuman() const {
  std::ostringstream out;
  out << "wrote " << Printable(output) << " (" << bytes << " bytes, " << members.size()
      << " members; file names " << (names_hashed ? "hashed" : "included") << ")\n";
  return out.str();
}

}  // namespace hx::diag
