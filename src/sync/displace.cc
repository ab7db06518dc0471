#include "sync/displace.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <optional>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/resolve.h"

namespace hx {
namespace {

// The largest N tried for "<name>.~N~" (the archive's bound, archive.cc),
// and for a free pending name.
constexpr int kMaxVariants = 10000;

// Makes pending names unique within the process (with its pid: across
// processes).
std::atomic<std::uint64_t> pending_counter{0};

VaultArea AreaOf(const std::string& rel) {
  const std::string_view state = kVaultStateDirName;
  return rel.size() > state.size() && rel.starts_with(state) && rel[state.size()] == '/'
             ? VaultArea::kState
             : VaultArea::kContent;
}

// A file system that cannot give a file a second name (linkat).
bool LinksUnsupported(int err) {
  return err == EPERM || err == EMLINK || err == EOPNOTSUPP || err == EXDEV || err == ENOSYS;
}

// A file system without renameat2 RENAME_EXCHANGE.
bool ExchangeUnsupported(int err) { return err == EINVAL || err == ENOSYS; }

std::string Join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

// The old version's new name: its leaf in the directory of d.to, and its
// vault-relative path.
struct Aside {
  std::string name;
  std::string rel;
  // A conflict copy that already held the same content: nothing was linked
  // or renamed there (and nothing there is ours to remove).
  bool already = false;
};

// One replacement (or move) of the version at `path` that keeps it at d's
// name.
class Keeper {
 public:
  Keeper(const VaultDir& vault, const VaultSlot& slot, const std::string& path,
         const Displacement& d)
      : vault_(vault), env_(vault.env()), slot_(slot), path_(path), d_(d) {
    const std::size_t slash = d.to.rfind('/');
    to_parent_ = slash == std::string::npos ? std::string() : d.to.substr(0, slash);
  }

  // Opens the directory of d's name (created if missing).
  Status Open() {
    HX_ASSIGN_OR_RETURN(to_, vault_.OpenParent(d_.to, AreaOf(d_.to), /*create=*/true));
    return OkStatus();
  }

  // Gives the version named `from` in `from_dir` d's name: a hard link
  // (by_rename: a rename), never over anything else. A name that already
  // links this very version is reused. nullopt: hard links are unsupported
  // here.
  Result<std::optional<Aside>> PutAside(int from_dir, const std::string& from, bool by_rename) {
    for (int n = 1; n <= kMaxVariants; ++n) {
      std::string name = n == 1             ? to_.name
                         : d_.conflict_copy ? ConflictCopyVariant(to_.name, n)
                                            : to_.name + ".~" + std::to_string(n) + "~";
      const int err =
          by_rename ? vault_.RenameNoReplace(from_dir, from, to_.dir.get(), name)
                    : env_.LinkAt(from_dir, from.c_str(), to_.dir.get(), name.c_str());
      if (err == 0) return std::optional<Aside>(Aside{name, Join(to_parent_, name), false});
      if (err == EEXIST) {
        struct stat mine, there;
        if (!by_rename &&
            env_.StatAt(from_dir, from.c_str(), &mine, AT_SYMLINK_NOFOLLOW) == 0 &&
            env_.StatAt(to_.dir.get(), name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
            mine.st_dev == there.st_dev && mine.st_ino == there.st_ino) {
          return std::optional<Aside>(Aside{name, Join(to_parent_, name), false});
        }
        if (d_.conflict_copy) {
          if (SameContent(from_dir, from, name)) {
            return std::optional<Aside>(Aside{name, Join(to_parent_, name), /*already=*/true});
          }
          continue;
        }
        if (d_.free_variant) continue;
        const std::string full = vault_.Full(path_).string();
        return Error(SyncCode::kApplyFailed, Category::kConflict,
                     "cannot keep the local version of " + full + " at " +
                         vault_.Full(Join(to_parent_, name)).string() +
                         ": something else is there; move it away and sync again")
            .With("path", full);
      }
      if (!by_rename && LinksUnsupported(err)) return std::optional<Aside>();
      return vault_.PathError("cannot keep the local version of " + path_ + " at",
                              Join(to_parent_, name), err);
    }
    return Error(SyncCode::kApplyFailed, Category::kIo,
                 "there are already " + std::to_string(kMaxVariants) + " versions at " +
                     vault_.Full(d_.to).string() + "; clear .hx/archive/ and sync again")
        .With("path", vault_.Full(path_).string());
  }

  // The old version is a file or symlink.
  Result<std::string> ReplaceFileLike(const StagedVersion& staged) {
    HX_ASSIGN_OR_RETURN(std::optional<Aside> aside,
                        PutAside(slot_.dir.get(), slot_.name, /*by_rename=*/false));
    if (!aside) return ReplaceAfterRenameAside(staged);
    // The path holds the old version, which has its new name too.
    int err = staged.is_dir ? Exchange(staged.dir, staged.name)
                            : env_.RenameAt(staged.dir, staged.name.c_str(), slot_.dir.get(),
                                            slot_.name.c_str(), 0);
    if (err == 0) {
      // A swapped-in directory left the old version's third name in staging.
      if (staged.is_dir) (void)env_.UnlinkAt(staged.dir, staged.name.c_str(), 0);
      return Kept(*aside);
    }
    if (staged.is_dir && ExchangeUnsupported(err)) {
      // No swap here: the old version is kept at its new name while the
      // path is freed for the directory; put back if the directory cannot
      // move in.
      err = env_.UnlinkAt(slot_.dir.get(), slot_.name.c_str(), 0);
      if (err == 0) {
        err = vault_.RenameNoReplace(staged.dir, staged.name, slot_.dir.get(), slot_.name);
        if (err == 0) return Kept(*aside);
        if (env_.LinkAt(to_.dir.get(), aside->name.c_str(), slot_.dir.get(),
                        slot_.name.c_str()) != 0) {
          return StillAside(err, *aside);
        }
      }
    }
    if (!aside->already) (void)env_.UnlinkAt(to_.dir.get(), aside->name.c_str(), 0);
    return vault_.PathError("cannot move into place", path_, err);
  }

  // Where hard links are unsupported: the old version is renamed to its new
  // name, then the staged one into the freed path (the old one put back if
  // that fails).
  Result<std::string> ReplaceAfterRenameAside(const StagedVersion& staged) {
    HX_ASSIGN_OR_RETURN(std::optional<Aside> aside,
                        PutAside(slot_.dir.get(), slot_.name, /*by_rename=*/true));
    if (aside && aside->already) {
      // The old version's content is kept at the copy: the path is simply
      // replaced (it holds the old or the new version at every instant).
      if (const int err = env_.RenameAt(staged.dir, staged.name.c_str(), slot_.dir.get(),
                                        slot_.name.c_str(), 0);
          err != 0) {
        return vault_.PathError("cannot move into place", path_, err);
      }
      return Kept(*aside);
    }
    if (const int err =
            vault_.RenameNoReplace(staged.dir, staged.name, slot_.dir.get(), slot_.name);
        err != 0) {
      if (vault_.RenameNoReplace(to_.dir.get(), aside->name, slot_.dir.get(), slot_.name) != 0) {
        return StillAside(err, *aside);
      }
      return vault_.PathError("cannot move into place", path_, err);
    }
    return Kept(*aside);
  }

  // The old version is a directory (which cannot be linked): the staged
  // version waits at a pending name beside d's name, is swapped with the
  // directory, and the directory takes d's name.
  Result<std::string> ReplaceDir(const StagedVersion& staged) {
    std::string pending;
    int err = EEXIST;
    for (int n = 0; n < kMaxVariants && err == EEXIST; ++n) {
      pending = to_.name + ".~pending-" + std::to_string(::getpid()) + "-" +
                std::to_string(pending_counter.fetch_add(1)) + "~";
      err = vault_.RenameNoReplace(staged.dir, staged.name, to_.dir.get(), pending);
    }
    if (err != 0) {
      return vault_.PathError("cannot move the new version of " + path_ + " to",
                              Join(to_parent_, pending), err);
    }
    // The staged version back at its name in staging (or gone).
    const auto put_back = [&] {
      if (vault_.RenameNoReplace(to_.dir.get(), pending, staged.dir, staged.name) != 0) {
        (void)env_.UnlinkAt(to_.dir.get(), pending.c_str(), 0);
      }
    };
    err = Exchange(to_.dir.get(), pending);
    if (ExchangeUnsupported(err)) {
      Result<std::optional<Aside>> aside =
          PutAside(slot_.dir.get(), slot_.name, /*by_rename=*/true);
      if (!aside.ok()) {
        put_back();
        return std::move(aside).error();
      }
      err = vault_.RenameNoReplace(to_.dir.get(), pending, slot_.dir.get(), slot_.name);
      if (err == 0) return Kept(**aside);
      if (vault_.RenameNoReplace(to_.dir.get(), (*aside)->name, slot_.dir.get(), slot_.name) !=
          0) {
        return StillAside(err, **aside);
      }
      put_back();
      return vault_.PathError("cannot move into place", path_, err);
    }
    if (err != 0) {
      put_back();
      return vault_.PathError("cannot move into place", path_, err);
    }
    // The path holds the new version; the directory is at the pending name.
    Result<std::optional<Aside>> aside = PutAside(to_.dir.get(), pending, /*by_rename=*/true);
    if (aside.ok()) return Kept(**aside);
    if (Exchange(to_.dir.get(), pending) == 0) {
      put_back();
      return std::move(aside).error();
    }
    Error e = std::move(aside).error();
    e.message += "; the local version is at " + vault_.Full(Join(to_parent_, pending)).string();
    return e;
  }

  // A remote deletion: the old version renamed to d's name.
  Result<std::string> MoveAside() {
    HX_ASSIGN_OR_RETURN(std::optional<Aside> aside,
                        PutAside(slot_.dir.get(), slot_.name, /*by_rename=*/true));
    if (aside && aside->already) {
      // Its content is kept at the copy: the path is simply removed.
      if (const int err = env_.UnlinkAt(slot_.dir.get(), slot_.name.c_str(), 0);
          err != 0 && err != ENOENT) {
        return vault_.PathError("cannot delete", path_, err);
      }
    }
    (void)env_.Fsync(slot_.dir.get());
    return Kept(*aside);
  }

 private:
  // Whether `name` in the copy's directory holds the same file or symlink
  // content as `from` in `from_dir` (bytes and executable bit, or target).
  // Directories, other kinds and anything unreadable: false (the copy then
  // takes a fresh name: never a wrong "already kept").
  bool SameContent(int from_dir, const std::string& from, const std::string& name) {
    struct stat a, b;
    if (env_.StatAt(from_dir, from.c_str(), &a, AT_SYMLINK_NOFOLLOW) != 0 ||
        env_.StatAt(to_.dir.get(), name.c_str(), &b, AT_SYMLINK_NOFOLLOW) != 0) {
      return false;
    }
    if (S_ISLNK(a.st_mode) && S_ISLNK(b.st_mode)) {
      std::string ta, tb;
      return env_.ReadlinkAt(from_dir, from.c_str(), &ta) == 0 &&
             env_.ReadlinkAt(to_.dir.get(), name.c_str(), &tb) == 0 && ta == tb;
    }
    if (!S_ISREG(a.st_mode) || !S_ISREG(b.st_mode) || a.st_size != b.st_size ||
        (a.st_mode & S_IXUSR) != (b.st_mode & S_IXUSR)) {
      return false;
    }
    int raw_a = -1, raw_b = -1;
    if (env_.Open(from_dir, from.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw_a) != 0) return false;
    Fd fa(env_, raw_a);
    if (env_.Open(to_.dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW, 0, &raw_b) != 0) return false;
    Fd fb(env_, raw_b);
    std::string ba(std::size_t{1} << 16, '\0'), bb(std::size_t{1} << 16, '\0');
    std::uint64_t offset = 0;
    while (true) {
      std::size_t got_a = 0, got_b = 0;
      if (env_.PRead(fa.get(), ba.data(), ba.size(), offset, &got_a) != 0 ||
          env_.PRead(fb.get(), bb.data(), bb.size(), offset, &got_b) != 0 || got_a != got_b) {
        return false;
      }
      if (got_a == 0) return offset == static_cast<std::uint64_t>(a.st_size);
      if (std::string_view(ba.data(), got_a) != std::string_view(bb.data(), got_b)) return false;
      offset += got_a;
    }
  }

  // Swaps `name` in `dir` with what is at the path.
  int Exchange(int dir, const std::string& name) {
    return env_.RenameAt(dir, name.c_str(), slot_.dir.get(), slot_.name.c_str(), RENAME_EXCHANGE);
  }

  // Success: the new name made durable.
  Result<std::string> Kept(const Aside& aside) {
    if (d_.durable) (void)env_.Fsync(to_.dir.get());
    return aside.rel;
  }

  // The path could not be given back its old version, which is at its new
  // name (nothing lost): the error says where.
  Error StillAside(int err, const Aside& aside) {
    Error e = vault_.PathError("cannot move into place", path_, err);
    e.message += "; the local version is at " + vault_.Full(aside.rel).string();
    return e;
  }

  const VaultDir& vault_;
  Env& env_;
  const VaultSlot& slot_;
  const std::string& path_;
  const Displacement& d_;
  std::string to_parent_;
  VaultSlot to_;
};

}  // namespace

Result<std::string> ReplaceKeeping(const VaultDir& vault, const VaultSlot& slot,
                                   const std::string& path, bool old_is_dir,
                                   const StagedVersion& staged, const Displacement& d) {
  Keeper keeper(vault, slot, path, d);
  HX_RETURN_IF_ERROR(keeper.Open());
  return old_is_dir ? keeper.ReplaceDir(staged) : keeper.ReplaceFileLike(staged);
}

Result<std::string> MoveKeeping(const VaultDir& vault, const VaultSlot& slot,
                                const std::string& path, const Displacement& d) {
  Keeper keeper(vault, slot, path, d);
  HX_RETURN_IF_ERROR(keeper.Open());
  return keeper.MoveAside();
}

}  // namespace hx
