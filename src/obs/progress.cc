#include "obs/progress.h"

#include "base/mutex.h"

namespace hx::obs {

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kScan: return "scan";
    case Phase::kHash: return "hash";
    case Phase::kUpload: return "upload";
    case Phase::kDownload: return "download";
    case Phase::kApply: return "apply";
  }
  return "scan";
}

struct Progress::State {
  explicit State(ProgressListener* l) : listener(l) {}
  ProgressListener* const listener;
  Mutex mu;
  ProgressEvent event HX_GUARDED_BY(mu);
};

Progress::Progress(ProgressListener* listener) {
  if (listener != nullptr) state_ = std::make_shared<State>(listener);
}

void Progress::StartPhase(Phase phase, std::uint64_t files_total,
                          std::uint64_t bytes_total) const {
  if (!state_) return;
  MutexLock lock(state_->mu);
  state_->event = ProgressEvent{.phase = phase,
                                .files_done = 0,
                                .files_total = files_total,
                                .bytes_done = 0,
                                .bytes_total = bytes_total};
  state_->listener->OnProgress(state_->event);
}

void Progress::Add(std::uint64_t files, std::uint64_t bytes) const {
  if (!state_) return;
  MutexLock lock(state_->mu);
  state_->event.files_done += files;
  state_->event.bytes_done += bytes;
  state_->listener->OnProgress(state_->event);
}

void Progress::SetDone(std::uint64_t files, std::uint64_t bytes) const {
  if (!state_) return;
  MutexLock lock(state_->mu);
  state_->event.files_done = files;
  state_->event.bytes_done = bytes;
  state_->listener->OnProgress(state_->event);
}

void Progress::ReportPhaseDone(Phase phase, std::uint64_t files, std::uint64_t bytes) const {
  if (!state_) return;
  MutexLock lock(state_->mu);
  state_->event = ProgressEvent{
      .phase = phase, .files_done = files, .files_total = files, .bytes_done = bytes, .bytes_total = bytes};
  state_->listener->OnProgress(state_->event);
}

ProgressEvent Progress::Current() const {
  if (!state_) return {};
  MutexLock lock(state_->mu);
  return state_->event;
}

}  // namespace hx::obs
