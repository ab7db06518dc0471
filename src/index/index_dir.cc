// Per-directory reads of the local index (index.h): a directory's children
// from the base and the stat cache, what lies below it, its tree id.
//
// Both tables are keyed by path (WITHOUT ROWID), so "every row below d" is
// the key range ["d/", "d0") ('0' is the byte after '/'), and the root's is
// every row. A directory's children are that range without the rows of
// its child directories' subtrees: on meeting "d/c/..." the read seeks
// past "d/c0" instead of stepping through c's subtree, so listing the
// children of a directory costs one seek per child directory, not one row
// per descendant.
#include <string>
#include <utility>

#include "index/index_internal.h"

namespace hx {
namespace {

using index_internal::BaseVectors;
using index_internal::ReadId;

// The key range of every row below `dir`: [first, end).
struct Below {
  explicit Below(std::string_view dir)
      : first(dir.empty() ? std::string() : std::string(dir) + '/'),
        // Paths are valid UTF-8, which never holds the byte 0xFF.
        end(dir.empty() ? std::string("\xff") : std::string(dir) + '0') {}
  std::string first;
  std::string end;
};

// Steps `stmt` (a range read bound to ?1, ?2) over the children of `dir`:
// on_child() for each row of a child, on_dir(name) once for each child
// with rows below it, whose subtree is skipped.
template <typename OnChild, typename OnDir>
Status ForEachChildRow(SqliteStatement& stmt, std::string_view dir, const OnChild& on_child,
                       const OnDir& on_dir) {
  const Below range(dir);
  std::string from = range.first;
  ScopedReset reset(stmt);
  while (true) {
    stmt.BindText(1, from);  // SQLITE_STATIC: `from` and `range` outlive the steps
    stmt.BindText(2, range.end);
    bool seek = false;
    while (true) {
      HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
      if (!row) break;
      const std::string_view path = stmt.ColumnText(0);
      const std::string_view rest = path.substr(range.first.size());
      const std::size_t slash = rest.find('/');
      if (slash == std::string_view::npos) {
        HX_RETURN_IF_ERROR(on_child());
        continue;
      }
      const std::string name(rest.substr(0, slash));
      on_dir(name);
      from = range.first + name + '0';
      seek = true;
      break;
    }
    if (!seek) return OkStatus();
    stmt.Reset();
  }
}

}  // namespace

Result<std::vector<std::pair<std::string, Entry>>> Index::LoadBaseChildren(std::string_view dir) {
  std::vector<std::pair<std::string, Entry>> children;
  BaseVectors vectors;
  SqliteStatement& stmt = impl_->base_range;
  HX_RETURN_IF_ERROR(ForEachChildRow(
      stmt, dir,
      [&]() -> Status {
        HX_ASSIGN_OR_RETURN(Entry entry, impl_->ReadBaseRow(stmt, vectors));
        children.emplace_back(std::string(stmt.ColumnText(0)), std::move(entry));
        return OkStatus();
      },
      [](const std::string&) {}));
  return children;
}

Status Index::ForEachBaseBelow(std::string_view dir,
                               const std::function<Status(std::string_view, Entry&&)>& visit) {
  const Below range(dir);
  SqliteStatement& stmt = impl_->base_range;
  ScopedReset reset(stmt);
  stmt.BindText(1, range.first);
  stmt.BindText(2, range.end);
  BaseVectors vectors;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) return OkStatus();
    HX_ASSIGN_OR_RETURN(Entry entry, impl_->ReadBaseRow(stmt, vectors));
    HX_RETURN_IF_ERROR(visit(stmt.ColumnText(0), std::move(entry)));
  }
}

Result<std::optional<ObjectId>> Index::FindBaseTree(std::string_view dir) {
  SqliteStatement& stmt = impl_->tree_find;
  ScopedReset reset(stmt);
  stmt.BindText(1, dir);
  HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) return std::optional<ObjectId>();
  ObjectId id;
  if (!ReadId(stmt.ColumnBlob(0), id)) {
    return impl_->Corrupt("base tree id is not 32 bytes", dir);
  }
  return std::optional<ObjectId>(id);
}

Result<Index::StatCacheChildren> Index::LoadStatCacheChildren(std::string_view dir) {
  StatCacheChildren children;
  SqliteStatement& stmt = impl_->stat_range;
  HX_RETURN_IF_ERROR(ForEachChildRow(
      stmt, dir,
      [&]() -> Status {
        HX_ASSIGN_OR_RETURN(StatCacheEntry entry, impl_->ReadStatRow(stmt));
        children.files.emplace(std::string(stmt.ColumnText(0)), std::move(entry));
        return OkStatus();
      },
      [&](const std::string& name) { children.dirs.push_back(name); }));
  return children;
}

Result<std::vector<std::string>> Index::StatCachePathsBelow(std::string_view dir) {
  const Below range(dir);
  SqliteStatement& stmt = impl_->stat_range;
  ScopedReset reset(stmt);
  stmt.BindText(1, range.first);
  stmt.BindText(2, range.end);
  std::vector<std::string> paths;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) return paths;
    paths.emplace_back(stmt.ColumnText(0));
  }
}

}  // namespace hx
