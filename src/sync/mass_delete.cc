#include "sync/mass_delete.h"

#include <string>

#include "base/next_steps.h"

namespace hx {

std::uint64_t CountLiveFiles(const EntryMap& entries) {
  std::uint64_t n = 0;
  for (const auto& [path, entry] : entries) {
    if (entry.kind == EntryKind::kFile || entry.kind == EntryKind::kSymlink) ++n;
  }
  return n;
}

Status CheckMassDelete(const MassDeleteCheck& check) {
  if (check.confirmed || check.deleting == 0) return OkStatus();
  const bool emptied = check.live_after == 0 && check.live_before > 0;
  const bool large_share = check.deleting >= kMassDeleteMinFiles &&
                           check.deleting * 100 > check.live_before *
                                                      static_cast<std::uint64_t>(check.max_share_pct);
  if (!emptied && !large_share) return OkStatus();
  std::string why = emptied ? "would delete every file of the vault" : "would delete " +
                                  std::to_string(check.deleting) + " of " +
                                  std::to_string(check.live_before) + " files (more than " +
                                  std::to_string(check.max_share_pct) + "%)";
  std::string hint = std::string(check.operation) == "push"
                         ? "; if the vault folder is on a disk that is not mounted, mount it. "
                           "If you really deleted them, run again with --allow-mass-delete"
                         : "; if you really want them deleted here, run again with "
                           "--allow-mass-delete";
  return Error(SyncCode::kStateFailed, Category::kInvalidInput,
               std::string("mass-delete guard: this ") + check.operation + " " + why +
                   ". Nothing was changed" + hint)
      .With("deleting", std::to_string(check.deleting))
      .With("live_files", std::to_string(check.live_before))
      .With("guard", "mass_delete")
      .WithNextStep(std::string(std::string_view(check.operation) == "push"
                                    ? next_steps::kMassDeletePush
                                    : next_steps::kMassDeletePull));
}

}  // namespace hx
