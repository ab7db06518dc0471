// hx_watch_scale: the watcher's scale check (issue 12: a 100,000-file vault
// is watched with set-up under 3 s, idle CPU under 0.5% of a core, peak RSS
// under 100 MB). Not a test: run it by hand,
//
//   build/gcc/src/agent/hx_watch_scale [dirs] [files_per_dir] [idle_seconds]
//
// (defaults 1000 x 100, 10 s). It builds the vault in a temporary folder,
// then reports for the inotify adapter: set-up time (Start: the walk and one
// watch per directory), the process's peak RSS (VmHWM) before and after,
// CPU used while idle (Poll with a 1 s timeout, as the agent waits), and the
// detection latency (a write until its event, p50/p95/max over 50 writes);
// and for the polling adapter: the baseline walk, one no-change walk, and
// the peak RSS after it.
#include <sys/resource.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/inotify_watcher.h"
#include "agent/polling_watcher.h"
#include "scan/ignore.h"

namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

double MsSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

// A line of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1.
long StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

double CpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

void Write(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    std::perror(path.c_str());
    std::exit(1);
  }
  ::close(fd);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const int dirs = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int files = argc > 2 ? std::atoi(argv[2]) : 100;
  const int idle_seconds = argc > 3 ? std::atoi(argv[3]) : 10;

  std::string pattern = (fs::temp_directory_path() / "hx_watch_scale_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path vault = pattern;
  auto start = Steady::now();
  for (int d = 0; d < dirs; ++d) {
    const std::string dir = (vault / ("d" + std::to_string(d))).string();
    ::mkdir(dir.c_str(), 0755);
    for (int f = 0; f < files; ++f) Write(dir + "/f" + std::to_string(f) + ".txt", "x");
  }
  std::printf("vault: %d dirs x %d files = %d files, created in %.0f ms\n", dirs, files,
              dirs * files, MsSince(start));
  std::printf("rss before watching: VmHWM %ld kB, VmRSS %ld kB\n", StatusKb("VmHWM"),
              StatusKb("VmRSS"));

  {
    std::unique_ptr<hx::Watcher> watcher = hx::MakeInotifyWatcher(hx::InotifyOptions{});
    start = Steady::now();
    const hx::Status started = watcher->Start(vault, hx::IgnoreRules());
    const double setup_ms = MsSince(start);
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.error().ToShortString().c_str());
      return 1;
    }
    std::printf("inotify set-up: %.1f ms (%d directories watched), mode %s\n", setup_ms,
                dirs + 1, std::string(hx::WatcherModeName(watcher->mode())).c_str());
    std::printf("inotify rss after set-up: VmHWM %ld kB, VmRSS %ld kB\n", StatusKb("VmHWM"),
                StatusKb("VmRSS"));

    const double cpu_before = CpuSeconds();
    start = Steady::now();
    int polls = 0;
    while (MsSince(start) < idle_seconds * 1000.0) {
      (void)watcher->Poll(1000);
      ++polls;
    }
    const double idle_cpu = CpuSeconds() - cpu_before;
    std::printf("inotify idle: %.4f s CPU over %.1f s (%d polls) = %.3f%% of a core\n", idle_cpu,
                MsSince(start) / 1000, polls, 100.0 * idle_cpu / (MsSince(start) / 1000));

    std::vector<double> latencies;
    for (int i = 0; i < 50; ++i) {
      const std::string rel = "d" + std::to_string(i * 7 % dirs) + "/probe" + std::to_string(i);
      const auto written = Steady::now();
      Write((vault / rel).string(), "probe");
      bool seen = false;
      while (!seen && MsSince(written) < 5000) {
        hx::Result<std::vector<hx::WatchEvent>> events = watcher->Poll(100);
        if (!events.ok()) break;
        for (const hx::WatchEvent& e : *events) seen = seen || e.path == rel;
      }
      latencies.push_back(MsSince(written));
      (void)watcher->Poll(0);  // drain the rest (the close event)
    }
    std::printf("inotify detection (write -> event): p50 %.2f ms, p95 %.2f ms, max %.2f ms\n",
                Percentile(latencies, 0.5), Percentile(latencies, 0.95),
                Percentile(latencies, 1.0));
  }

  {
    hx::PollingOptions options;
    options.interval_ms = 0;  // every Poll walks
    options.min_idle_factor = 0;
    std::unique_ptr<hx::Watcher> watcher = hx::MakePollingWatcher(options);
    start = Steady::now();
    double cpu = CpuSeconds();
    if (!watcher->Start(vault, hx::IgnoreRules()).ok()) return 1;
    std::printf("polling baseline walk: %.1f ms, %.1f ms CPU\n", MsSince(start),
                (CpuSeconds() - cpu) * 1000);
    start = Steady::now();
    cpu = CpuSeconds();
    hx::Result<std::vector<hx::WatchEvent>> events = watcher->Poll(0);
    std::printf("polling no-change walk: %.1f ms, %.1f ms CPU (%zu events)\n", MsSince(start),
                (CpuSeconds() - cpu) * 1000, events.ok() ? events->size() : 0);
    std::printf("rss after polling: VmHWM %ld kB, VmRSS %ld kB\n", StatusKb("VmHWM"),
                StatusKb("VmRSS"));
  }

  std::error_code ignored;
  fs::remove_all(vault, ignored);
  return 0;
}
