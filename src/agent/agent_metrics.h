// The agent's figures in a metrics registry (obs/metrics.h), which the agent
// serves on `hx sync watch --metrics-addr` (obs/metrics_server.h) next to the
// store and sync metrics the engine records in the same registry.
//
//   hx_agent_<name>_total         counters, one per name of
//                                 AgentStatus::counters (cycles,
//                                 pushes_published, pulls_applied, events,
//                                 own_writes_ignored, overflows,
//                                 full_rescans, ...), moved by the same calls
//                                 that move the status counters
//   hx_agent_errors_total{code}   failed cycles by error code (the status
//                                 keeps only their number, "errors")
//   hx_agent_remote_requests_total  the remote notifier's looks at the head
//   hx_agent_queue_depth          paths waiting for a cycle (gauge)
//   hx_agent_watcher_mode{mode}   1 for the current mode (inotify, polling,
//                                 overflowed), 0 for the others
//   hx_agent_paused_paths         paths (or the whole vault) paused (gauge)
//   hx_agent_consecutive_failures cycles failed in a row (gauge)
//   hx_agent_cycle_duration_seconds  a histogram of cycle times
//
// Counters start at zero with the process (one agent per process), as
// Prometheus expects; the status file's counters are the same figures.
//
// Thread-safety: one thread (the agent's) updates; the registry is
// thread-safe, so the metrics server renders it at any time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "obs/metrics.h"

namespace hx {

inline constexpr std::string_view kAgentMetricPrefix = "hx_agent_";

class AgentMetrics {
 public:
  explicit AgentMetrics(obs::MetricsRegistry& registry);

  // Adds `n` to hx_agent_<name>_total ("errors" is CountError's).
  void Count(const std::string& name, std::uint64_t n);
  // One failed cycle with this error code (KC_SYNC_...).
  void CountError(std::string_view code);
  // The remote notifier's request count so far (the counter follows it).
  void SetRemoteRequests(std::uint64_t total);
  void SetQueueDepth(std::size_t depth);
  void SetWatcherMode(std::string_view mode);
  void SetPaused(std::size_t paths);
  void SetConsecutiveFailures(std::uint64_t n);
  void ObserveCycle(double seconds);

 private:
  obs::MetricsRegistry& registry_;
  std::map<std::string, obs::Counter*, std::less<>> counters_;
  std::map<std::string, obs::Gauge*, std::less<>> modes_;
  obs::Counter& remote_requests_;
  std::uint64_t remote_seen_ = 0;
  obs::Gauge& queue_depth_;
  obs::Gauge& paused_;
  obs::Gauge& failures_;
  obs::Histogram& cycle_seconds_;
};

}  // namespace hx
