// Export, listing and diff of a folder's envelope items.
#include "envelope/folder.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/printable.h"
#include "base/os_error.h"
#include "hash/sha256.h"
#include "json/canonical_json.h"
#include "json/utf8.h"
#include "scan/ignore.h"
#include "sync/local_state.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

Error ItemIoError(const std::string& what, const fs::path& path, int err) {
  return Error(SyncCode::kStateFailed, CategoryOfErrno(err),
               what + " " + path.string() + ": " + std::strerror(err))
      .With("path", path.string());
}

// Opens `path` (absolute or relative to the working directory) through `env`.
int OpenAt(Env& env, const fs::path& path, int flags, Fd* out) {
  int raw = -1;
  const int err = env.Open(AT_FDCWD, path.c_str(), flags, 0, &raw);
  if (err == 0) *out = Fd(env, raw);
  return err;
}

std::int64_t MtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// One item found by the walk.
struct Found {
  std::string type;  // "file", "symlink", "directory"
  struct stat st {};
  std::string target;  // symlinks
};

// Every item of the folder, as sync sees it (see folder.h), by item_id.
Result<std::map<std::string, Found>> Walk(Env& env, const fs::path& vault) {
  struct stat root_st {};
  const int looked = env.StatAt(AT_FDCWD, vault.c_str(), &root_st, 0);
  // A folder that cannot be looked at is that error, never "does not exist".
  if (looked != 0 && looked != ENOENT && looked != ENOTDIR) {
    return ItemIoError("cannot inspect", vault, looked);
  }
  if (looked != 0 || !S_ISDIR(root_st.st_mode)) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 "the folder " + vault.string() + " does not exist")
        .With("path", vault.string());
  }
  HX_ASSIGN_OR_RETURN(IgnoreRules rules, LoadIgnoreFile(vault, -1, env));
  std::map<std::string, Found> found;
  std::vector<std::string> pending = {""};  // directories to list, vault-relative
  while (!pending.empty()) {
    const std::string dir_rel = std::move(pending.back());
    pending.pop_back();
    const fs::path dir = dir_rel.empty() ? vault : vault / dir_rel;
    Fd fd;
    if (const int err = OpenAt(env, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, &fd); err != 0) {
      if (err == ENOENT && !dir_rel.empty()) continue;  // vanished: simply absent
      return ItemIoError("cannot list", dir, err);
    }
    std::vector<DirEntry> entries;
    if (const int err = env.ReadDir(fd.get(), &entries); err != 0) {
      return ItemIoError("cannot list", dir, err);
    }
    for (const DirEntry& entry : entries) {
      const std::string rel = dir_rel.empty() ? entry.name : dir_rel + "/" + entry.name;
      Found f;
      if (const int err = env.StatAt(fd.get(), entry.name.c_str(), &f.st, AT_SYMLINK_NOFOLLOW);
          err != 0) {
        if (err == ENOENT) continue;  // vanished: simply absent
        return ItemIoError("cannot stat", vault / rel, err);
      }
      const bool is_dir = S_ISDIR(f.st.st_mode);
      if (rel == kStateDirName || !IsValidItemId(rel) || rules.Matches(rel, is_dir)) {
        continue;  // an ignored directory is not descended into
      }
      if (is_dir) {
        f.type = "directory";
        pending.push_back(rel);
      } else if (S_ISREG(f.st.st_mode)) {
        f.type = "file";
      } else if (S_ISLNK(f.st.st_mode)) {
        f.type = "symlink";
        if (const int err = env.ReadlinkAt(fd.get(), entry.name.c_str(), &f.target); err != 0) {
          return ItemIoError("cannot read the link", vault / rel, err);
        }
        if (f.target.empty() || FindInvalidUtf8(f.target)) continue;  // not syncable either
      } else {
        continue;  // sockets, FIFOs, devices
      }
      found.emplace(rel, std::move(f));
      if (found.size() > kMaxEnvelopeItems) {
        return InvalidInput(SyncCode::kInputInvalid,
                            "the folder holds more than " + std::to_string(kMaxEnvelopeItems) +
                                " items, the most an envelope carries; export a smaller folder");
      }
    }
  }
  return found;
}

// Reads a whole regular file of `size` bytes; a different size read is a
// change while reading.
Result<std::string> ReadItemFile(Env& env, const fs::path& path, std::uint64_t size) {
  Fd fd;
  if (const int err = OpenAt(env, path, O_RDONLY | O_NOFOLLOW, &fd); err != 0) {
    return ItemIoError("cannot open", path, err);
  }
  std::string data(size, '\0');
  std::size_t done = 0;
  char probe;
  bool grew = false;
  while (true) {
    std::size_t n = 0;
    const int err = done < size ? env.Read(fd.get(), data.data() + done, size - done, &n)
                                : env.Read(fd.get(), &probe, 1, &n);
    if (err != 0) return ItemIoError("cannot read", path, err);
    if (n == 0) break;
    if (done >= size) {
      grew = true;
      break;
    }
    done += n;
  }
  if (grew || done != size) {
    return Error(SyncCode::kStateFailed, Category::kAborted,
                 path.string() + " changed while it was read; run the command again")
        .With("path", path.string());
  }
  return data;
}

// "sha256:" of the canonical JSON {"data":"<base64>","executable":<bool>},
// streamed: base64 never needs JSON escaping, so the canonical bytes are
// the fixed prefix, the base64 of the file, and the fixed suffix.
Result<std::string> HashFileContent(Env& env, const fs::path& path, const struct stat& st) {
  Fd fd;
  if (const int err = OpenAt(env, path, O_RDONLY | O_NOFOLLOW, &fd); err != 0) {
    return ItemIoError("cannot open", path, err);
  }
  Sha256Hasher hasher;
  hasher.Update(std::string_view("{\"data\":\""));
  std::string block(3 * 65536, '\0');
  std::uint64_t total = 0;
  std::size_t have = 0;
  while (true) {
    std::size_t n = 0;
    if (const int err = env.Read(fd.get(), block.data() + have, block.size() - have, &n);
        err != 0) {
      return ItemIoError("cannot read", path, err);
    }
    have += n;
    total += n;
    if (n == 0 || have == block.size()) {
      hasher.Update(EncodeBase64(std::string_view(block.data(), have)));
      have = 0;
    }
    if (n == 0) break;
  }
  if (total != static_cast<std::uint64_t>(st.st_size)) {
    return Error(SyncCode::kStateFailed, Category::kAborted,
                 path.string() + " changed while it was read; run the command again")
        .With("path", path.string());
  }
  const bool executable = (st.st_mode & S_IXUSR) != 0;
  hasher.Update(
      std::string_view(executable ? "\",\"executable\":true}" : "\",\"executable\":false}"));
  return "sha256:" + ToHex(hasher.Finalize());
}

nlohmann::json SymlinkContent(const std::string& target) { return {{"target", target}}; }

}  // namespace

Result<Envelope> ExportFolder(const fs::path& vault, const ExportOptions& options) {
  Env& env = options.env != nullptr ? *options.env : Env::Default();
  HX_ASSIGN_OR_RETURN(auto found, Walk(env, vault));
  Envelope envelope;
  envelope.source.kind = "hx";
  envelope.source.app_version = options.app_version;
  envelope.source.device_id = "unlinked";
  HX_ASSIGN_OR_RETURN(const bool linked, LocalState::Exists(vault, env));
  if (linked) {
    // Only the config is read; no lock is needed to export. Unreadable: the
    // device stays "unlinked".
    Fd fd;
    std::string bytes;
    if (OpenAt(env, vault / kLocalDirName / "config.json", O_RDONLY, &fd) == 0 &&
        ReadAll(env, fd.get(), 64 << 10, &bytes) == 0) {
      Result<LocalConfig> config = ParseLocalConfig(bytes);
      if (config.ok()) envelope.source.device_id = config->node_id;
    }
  }
  envelope.exported_utc = FormatUtc(options.now_ms * 1'000'000);
  // A running estimate of the JSON size, to refuse before reading too much.
  std::uint64_t estimate = 256;
  const auto too_big = [&](std::uint64_t bytes) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the folder's envelope would be more than " + std::to_string(bytes >> 20) +
                            " MiB, above the limit of " + std::to_string(options.max_bytes >> 20) +
                            " MiB; export a smaller folder, or list large files in .hxignore")
        .With("limit_bytes", std::to_string(options.max_bytes));
  };
  for (auto& [id, f] : found) {
    EnvelopeItem item;
    item.item_type = f.type;
    item.item_id = id;
    item.updated_utc = FormatUtc(MtimeNs(f.st));
    estimate += 160 + 2 * id.size();
    if (f.type == "file") {
      estimate += (static_cast<std::uint64_t>(f.st.st_size) + 2) / 3 * 4;
      if (estimate > options.max_bytes) return too_big(estimate);
      HX_ASSIGN_OR_RETURN(std::string data,
                          ReadItemFile(env, vault / id, static_cast<std::uint64_t>(f.st.st_size)));
      item.content = {{"data", EncodeBase64(data)}, {"executable", (f.st.st_mode & S_IXUSR) != 0}};
    } else if (f.type == "symlink") {
      estimate += 2 * f.target.size();
      item.content = SymlinkContent(f.target);
    } else {
      item.content = nlohmann::json::object();
    }
    if (estimate > options.max_bytes) return too_big(estimate);
    HX_ASSIGN_OR_RETURN(item.content_hash, ContentHash(item.content));
    envelope.items.push_back(std::move(item));
  }
  return envelope;
}

Result<std::map<std::string, LocalItem>> ListFolderItems(const fs::path& vault, Env& env) {
  HX_ASSIGN_OR_RETURN(auto found, Walk(env, vault));
  std::map<std::string, LocalItem> items;
  for (const auto& [id, f] : found) {
    LocalItem item{f.type, id, FormatUtc(MtimeNs(f.st)), ""};
    if (f.type == "file") {
      HX_ASSIGN_OR_RETURN(item.content_hash, HashFileContent(env, vault / id, f.st));
    } else if (f.type == "symlink") {
      HX_ASSIGN_OR_RETURN(item.content_hash, ContentHash(SymlinkContent(f.target)));
    } else {
      HX_ASSIGN_OR_RETURN(item.content_hash, ContentHash(nlohmann::json::object()));
    }
    items.emplace(id, std::move(item));
  }
  return items;
}

std::string_view ClassifyEnvelopeItem(const EnvelopeItem& item, const LocalItem* local) {
  if (local == nullptr) return "new";
  if (local->item_type != item.item_type) return "changed";
  return local->content_hash == item.content_hash ? "unchanged" : "conflict";
}

Result<EnvelopeDiffReport> DiffEnvelope(const fs::path& vault, const Envelope& envelope,
                                        Env& env) {
  HX_ASSIGN_OR_RETURN(auto local, ListFolderItems(vault, env));
  EnvelopeDiffReport report = DiffEnvelopeItems(local, envelope);
  report.vault_path = vault.string();
  return report;
}

EnvelopeDiffReport DiffEnvelopeItems(const std::map<std::string, LocalItem>& local,
                                     const Envelope& envelope) {
  EnvelopeDiffReport report;
  report.schema_version = envelope.schema_version;
  report.source = envelope.source;
  report.exported_utc = envelope.exported_utc;
  std::set<std::string_view> in_envelope;
  for (const EnvelopeItem& item : envelope.items) {
    in_envelope.insert(item.item_id);
    auto l = local.find(item.item_id);
    const LocalItem* mine = l == local.end() ? nullptr : &l->second;
    EnvelopeDiffItem d{item.item_type, item.item_id, std::string(ClassifyEnvelopeItem(item, mine)),
                       std::nullopt,   std::nullopt, item.content_hash};
    if (mine) {
      d.local_item_type = mine->item_type;
      d.local_content_hash = mine->content_hash;
    }
    if (d.change == "new") ++report.new_items;
    if (d.change == "changed") ++report.changed;
    if (d.change == "unchanged") ++report.unchanged;
    if (d.change == "conflict") ++report.conflicts;
    report.items.push_back(std::move(d));
  }
  for (const auto& [id, item] : local) {
    if (in_envelope.count(id) == 0) report.local_only.push_back(id);
  }
  return report;
}

nlohmann::json EnvelopeDiffReport::ToJson() const {
  nlohmann::json items_json = nlohmann::json::array();
  for (const EnvelopeDiffItem& d : items) {
    items_json.push_back(
        {{"item_type", d.item_type},
         {"item_id", d.item_id},
         {"change", d.change},
         {"content_hash", d.content_hash},
         {"local_item_type", d.local_item_type ? nlohmann::json(*d.local_item_type) : nullptr},
         {"local_content_hash",
          d.local_content_hash ? nlohmann::json(*d.local_content_hash) : nullptr}});
  }
  return {{"report", "envelope_diff"},
          {"vault_path", vault_path},
          {"schema_version", schema_version},
          {"source",
           {{"kind", source.kind},
            {"app_version", source.app_version},
            {"device_id", source.device_id}}},
          {"exported_utc", exported_utc},
          {"items", std::move(items_json)},
          {"local_only", local_only},
          {"summary",
           {{"new", new_items},
            {"changed", changed},
            {"unchanged", unchanged},
            {"conflicts", conflicts},
            {"local_only", local_only.size()}}}};
}

std::string EnvelopeDiffReport::ToHuman() const {
  std::ostringstream out;
  out << "envelope from " << Printable(source.kind) << " " << Printable(source.device_id) << " ("
      << Printable(exported_utc) << ") against " << Printable(vault_path)
      << " (nothing was changed)\n";
  for (const EnvelopeDiffItem& d : items) {
    if (d.change == "unchanged") continue;
    out << "  " << d.change << "  " << Printable(d.item_id) << " (" << Printable(d.item_type);
    if (d.local_item_type && *d.local_item_type != d.item_type) {
      out << "; here a " << Printable(*d.local_item_type);
    }
    out << ")\n";
  }
  out << "new " << new_items << ", changed " << changed << ", conflicts " << conflicts
      << ", unchanged " << unchanged << ", only here " << local_only.size() << "\n";
  return out.str();
}

}  // namespace hx
