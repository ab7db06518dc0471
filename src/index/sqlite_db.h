// A thin RAII layer over the SQLite C API for the local index: a connection
// that turns every failure into an hx::Error naming the file, and prepared
// statements that reset themselves after each use.
//
// Internal to the index module (index.cc); keeps sqlite3.h out of index.h.
//
// Error mapping (every failure is KC_SYNC_STATE_FAILED):
//   SQLITE_FULL, and SQLITE_IOERR_* or SQLITE_CANTOPEN whose errno is
//   ENOSPC or EDQUOT             -> Category::kNoSpace (a full disk, whatever
//                                   SQLite was doing when it met it)
//   SQLITE_CORRUPT, SQLITE_NOTADB -> Category::kCorrupt, with a hint that
//                                   deleting the file makes hx rebuild it
//   SQLITE_BUSY, SQLITE_LOCKED   -> Category::kLocked (another process holds
//                                   the database; the vault's flock should
//                                   make this impossible)
//   anything else                -> Category::kIo
// details: {file, sqlite_code (extended result code), sqlite_error, and for
// I/O errors errno when SQLite recorded one}.
//
// Thread-safety: a SqliteDb and its statements belong to one thread at a
// time (the connection is opened with SQLITE_OPEN_NOMUTEX).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include "base/error.h"

namespace hx {

class SqliteDb;

// The category of SQLite result code `rc` (extended or primary), given the
// errno SQLite recorded for it (sqlite3_system_errno; 0 if none), per the
// mapping above.
Category CategoryForSqlite(int rc, int system_errno);

// A prepared statement. Bind errors are remembered and reported by the next
// Step() or Run(), so callers bind without checking each call.
class SqliteStatement {
 public:
  SqliteStatement() = default;

  // Binds parameter `index` (1-based).
  void BindInt64(int index, std::int64_t value);
  void BindText(int index, std::string_view value);
  void BindBlob(int index, std::span<const std::uint8_t> value);
  void BindNull(int index);

  // Steps once: true if a row is available, false when done. On an error or
  // when done the statement is reset (its read transaction ends).
  Result<bool> Step();
  // Steps until done (for statements without result rows), then resets.
  Status Run();
  // Ends the current use: resets the statement and clears its bindings.
  void Reset();

  // Column accessors for the current row (0-based). Text and blob views are
  // valid until the next Step() or Reset().
  std::int64_t ColumnInt64(int column) const;
  std::string_view ColumnText(int column) const;
  std::span<const std::uint8_t> ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class SqliteDb;
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void NoteBind(int rc);

  SqliteDb* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
};

// Resets a statement when it goes out of scope, so an early return never
// leaves a SELECT holding its read transaction.
class ScopedReset {
 public:
  explicit ScopedReset(SqliteStatement& stmt) : stmt_(stmt) {}
  ~ScopedReset() { stmt_.Reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  SqliteStatement& stmt_;
};

class SqliteDb {
 public:
  // Opens (creating if needed) the database file. Does not read it yet:
  // SQLite reports a garbage file only at the first statement.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& file);
  // Takes ownership of `db` (may be null), which it closes on destruction.
  SqliteDb(sqlite3* db, std::string file) : db_(db), file_(std::move(file)) {}
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without result rows.
  Status Exec(const char* sql);
  Result<SqliteStatement> Prepare(std::string_view sql);
  // Runs a single-row, single-integer query (e.g. "PRAGMA user_version").
  Result<std::int64_t> QueryInt64(const char* sql);
  // Runs a single-row, single-text query (e.g. "PRAGMA journal_mode=WAL").
  Result<std::string> QueryText(const char* sql);

  // True while an explicit transaction is open.
  bool InTransaction() const;

  // The error for result code `rc`, saying what was being done.
  Error MakeError(int rc, std::string_view what) const;
  // A corrupt-category error for bytes of the file that SQLite read fine but
  // that do not decode (a damaged row).
  Error MakeCorruptError(std::string_view what) const;

  const std::string& file() const { return file_; }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_;
  std::string file_;
};

}  // namespace hx
