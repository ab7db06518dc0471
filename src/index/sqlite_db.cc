#include "index/sqlite_db.h"

#include <cerrno>
#include <utility>

namespace hx {
namespace {

constexpr std::string_view kRebuildHint =
    "the index is only a cache: delete it (and its -wal and -shm files) and hx rebuilds it "
    "from the folder and the store";

}  // namespace

Category CategoryForSqlite(int rc, int system_errno) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Category::kNoSpace;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Category::kCorrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Category::kLocked;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      // SQLite says SQLITE_FULL only for a short write; a full disk met
      // while syncing, growing the -shm file or creating the -wal file is an
      // I/O error whose errno tells what it was.
      if (system_errno == ENOSPC || system_errno == EDQUOT) return Category::kNoSpace;
      return Category::kIo;
    default:
      return Category::kIo;
  }
}

void SqliteStatement::NoteBind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
}

void SqliteStatement::BindInt64(int index, std::int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_.get(), index, value));
}

void SqliteStatement::BindText(int index, std::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_STATIC,
                               SQLITE_UTF8));
}

void SqliteStatement::BindBlob(int index, std::span<const std::uint8_t> value) {
  // A zero-length blob with a null pointer would bind NULL; "" keeps it a
  // blob.
  static constexpr std::uint8_t kEmpty = 0;
  NoteBind(sqlite3_bind_blob64(stmt_.get(), index, value.empty() ? &kEmpty : value.data(),
                               value.size(), SQLITE_STATIC));
}

void SqliteStatement::BindNull(int index) { NoteBind(sqlite3_bind_null(stmt_.get(), index)); }

Result<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    const int rc = bind_rc_;
    Reset();
    return db_->MakeError(rc, "binding a parameter");
  }
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_.get());
    return false;
  }
  // sqlite3_errmsg describes the failed step only until the reset.
  Error error = db_->MakeError(rc, sqlite3_sql(stmt_.get()));
  Reset();
  return error;
}

Status SqliteStatement::Run() {
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) {
      break;
    }
  }
  Reset();
  return OkStatus();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_rc_ = SQLITE_OK;
}

std::int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string_view SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  const int length = sqlite3_column_bytes(stmt_.get(), column);
  if (text == nullptr) {
    return {};
  }
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(length)};
}

std::span<const std::uint8_t> SqliteStatement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_.get(), column);
  const int length = sqlite3_column_bytes(stmt_.get(), column);
  if (blob == nullptr) {
    return {};
  }
  return {static_cast<const std::uint8_t*>(blob), static_cast<std::size_t>(length)};
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& file) {
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(
      file.c_str(), &handle,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  // Even a failed open may allocate a handle; wrapping it first closes it
  // on every path.
  auto db = std::make_unique<SqliteDb>(handle, file);
  if (rc != SQLITE_OK) {
    return db->MakeError(rc, "opening the index");
  }
  sqlite3_extended_result_codes(handle, 1);
  // One hx process per vault holds the vault's flock; the timeout only
  // covers a reader such as the sqlite3 shell a user points at the file.
  sqlite3_busy_timeout(handle, 5000);
  return db;
}

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
  }
}

Status SqliteDb::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return MakeError(rc, sql);
  }
  return OkStatus();
}

Result<SqliteStatement> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return MakeError(rc, sql);
  }
  return SqliteStatement(this, stmt);
}

Result<std::int64_t> SqliteDb::QueryInt64(const char* sql) {
  HX_ASSIGN_OR_RETURN(SqliteStatement stmt, Prepare(sql));
  HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) {
    return MakeError(SQLITE_ERROR, std::string(sql) + " returned no row");
  }
  const std::int64_t value = stmt.ColumnInt64(0);
  stmt.Reset();
  return value;
}

Result<std::string> SqliteDb::QueryText(const char* sql) {
  HX_ASSIGN_OR_RETURN(SqliteStatement stmt, Prepare(sql));
  HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) {
    return MakeError(SQLITE_ERROR, std::string(sql) + " returned no row");
  }
  std::string value(stmt.ColumnText(0));
  stmt.Reset();
  return value;
}

bool SqliteDb::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Error SqliteDb::MakeError(int rc, std::string_view what) const {
  // The errno of the last failed system call, for I/O errors (0 if none).
  const int system_errno = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
  const Category category = CategoryForSqlite(rc, system_errno);
  const char* message =
      db_ != nullptr && sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string text = "local index " + file_ + ": " + std::string(what) + ": " + message;
  if (category == Category::kCorrupt) {
    text += " (" + std::string(kRebuildHint) + ")";
  }
  Error error(SyncCode::kStateFailed, category, std::move(text));
  error.With("file", file_)
      .With("sqlite_code", std::to_string(rc))
      .With("sqlite_error", sqlite3_errstr(rc));
  if (category == Category::kCorrupt) {
    error.With("hint", std::string(kRebuildHint));
  }
  if (category == Category::kNoSpace) {
    error.message += " (the disk of the vault is full: free some space and run the command again)";
  }
  const int base = rc & 0xff;
  if (system_errno != 0 && (base == SQLITE_IOERR || base == SQLITE_CANTOPEN)) {
    error.With("errno", std::to_string(system_errno));
  }
  return error;
}

Error SqliteDb::MakeCorruptError(std::string_view what) const {
  Error error(
      SyncCode::kStateFailed, Category::kCorrupt,
      "local index " + file_ + ": " + std::string(what) + " (" + std::string(kRebuildHint) + ")");
  error.With("file", file_).With("hint", std::string(kRebuildHint));
  return error;
}

}  // namespace hx
