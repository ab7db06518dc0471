#include "scan/file_hasher.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "base/os_error.h"

namespace hx {
namespace {

constexpr off_t kSequentialHintBytes = off_t{1} << 20;

std::int64_t Nanos(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Error FileError(Category category, const std::string& path, const std::string& what, int error) {
  Error result(SyncCode::kStateFailed, category, what + " " + path + ": " + std::strerror(error));
  result.With("path", path)
      .With("errno", std::to_string(error))
      .With("error", std::strerror(error));
  return result;
}

Error Unstable(const std::string& path, const std::string& why) {
  Error error(SyncCode::kStateFailed, Category::kAborted,
              "the file " + path + " changed while hx was reading it (" + why +
                  "); it is left as it was and a later sync will pick it up");
  error.With("path", path);
  return error;
}

// A ReadFn over `fd` through `env`; a failed read carries its errno's
// category (a full disk or a permission error is not "io").
ReadFn EnvReader(Env& env, int fd) {
  return [&env, fd](std::span<std::uint8_t> buffer) -> Result<std::size_t> {
    std::size_t got = 0;
    if (const int err = env.Read(fd, buffer.data(), buffer.size(), &got); err != 0) {
      return Error(SyncCode::kStateFailed, CategoryOfErrno(err),
                   std::string("reading a file failed: ") + std::strerror(err))
          .With("errno", std::to_string(err))
          .With("error", std::strerror(err));
    }
    return got;
  };
}

enum class ReadResult { kConsistent, kChanged, kVanished, kFailed };

}  // namespace

FileStat FileStatOf(const struct stat& st) {
  FileStat stat;
  stat.size = static_cast<std::uint64_t>(st.st_size);
  stat.mtime_ns = Nanos(st.st_mtim);
  stat.ctime_ns = Nanos(st.st_ctim);
  stat.inode = static_cast<std::uint64_t>(st.st_ino);
  stat.mode = static_cast<std::uint32_t>(st.st_mode);
  return stat;
}

HashFileOutcome HashFile(Env& env, int dir_fd, const std::string& name, const std::string& path,
                         ChunkStream& stream, const ChunkIdFn& chunk_id) {
  HashFileOutcome outcome;
  std::string why;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // O_NONBLOCK: if the file was replaced by a FIFO since it was listed,
    // opening must not wait for a writer (fstat then shows the change).
    // O_NOATIME: reading for a sync should not count as the user's access
    // (and saves an inode write per file); only the owner may ask for it.
    constexpr int kFlags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int raw = -1;
    int open_error = env.Open(dir_fd, name.c_str(), kFlags | O_NOATIME, 0, &raw);
    if (open_error == EPERM) {
      open_error = env.Open(dir_fd, name.c_str(), kFlags, 0, &raw);
    }
    if (open_error != 0) {
      const int error = open_error;
      if (error == ENOENT) {
        return outcome;  // deleted since it was listed: simply gone
      }
      if (error == ELOOP) {
        why = "it became a symlink";
        continue;
      }
      outcome.error = FileError(CategoryOfErrno(error), path, "cannot open", error);
      return outcome;
    }
    const Fd fd_owner(env, raw);
    const int fd = raw;
    struct stat before {};
    if (const int err = env.Fstat(fd, &before); err != 0) {
      outcome.error = FileError(CategoryOfErrno(err), path, "cannot stat", err);
      return outcome;
    }
    if (!S_ISREG(before.st_mode)) {
      why = "it is no longer a regular file";
      continue;
    }
    // Sequential read-ahead helps large files; small ones fit the default
    // window and would pay a system call for nothing.
    if (before.st_size >= kSequentialHintBytes) {
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ++outcome.reads;
    HashedFile file;
    stream.Reset(EnvReader(env, fd));
    bool read_failed = false;
    while (true) {
      Result<std::optional<Chunk>> chunk = stream.Next();
      if (!chunk.ok()) {
        const Error& error = chunk.error();
        outcome.error = Error(SyncCode::kStateFailed, error.category,
                              "cannot read " + path + ": " + error.message);
        outcome.error->details = error.details;
        outcome.error->With("path", path);
        read_failed = true;
        break;
      }
      if (!chunk->has_value()) {
        break;
      }
      const std::span<const std::uint8_t> bytes = (*chunk)->data;
      file.chunks.push_back({chunk_id(bytes), bytes.size()});
    }
    outcome.bytes_read += stream.offset();
    if (read_failed) {
      return outcome;
    }
    struct stat after {};
    if (const int err = env.Fstat(fd, &after); err != 0) {
      outcome.error = FileError(CategoryOfErrno(err), path, "cannot stat", err);
      return outcome;
    }
    const FileStat start = FileStatOf(before);
    const FileStat end = FileStatOf(after);
    if (start.size != end.size || start.mtime_ns != end.mtime_ns ||
        start.ctime_ns != end.ctime_ns) {
      why = "its size or times changed during the read";
      continue;
    }
    if (stream.offset() != end.size) {
      why = "it had " + std::to_string(stream.offset()) + " bytes, not " + std::to_string(end.size);
      continue;
    }
    file.stat = end;
    outcome.file = std::move(file);
    return outcome;
  }
  outcome.error = Unstable(path, why);
  return outcome;
}

}  // namespace hx
