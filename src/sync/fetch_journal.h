// Keeps the objects a pull fetched across a crash, a reboot or a lost
// connection, so that running the pull again fetches only what is missing.
//
// The fetcher (fetcher.h) appends each object it fetched and opened (so
// authenticated, and hashing to its id) to a journal in the vault's
// .hx/staging/, and looks there first before reading the store. The pull
// removes the journal once it has applied everything; until then it stays,
// bounded:
//   - files "fetched-<n>.hxj", n increasing: each run appends to a new one,
//     and starts another when one reaches Options::segment_bytes;
//   - when the files together exceed Options::max_bytes, the oldest are
//     deleted (oldest evicted), so the journal never holds more than
//     max_bytes plus one segment; max_bytes is lowered to a quarter of the
//     file system's free space when the journal opens (the pull's staged
//     files need the rest), and a segment to an eighth of that;
//   - a record is [magic "HXFJ" | kind u8 | 3 zero bytes | length u64 LE |
//     id 32 bytes] then the object's plaintext. A record is trusted for
//     nothing but finding bytes: before use its plaintext is hashed to its
//     id (the vault's keyed hash, repo/object_codec.h); one that does not
//     match (a torn write, a damaged disk, another key) is dropped and the
//     object fetched again. A header that does not parse ends the reading
//     of its file (the rest is ignored, a torn tail).
// Writes are buffered (Options::buffer_bytes) and not fsynced: a process
// killed keeps what was written (the page cache), a power cut may lose the
// tail, and either way a rerun finds only records that verify.
//
// Every file-system call goes through the Env, relative to the staging
// directory opened beneath the vault root without following a symlink
// (os/vault_dir.h), and files are opened O_NOFOLLOW. Every failure is
// swallowed: the journal is an optimisation, so a journal that cannot be
// read or written only turns itself off (the pull fetches from the store).
//
// Thread-safety: not thread-safe; one journal per pull, used by its fetcher.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "os/env.h"
#include "repo/vault_context.h"
#include "sync/fetch_journal_records.h"

namespace hx {

struct FetchJournalOptions {
  // The journal's files together stay below this plus one segment.
  std::uint64_t max_bytes = std::uint64_t{2} << 30;
  // A file is closed and the next one started at this size.
  std::uint64_t segment_bytes = std::uint64_t{128} << 20;
  // Appends are written in pieces of about this size (one write each).
  std::uint64_t buffer_bytes = std::uint64_t{1} << 20;
  // Called with "pull.objects_staged" after each write of records (the
  // crash tests kill there). Null: none.
  std::function<void(std::string_view)> checkpoint;
};

struct FetchJournalStats {
  std::uint64_t kept_objects = 0;    // records found when opened
  std::uint64_t reused_objects = 0;  // objects returned by Get
  std::uint64_t reused_bytes = 0;
  std::uint64_t dropped = 0;         // records that did not verify
  std::uint64_t evicted_files = 0;   // oldest files deleted for the cap
};

class FetchJournal {
  struct OpenOnly {};  // only Open may construct one

 public:
  // Opens the journal of the vault at `vault` in `staging` (a directory
  // beneath it, created if missing), reading the records earlier runs
  // left. Errors only if the staging directory cannot be opened (the
  // caller then pulls without a journal).
  static Result<std::unique_ptr<FetchJournal>> Open(Env& env, const std::filesystem::path& vault,
                                                    const std::filesystem::path& staging,
                                                    const VaultContext& ctx,
                                                    FetchJournalOptions options = {});
  // Deletes every journal file in `staging` (nothing to do if there is
  // none, or no staging directory).
  static void RemoveAll(Env& env, const std::filesystem::path& vault,
                        const std::filesystem::path& staging);

  // For Open (the tag is private).
  FetchJournal(OpenOnly, Env& env, Fd staging, const VaultContext& ctx,
               FetchJournalOptions options);
  ~FetchJournal();
  FetchJournal(const FetchJournal&) = delete;
  FetchJournal& operator=(const FetchJournal&) = delete;

  // Whether a record of `id` is kept (not yet verified).
  bool Has(const ObjectId& id) const;
  // The plaintext of (kind, id) if a record of it is kept and its bytes
  // hash to `id`; a record that does not is dropped. nullopt: fetch it.
  std::optional<std::vector<std::uint8_t>> Get(ObjectKind kind, const ObjectId& id);
  // Appends the object (its plaintext, already checked against its id by
  // the caller). An id already kept is not appended again, nor an object
  // longer than kMaxObjectSize (no object is).
  void Add(ObjectKind kind, const ObjectId& id, std::span<const std::uint8_t> plaintext);
  // Writes what is buffered.
  void Flush();
  // Writes what is buffered and forgets which objects are kept: the files
  // stay (for Clear, or for the next run, which loads them again), nothing
  // more is added or found. For a pull that has fetched everything it
  // will: the record of 100,000 objects is ~5 MB (fetch_journal_records.h).
  void Seal();
  // Deletes every journal file (the pull has applied everything); the
  // journal keeps nothing more.
  void Clear();

  const FetchJournalStats& stats() const { return stats_; }
  // The bytes of the journal's files (written or buffered).
  std::uint64_t bytes() const { return total_bytes_ + buffer_.size(); }

 private:
  void Load();
  // A file's descriptor (opened for reading on first use).
  int FileFd(std::uint32_t file);
  bool StartFile();
  void EvictOldest();
  void Off();

  Env& env_;
  Fd staging_;
  const VaultContext& ctx_;
  FetchJournalOptions options_;
  bool on_ = true;
  JournalRecords records_;
  // Every journal file by number, with its size, and open descriptors.
  std::map<std::uint32_t, std::uint64_t> files_;
  std::map<std::uint32_t, Fd> fds_;
  std::uint64_t total_bytes_ = 0;  // written bytes of every file
  // The file appended to, and what is not yet written to it.
  std::optional<std::uint32_t> current_;
  std::vector<std::uint8_t> buffer_;
  FetchJournalStats stats_;
};

}  // namespace hx
