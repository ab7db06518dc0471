#include "scan/baseline.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash/blake3.h"
#include "repo/tree.h"
#include "scan/file_hasher.h"
#include "scan/ignore.h"

namespace hx {
namespace {

constexpr std::size_t kDigestBytes = 32;
constexpr unsigned kMaxDefaultThreads = 8;
// Smallest encoded child: u16 name length, a 1-byte name, u8 kind.
constexpr std::size_t kMinChildBytes = 4;
// Smallest encoded directory: u32 path length, u32 child count.
constexpr std::size_t kMinDirBytes = 8;

void PutLe(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}


// A bounds-checked reader over untrusted bytes: every read either succeeds
// or leaves `ok` false (and then returns zeros / empty views).
class Reader {
 public:
  explicit Reader(std::string_view bytes, std::size_t pos = 0) : bytes_(bytes), pos_(pos) {}

  std::uint64_t Le(int n) {
    if (!ok_ || bytes_.size() - pos_ < static_cast<std::size_t>(n)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t value = 0;
    for (int i = 0; i < n; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(bytes_[pos_ + static_cast<std::size_t>(i)])}
               << (8 * i);
    }
    pos_ += static_cast<std::size_t>(n);
    return value;
  }
  std::string_view Bytes(std::uint64_t n) {
    if (!ok_ || bytes_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    const std::string_view out = bytes_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t pos() const { return pos_; }
  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// One child as stored, viewing the file's bytes.
struct ChildRef {
  std::string_view name;
  BaselineKind kind = BaselineKind::kFile;
  FileStat stat;
  std::string_view target;
};

bool ValidName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// Reads one child; false if the bytes do not hold a valid one.
bool ReadChild(Reader& in, ChildRef& child) {
  child.name = in.Bytes(in.Le(2));
  const std::uint64_t kind = in.Le(1);
  if (!in.ok() || !ValidName(child.name) || kind > 2) {
    return false;
  }
  child.kind = static_cast<BaselineKind>(kind);
  child.stat = FileStat{};
  child.target = {};
  if (child.kind == BaselineKind::kFile) {
    child.stat.size = in.Le(8);
    child.stat.mtime_ns = static_cast<std::int64_t>(in.Le(8));
    child.stat.ctime_ns = static_cast<std::int64_t>(in.Le(8));
    child.stat.inode = in.Le(8);
    child.stat.mode = static_cast<std::uint32_t>(in.Le(4));
  } else if (child.kind == BaselineKind::kSymlink) {
    child.target = in.Bytes(in.Le(4));
  }
  return in.ok();
}

Error Damaged(std::string_view what) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "the scan baseline is damaged (" + std::string(what) +
                   "); hx ignores it and rebuilds it on the next sync");
}


// What the walk found in one directory entry.
struct Seen {
  std::string name;
  BaselineKind kind = BaselineKind::kFile;
  FileStat stat;
  std::string target;
  dev_t dev = 0;  // directories: as lstat saw them, checked when opened
  ino_t ino = 0;
};

struct MatchTask {
  std::string path;
  const BaselineView::Dir* dir = nullptr;
  dev_t dev = 0;
  ino_t ino = 0;
};

// Compares the folder with the baseline, directory by directory, on a pool
// of threads; the first difference stops every worker.
class Matcher {
 public:
  Matcher(Env& env, int root_fd, const BaselineView& baseline, const IgnoreRules& ignore)
      : env_(env), root_fd_(root_fd), baseline_(baseline), ignore_(ignore) {}

  bool Run(const BaselineView::Dir& root, int threads) {
    tasks_.push_back(MatchTask{std::string(), &root, 0, 0});
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) {
      try {
        workers.emplace_back([this] { Work(); });
      } catch (const std::system_error&) {
        break;  // fewer threads; the walk still completes
      }
    }
    Work();
    for (std::thread& worker : workers) {
      worker.join();
    }
    return !differs_.load();
  }

 private:
  void Work();
  // False if the directory differs from its block (or cannot be read).
  bool MatchDir(const MatchTask& task, std::vector<MatchTask>& subdirs);

  Env& env_;
  const int root_fd_;
  const BaselineView& baseline_;
  const IgnoreRules& ignore_;
  std::atomic<bool> differs_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<MatchTask> tasks_;  // guarded by mu_; a stack (depth first)
  int busy_ = 0;                  // guarded by mu_
};

void Matcher::Work() {
  std::vector<MatchTask> subdirs;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !tasks_.empty() || busy_ == 0 || differs_.load(); });
    if (tasks_.empty() || differs_.load()) {
      break;
    }
    const MatchTask task = std::move(tasks_.back());
    tasks_.pop_back();
    ++busy_;
    lock.unlock();
    subdirs.clear();
    const bool same = !differs_.load() && MatchDir(task, subdirs);
    lock.lock();
    --busy_;
    if (!same) {
      differs_.store(true);
    } else {
      for (MatchTask& sub : subdirs) {
        tasks_.push_back(std::move(sub));
      }
    }
    cv_.notify_all();
  }
  lock.unlock();
  cv_.notify_all();
}

bool Matcher::MatchDir(const MatchTask& task, std::vector<MatchTask>& subdirs) {
  const bool is_root = task.path.empty();
  // Opened as the scanner opens it: by path from the root, never through a
  // symlink, and checked to be the directory its parent listed.
  Fd owned;
  int dir_fd = root_fd_;
  if (!is_root) {
    if (env_.Open(root_fd_, task.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                  &dir_fd) != 0) {
      return false;
    }
    owned = Fd(env_, dir_fd);
    struct stat st {};
    if (env_.Fstat(dir_fd, &st) != 0 || st.st_dev != task.dev || st.st_ino != task.ino) {
      return false;
    }
  }
  std::vector<DirEntry> listing;
  if (env_.ReadDir(dir_fd, &listing) != 0) {
    return false;
  }
  const bool check_ignore = ignore_.size() > 0;
  std::vector<Seen> seen;
  seen.reserve(task.dir->child_count);
  std::string path;
  for (const DirEntry& item : listing) {
    const std::string_view name(item.name);
    if (is_root && name == kStateDirName) {
      continue;
    }
    struct stat st {};
    if (env_.StatAt(dir_fd, item.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return false;
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    if (check_ignore) {
      path.assign(task.path);
      if (!is_root) {
        path.push_back('/');
      }
      path.append(name);
      if (ignore_.Matches(path, is_dir)) {
        continue;
      }
    }
    // What the scanner would skip or report, the baseline never holds.
    if (!IsValidEntryName(name)) {
      return false;
    }
    Seen& s = seen.emplace_back();
    s.name.assign(name);
    if (is_dir) {
      s.kind = BaselineKind::kDir;
      s.dev = st.st_dev;
      s.ino = st.st_ino;
    } else if (S_ISREG(st.st_mode)) {
      s.kind = BaselineKind::kFile;
      s.stat = FileStatOf(st);
    } else if (S_ISLNK(st.st_mode)) {
      s.kind = BaselineKind::kSymlink;
      // A target longer than lstat's size changed since the listing.
      if (env_.ReadlinkAt(dir_fd, item.name.c_str(), &s.target) != 0 ||
          s.target.size() > static_cast<std::size_t>(std::max<off_t>(st.st_size, 0))) {
        return false;
      }
    } else {
      return false;
    }
  }
  if (seen.size() != task.dir->child_count) {
    return false;
  }
  std::sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return a.name < b.name; });
  Reader in(baseline_.bytes(), task.dir->children_offset);
  ChildRef child;
  for (const Seen& s : seen) {
    if (!ReadChild(in, child) || child.name != s.name || child.kind != s.kind) {
      return false;
    }
    if (s.kind == BaselineKind::kFile) {
      if (!(child.stat == s.stat)) {
        return false;
      }
    } else if (s.kind == BaselineKind::kSymlink) {
      if (child.target != s.target) {
        return false;
      }
    } else {
      std::string sub_path = is_root ? s.name : task.path + '/' + s.name;
      const BaselineView::Dir* sub = baseline_.FindDir(sub_path);
      if (sub == nullptr) {
        return false;
      }
      subdirs.push_back(MatchTask{std::move(sub_path), sub, s.dev, s.ino});
    }
  }
  return true;
}

}  // namespace

void AppendBaselineChild(std::string& block, std::string_view name, BaselineKind kind,
                         const FileStat& stat, std::string_view target) {
  PutLe(block, name.size(), 2);
  block += name;
  block.push_back(static_cast<char>(kind));
  if (kind == BaselineKind::kFile) {
    PutLe(block, stat.size, 8);
    PutLe(block, static_cast<std::uint64_t>(stat.mtime_ns), 8);
    PutLe(block, static_cast<std::uint64_t>(stat.ctime_ns), 8);
    PutLe(block, stat.inode, 8);
    PutLe(block, stat.mode, 4);
  } else if (kind == BaselineKind::kSymlink) {
    PutLe(block, target.size(), 4);
    block += target;
  }
}

ScanBaseline MakeScanBaseline(const std::array<std::uint8_t, 32>& ignore_digest,
                              std::vector<std::pair<std::string, std::vector<BaselineChild>>> dirs) {
  std::vector<std::pair<std::string, std::string>> blocks;
  blocks.reserve(dirs.size());
  for (auto& [path, children] : dirs) {
    std::string block;
    for (const BaselineChild& child : children) {
      AppendBaselineChild(block, child.name, child.kind, child.stat, child.target);
    }
    blocks.emplace_back(std::move(path), std::move(block));
  }
  return MakeScanBaselineFromBlocks(ignore_digest, std::move(blocks));
}

ScanBaseline MakeScanBaselineFromBlocks(const std::array<std::uint8_t, 32>& ignore_digest,
                                        std::vector<std::pair<std::string, std::string>> dirs) {
  std::sort(dirs.begin(), dirs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  ScanBaseline out;
  out.ignore_digest = ignore_digest;
  out.dir_count = static_cast<std::uint32_t>(dirs.size());
  std::size_t total = 0;
  for (const auto& [path, block] : dirs) total += 8 + path.size() + block.size();
  out.dirs.reserve(total);
  struct Span {
    std::string_view name;
    std::string_view bytes;
  };
  std::vector<Span> children;
  for (auto& [path, block] : dirs) {
    children.clear();
    Reader in(block);
    ChildRef child;
    while (in.remaining() > 0) {
      const std::size_t start = in.pos();
      if (!ReadChild(in, child)) break;  // (never: the block was written by AppendBaselineChild)
      children.push_back({child.name, std::string_view(block).substr(start, in.pos() - start)});
    }
    std::sort(children.begin(), children.end(),
              [](const Span& a, const Span& b) { return a.name < b.name; });
    PutLe(out.dirs, path.size(), 4);
    out.dirs += path;
    PutLe(out.dirs, children.size(), 4);
    for (const Span& span : children) out.dirs += span.bytes;
    std::string().swap(block);
  }
  return out;
}

BaselineFileParts BaselineFile(const ScanBaseline& baseline, std::string_view token) {
  BaselineFileParts parts;
  parts.head += kBaselineMagic;
  token = token.substr(0, kMaxBaselineTokenBytes);
  PutLe(parts.head, token.size(), 1);
  parts.head += token;
  parts.head.append(reinterpret_cast<const char*>(baseline.ignore_digest.data()), kDigestBytes);
  PutLe(parts.head, baseline.dir_count, 4);
  parts.dirs = baseline.dirs;
  Blake3Hasher hasher;
  hasher.Update(std::string_view(parts.head));
  hasher.Update(parts.dirs);
  const Blake3Digest sum = hasher.Finalize();
  parts.checksum.assign(reinterpret_cast<const char*>(sum.data()), sum.size());
  return parts;
}

std::string EncodeBaselineFile(const ScanBaseline& baseline, std::string_view token) {
  const BaselineFileParts parts = BaselineFile(baseline, token);
  std::string out;
  out.reserve(parts.head.size() + parts.dirs.size() + parts.checksum.size());
  out.append(parts.head).append(parts.dirs).append(parts.checksum);
  return out;
}

const BaselineView::Dir* BaselineView::FindDir(std::string_view path) const {
  const auto it = std::lower_bound(dirs_.begin(), dirs_.end(), path,
                                   [](const Dir& d, std::string_view p) { return d.path < p; });
  return it != dirs_.end() && it->path == path ? &*it : nullptr;
}

std::vector<BaselineChild> BaselineView::Children(const Dir& dir) const {
  std::vector<BaselineChild> out;
  Reader in(bytes_, dir.children_offset);
  ChildRef child;
  for (std::uint32_t i = 0; i < dir.child_count && ReadChild(in, child); ++i) {
    out.push_back(BaselineChild{std::string(child.name), child.kind, child.stat,
                                std::string(child.target)});
  }
  return out;
}

Result<BaselineView> ParseBaseline(std::string_view bytes) {
  if (bytes.size() > kMaxBaselineBytes) {
    return Damaged("larger than " + std::to_string(kMaxBaselineBytes) + " bytes");
  }
  if (bytes.size() < kBaselineMagic.size() + kDigestBytes ||
      bytes.substr(0, kBaselineMagic.size()) != kBaselineMagic) {
    return Damaged("not a baseline of this hx version");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kDigestBytes);
  const Blake3Digest sum = Blake3Hash(body);
  if (std::memcmp(sum.data(), bytes.data() + body.size(), kDigestBytes) != 0) {
    return Damaged("checksum mismatch");
  }
  BaselineView view;
  view.bytes_ = bytes;
  Reader in(body, kBaselineMagic.size());
  static_assert(kMaxBaselineTokenBytes <= 0xff, "the token length is one byte");
  view.token_ = in.Bytes(in.Le(1));
  const std::string_view digest = in.Bytes(kDigestBytes);
  const std::uint64_t dir_count = in.Le(4);
  if (!in.ok() || dir_count > in.remaining() / kMinDirBytes) {
    return Damaged("truncated header");
  }
  std::memcpy(view.ignore_digest_.data(), digest.data(), kDigestBytes);
  view.dirs_.reserve(static_cast<std::size_t>(dir_count));
  for (std::uint64_t d = 0; d < dir_count; ++d) {
    BaselineView::Dir dir;
    dir.path = in.Bytes(in.Le(4));
    const std::uint64_t child_count = in.Le(4);
    if (!in.ok() || child_count > in.remaining() / kMinChildBytes) {
      return Damaged("truncated directory");
    }
    if (!view.dirs_.empty() && !(view.dirs_.back().path < dir.path)) {
      return Damaged("directories out of order");
    }
    dir.child_count = static_cast<std::uint32_t>(child_count);
    dir.children_offset = in.pos();
    ChildRef child;
    std::string_view previous;
    for (std::uint64_t c = 0; c < child_count; ++c) {
      if (!ReadChild(in, child)) {
        return Damaged("a child that does not decode");
      }
      if (c > 0 && !(previous < child.name)) {
        return Damaged("children out of order");
      }
      previous = child.name;
    }
    view.dirs_.push_back(dir);
  }
  if (in.remaining() != 0) {
    return Damaged("trailing bytes");
  }
  return view;
}

bool FolderMatchesBaseline(const std::filesystem::path& root, const BaselineView& baseline,
                           int threads, Env& env) {
  const BaselineView::Dir* root_dir = baseline.FindDir("");
  if (root_dir == nullptr) {
    return false;
  }
  int raw = -1;
  if (env.Open(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY, 0, &raw) != 0) {
    return false;
  }
  const Fd root_fd(env, raw);
  Result<IgnoreRules> ignore = LoadIgnoreFile(root, root_fd.get(), env);
  if (!ignore.ok() || ignore->source_digest() != baseline.ignore_digest()) {
    return false;
  }
  if (threads <= 0) {
    threads =
        static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, kMaxDefaultThreads));
  }
  Matcher matcher(env, root_fd.get(), baseline, *ignore);
  return matcher.Run(*root_dir, threads);
}

}  // namespace hx
