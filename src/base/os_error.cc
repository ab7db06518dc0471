#include "base/os_error.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace hx {

Category CategoryOfErrno(int err) {
  if (err == ENOSPC || err == EDQUOT) return Category::kNoSpace;
  if (err == EACCES || err == EPERM || err == EROFS) return Category::kAuth;
  return Category::kIo;
}

Error OsError(SyncCode code, std::string_view what, const std::filesystem::path& path, int err,
              std::string_view hint) {
  std::string message = std::string(what) + " " + path.string() + ": " + std::strerror(err);
  if (!hint.empty()) message += "; " + std::string(hint);
  return Error(code, CategoryOfErrno(err), std::move(message)).With("path", path.string());
}

}  // namespace hx
