#include "obs/progress.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hx::obs {
namespace {

struct Recorder : ProgressListener {
  std::vector<ProgressEvent> events;
  void OnProgress(const ProgressEvent& e) override { events.push_back(e); }
};

TEST(ProgressTest, WithoutAListenerEveryCallIsANoOp) {
  Progress progress;
  EXPECT_FALSE(progress.enabled());
  progress.StartPhase(Phase::kUpload, 3, 300);
  progress.Add(1, 100);
  EXPECT_EQ(progress.Current().files_done, 0u);
}

TEST(ProgressTest, APhaseRestartsTheDoneCountsAndCopiesShareState) {
  Recorder recorder;
  Progress progress(&recorder);
  progress.StartPhase(Phase::kScan);
  const Progress copy = progress;  // what SyncOptions copies carry
  copy.StartPhase(Phase::kUpload, 2, 200);
  copy.Add(1, 150);
  progress.Add(1, 50);
  progress.StartPhase(Phase::kApply, 5, 0);
  ASSERT_EQ(recorder.events.size(), 5u);
  EXPECT_EQ(recorder.events[0].phase, Phase::kScan);
  EXPECT_EQ(recorder.events[3].phase, Phase::kUpload);
  EXPECT_EQ(recorder.events[3].files_done, 2u);
  EXPECT_EQ(recorder.events[3].bytes_done, 200u);
  EXPECT_EQ(recorder.events[3].files_total, 2u);
  EXPECT_EQ(recorder.events[4].phase, Phase::kApply);
  EXPECT_EQ(recorder.events[4].files_done, 0u);
  EXPECT_EQ(PhaseName(Phase::kDownload), "download");
}

TEST(ProgressTest, APhaseDoneBeforeItIsReportedIsOneEvent) {
  Recorder recorder;
  Progress progress(&recorder);
  progress.ReportPhaseDone(Phase::kHash, 2, 300);
  ASSERT_EQ(recorder.events.size(), 1u);
  EXPECT_EQ(recorder.events[0].files_done, recorder.events[0].files_total);
  EXPECT_EQ(recorder.events[0].bytes_done, 300u);
}

TEST(ProgressTest, ConcurrentWorkersLoseNoUpdate) {
  Recorder recorder;
  Progress progress(&recorder);
  progress.StartPhase(Phase::kUpload, 4000, 4000);
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([progress] {
      for (int i = 0; i < 1000; ++i) progress.Add(1, 1);
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(progress.Current().files_done, 4000u);
  EXPECT_EQ(recorder.events.back().bytes_done, 4000u);
  EXPECT_EQ(recorder.events.size(), 4001u);
}

}  // namespace
}  // namespace hx::obs
