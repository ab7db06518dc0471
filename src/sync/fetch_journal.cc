#include "sync/fetch_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

#include "os/vault_dir.h"
#include "repo/object_codec.h"

namespace hx {
namespace {

constexpr std::uint8_t kMagic[4] = {'H', 'X', 'F', 'J'};
constexpr std::size_t kHeaderBytes = 4 + 4 + 8 + 32;
constexpr std::string_view kPrefix = "fetched-";
constexpr std::string_view kSuffix = ".hxj";

std::string FileName(std::uint32_t number) {
  std::string digits = std::to_string(number);
  if (digits.size() < 8) digits.insert(0, 8 - digits.size(), '0');
  return std::string(kPrefix) + digits + std::string(kSuffix);
}

// The number of a journal file's name; nullopt for any other name.
std::optional<std::uint32_t> FileNumber(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  std::uint32_t number = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return number;
}

void EncodeHeader(ObjectKind kind, const ObjectId& id, std::uint64_t length,
                  std::uint8_t out[kHeaderBytes]) {
  std::memcpy(out, kMagic, 4);
  out[4] = static_cast<std::uint8_t>(kind);
  out[5] = out[6] = out[7] = 0;
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<std::uint8_t>(length >> (8 * i));
  std::memcpy(out + 16, id.data(), id.size());
}

struct Header {
  ObjectKind kind;
  std::uint64_t length;
  ObjectId id;
};

std::optional<Header> DecodeHeader(const std::uint8_t in[kHeaderBytes]) {
  if (std::memcmp(in, kMagic, 4) != 0 || in[5] != 0 || in[6] != 0 || in[7] != 0) {
    return std::nullopt;
  }
  if (in[4] != static_cast<std::uint8_t>(ObjectKind::kChunk) &&
      in[4] != static_cast<std::uint8_t>(ObjectKind::kTree)) {
    return std::nullopt;
  }
  Header h;
  h.kind = static_cast<ObjectKind>(in[4]);
  h.length = 0;
  for (int i = 0; i < 8; ++i) h.length |= std::uint64_t{in[8 + i]} << (8 * i);
  if (h.length > kMaxObjectSize) return std::nullopt;
  std::memcpy(h.id.data(), in + 16, h.id.size());
  return h;
}

// Reads exactly n bytes at offset; false on an error or a short file.
bool ReadExactly(Env& env, int fd, void* buf, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    std::size_t got = 0;
    if (env.PRead(fd, static_cast<std::uint8_t*>(buf) + done, n - done, offset + done, &got) !=
            0 ||
        got == 0) {
      return false;
    }
    done += got;
  }
  return true;
}

// The staging directory beneath the vault, never through a symlink.
Result<Fd> OpenStaging(Env& env, const std::filesystem::path& vault,
                       const std::filesystem::path& staging, bool create) {
  HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(env, vault));
  const std::string rel = staging.lexically_relative(vault).generic_string();
  return dir.OpenDir(rel, VaultArea::kState, create);
}

}  // namespace

FetchJournal::FetchJournal(OpenOnly, Env& env, Fd staging, const VaultContext& ctx,
                           FetchJournalOptions options)
    : env_(env), staging_(std::move(staging)), ctx_(ctx), options_(std::move(options)) {}

FetchJournal::~FetchJournal() { Flush(); }

Result<std::unique_ptr<FetchJournal>> FetchJournal::Open(Env& env,
                                                         const std::filesystem::path& vault,
                                                         const std::filesystem::path& staging,
                                                         const VaultContext& ctx,
                                                         FetchJournalOptions options) {
  HX_ASSIGN_OR_RETURN(Fd dir, OpenStaging(env, vault, staging, /*create=*/true));
  auto journal =
      std::make_unique<FetchJournal>(OpenOnly{}, env, std::move(dir), ctx, std::move(options));
  journal->Load();
  return journal;
}

void FetchJournal::RemoveAll(Env& env, const std::filesystem::path& vault,
                             const std::filesystem::path& staging) {
  Result<Fd> dir = OpenStaging(env, vault, staging, /*create=*/false);
  if (!dir.ok()) return;
  std::vector<DirEntry> entries;
  if (env.ReadDir(dir->get(), &entries) != 0) return;
  for (const DirEntry& e : entries) {
    if (FileNumber(e.name)) (void)env.UnlinkAt(dir->get(), e.name.c_str(), 0);
  }
}

void FetchJournal::Load() {
  std::vector<DirEntry> entries;
  if (env_.ReadDir(staging_.get(), &entries) != 0) {
    Off();
    return;
  }
  for (const DirEntry& e : entries) {
    const std::optional<std::uint32_t> number = FileNumber(e.name);
    if (!number) continue;
    const int fd = FileFd(*number);
    struct stat st;
    if (fd < 0 || env_.Fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      (void)env_.UnlinkAt(staging_.get(), e.name.c_str(), 0);
      fds_.erase(*number);
      continue;
    }
    files_[*number] = static_cast<std::uint64_t>(st.st_size);
    total_bytes_ += static_cast<std::uint64_t>(st.st_size);
  }
  // Never more than a quarter of the space left (counting what the journal
  // already holds): the pull's own staged files need the rest. fstatvfs is
  // called directly, not through the Env: it changes nothing, and if it
  // fails the configured cap stands.
  struct statvfs fs_stat;
  if (::fstatvfs(staging_.get(), &fs_stat) == 0) {
    const std::uint64_t free_bytes =
        static_cast<std::uint64_t>(fs_stat.f_bavail) * static_cast<std::uint64_t>(fs_stat.f_frsize);
    options_.max_bytes = std::min(options_.max_bytes, (free_bytes + total_bytes_) / 4);
    options_.segment_bytes =
        std::min(options_.segment_bytes, std::max(options_.max_bytes / 8, std::uint64_t{1} << 20));
  }
  // Oldest first, so that a later record of the same id wins.
  for (const auto& [number, size] : files_) {
    const int fd = FileFd(number);
    std::uint64_t offset = 0;
    std::uint8_t header[kHeaderBytes];
    while (offset + kHeaderBytes <= size && ReadExactly(env_, fd, header, kHeaderBytes, offset)) {
      const std::optional<Header> h = DecodeHeader(header);
      if (!h || offset + kHeaderBytes + h->length > size) break;  // a torn or damaged tail
      // At most kMaxObjectSize (DecodeHeader): the length fits the record's 32 bits.
      records_.Put(h->id, {number, static_cast<std::uint32_t>(h->length), offset});
      offset += kHeaderBytes + h->length;
    }
  }
  stats_.kept_objects = records_.size();
  // Room for this run's records, within the cap.
  while (total_bytes_ > options_.max_bytes && !files_.empty()) EvictOldest();
}

int FetchJournal::FileFd(std::uint32_t file) {
  auto it = fds_.find(file);
  if (it != fds_.end()) return it->second.get();
  int raw = -1;
  if (env_.Open(staging_.get(), FileName(file).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0,
                &raw) != 0) {
    return -1;
  }
  return fds_.emplace(file, Fd(env_, raw)).first->second.get();
}

bool FetchJournal::StartFile() {
  const std::uint32_t number = files_.empty() ? 1 : files_.rbegin()->first + 1;
  int raw = -1;
  if (env_.Open(staging_.get(), FileName(number).c_str(),
                O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600, &raw) != 0) {
    return false;
  }
  fds_.insert_or_assign(number, Fd(env_, raw));
  files_[number] = 0;
  current_ = number;
  return true;
}

void FetchJournal::EvictOldest() {
  const std::uint32_t oldest = files_.begin()->first;
  (void)env_.UnlinkAt(staging_.get(), FileName(oldest).c_str(), 0);
  total_bytes_ -= files_.begin()->second;
  files_.erase(files_.begin());
  fds_.erase(oldest);
  records_.EraseFile(oldest);
  if (current_ == oldest) current_.reset();
  ++stats_.evicted_files;
}

void FetchJournal::Off() {
  on_ = false;
  buffer_.clear();
}

bool FetchJournal::Has(const ObjectId& id) const { return records_.Find(id) != nullptr; }

std::optional<std::vector<std::uint8_t>> FetchJournal::Get(ObjectKind kind, const ObjectId& id) {
  const JournalRecords::Record* found = records_.Find(id);
  if (found == nullptr) return std::nullopt;
  if (!buffer_.empty() && current_ && found->file == *current_) {
    Flush();
    found = records_.Find(id);  // a write that failed forgets its file's records
    if (found == nullptr) return std::nullopt;
  }
  const JournalRecords::Record record = *found;
  std::vector<std::uint8_t> bytes(kHeaderBytes + record.length);
  const int fd = FileFd(record.file);
  bool good = fd >= 0 && ReadExactly(env_, fd, bytes.data(), bytes.size(), record.offset);
  if (good) {
    const std::optional<Header> h = DecodeHeader(bytes.data());
    good = h && h->kind == kind && h->id == id && h->length == record.length;
  }
  const std::span<const std::uint8_t> plain(bytes.data() + kHeaderBytes, record.length);
  if (!good || ComputeObjectId(ctx_, kind, plain) != id) {
    records_.Erase(id);
    ++stats_.dropped;
    return std::nullopt;
  }
  ++stats_.reused_objects;
  stats_.reused_bytes += record.length;
  return std::vector<std::uint8_t>(plain.begin(), plain.end());
}

void FetchJournal::Add(ObjectKind kind, const ObjectId& id,
                       std::span<const std::uint8_t> plaintext) {
  // An object longer than kMaxObjectSize was not opened (object_codec.h):
  // none is kept, its length would not fit the record.
  if (!on_ || plaintext.size() > kMaxObjectSize || records_.Find(id) != nullptr) return;
  if (!current_ && !StartFile()) {
    Off();
    return;
  }
  const std::uint64_t offset = files_[*current_] + buffer_.size();
  std::uint8_t header[kHeaderBytes];
  EncodeHeader(kind, id, plaintext.size(), header);
  buffer_.insert(buffer_.end(), header, header + kHeaderBytes);
  buffer_.insert(buffer_.end(), plaintext.begin(), plaintext.end());
  records_.Put(id, {*current_, static_cast<std::uint32_t>(plaintext.size()), offset});
  if (buffer_.size() >= options_.buffer_bytes) Flush();
}

void FetchJournal::Flush() {
  if (!on_ || buffer_.empty() || !current_) return;
  const std::uint32_t file = *current_;
  const int err = WriteAll(env_, FileFd(file),
                           std::string_view(reinterpret_cast<const char*>(buffer_.data()),
                                            buffer_.size()));
  if (err != 0) {
    // What was not written is not kept (its records point past the end).
    records_.EraseFile(file);
    Off();
    return;
  }
  files_[file] += buffer_.size();
  total_bytes_ += buffer_.size();
  buffer_.clear();
  if (options_.checkpoint) options_.checkpoint("pull.objects_staged");
  if (files_[file] >= options_.segment_bytes) current_.reset();  // the next Add starts one
  while (total_bytes_ > options_.max_bytes && files_.size() > 1) EvictOldest();
}

void FetchJournal::Seal() {
  Flush();
  on_ = false;
  buffer_ = {};
  records_.Clear();
  fds_.clear();
}

void FetchJournal::Clear() {
  buffer_.clear();
  for (const auto& [number, size] : files_) {
    (void)env_.UnlinkAt(staging_.get(), FileName(number).c_str(), 0);
  }
  files_.clear();
  fds_.clear();
  records_.Clear();
  total_bytes_ = 0;
  current_.reset();
  on_ = false;
}

}  // namespace hx
