#include "agent/agent_metrics.h"

#include <array>
#include <utility>

namespace hx {
namespace {

// The help of each counter the agent keeps (agent.cc's Count calls); a name
// not listed here still gets a counter, with a generic help.
constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kCounterHelp = {{
    {"cycles", "Agent cycles run (a pull and/or a push)"},
    {"batches", "Batches of local changes taken for a push"},
    {"pushes_attempted", "Pushes the agent started"},
    {"pushes_published", "Pushes that published a snapshot"},
    {"full_pushes", "Pushes that scanned the whole folder"},
    {"scoped_pushes", "Pushes that scanned only the changed paths' folders"},
    {"pulls_applied", "Pulls (or a push's merge) that changed the folder"},
    {"pulled_items", "Items the agent's pulls applied"},
    {"events", "Watcher events taken (overflows included)"},
    {"events_dropped", "Watcher events dropped by the test option (an injected overflow)"},
    {"own_writes_ignored", "Events of files a pull installed, dropped because the file is still as installed"},
    {"overflows", "Watcher overflows (events lost: a full rescan follows)"},
    {"full_rescans", "Full rescans after an overflow"},
    {"remote_errors", "Failed looks at the store's head"},
    {"bytes_uploaded", "Bytes the agent's pushes uploaded"},
    {"bytes_fetched", "Bytes the agent's pulls fetched"},
    {"own_writes_recorded", "Paths a pull installed, recorded for the own-write filter"},
    {"own_writes_changed", "Files a pull installed that changed again before their event was taken"},
}};

std::string_view HelpOf(std::string_view name) {
  for (const auto& [n, help] : kCounterHelp) {
    if (n == name) return help;
  }
  return "An agent counter (see AgentStatus::counters)";
}

constexpr std::array<std::string_view, 3> kModes = {"inotify", "polling", "overflowed"};

}  // namespace

AgentMetrics::AgentMetrics(obs::MetricsRegistry& registry)
    : registry_(registry),
      remote_requests_(registry.GetCounter("hx_agent_remote_requests_total",
                                           "Requests the agent made to look at the store's head")),
      queue_depth_(registry.GetGauge(obs::kAgentQueueDepth,
                                     "Paths waiting for the agent's next cycle")),
      paused_(registry.GetGauge("hx_agent_paused_paths",
                                "Paths the agent holds until the user acts (a conflict, the "
                                "mass-delete guard: 1 for the whole vault)")),
      failures_(registry.GetGauge("hx_agent_consecutive_failures",
                                  "Agent cycles failed in a row (backing off while > 0)")),
      cycle_seconds_(registry.GetHistogram("hx_agent_cycle_duration_seconds",
                                           "How long the agent's cycles took, in seconds", {},
                                           obs::LatencyBuckets())) {
  for (const auto& [name, help] : kCounterHelp) {
    // Every known counter is rendered from the start (at 0), so a scrape
    // sees the whole set before anything happened.
    if (name == "events_dropped") continue;  // a test option's
    Count(std::string(name), 0);
  }
  for (std::string_view mode : kModes) {
    modes_[std::string(mode)] =
        &registry_.GetGauge("hx_agent_watcher_mode",
                            "The agent's watcher mode: 1 for the current one",
                            {{"mode", std::string(mode)}});
  }
}

void AgentMetrics::Count(const std::string& name, std::uint64_t n) {
  if (name == "errors") return;  // by code: CountError
  auto it = counters_.find(name);
  if (it == counters_.end()) {
    const std::string family = std::string(kAgentMetricPrefix) + name + "_total";
    it = counters_.emplace(name, &registry_.GetCounter(family, HelpOf(name))).first;
  }
  it->second->Inc(n);
}

void AgentMetrics::CountError(std::string_view code) {
  registry_
      .GetCounter("hx_agent_errors_total", "Agent cycles that failed, by error code",
                  {{"code", std::string(code)}})
      .Inc();
}

void AgentMetrics::SetRemoteRequests(std::uint64_t total) {
  if (total > remote_seen_) remote_requests_.Inc(total - remote_seen_);
  remote_seen_ = total;
}

void AgentMetrics::SetQueueDepth(std::size_t depth) {
  queue_depth_.Set(static_cast<std::int64_t>(depth));
}

void AgentMetrics::SetWatcherMode(std::string_view mode) {
  if (modes_.find(mode) == modes_.end()) {
    modes_[std::string(mode)] = &registry_.GetGauge(
        "hx_agent_watcher_mode", "The agent's watcher mode: 1 for the current one",
        {{"mode", std::string(mode)}});
  }
  for (auto& [name, gauge] : modes_) gauge->Set(name == mode ? 1 : 0);
}

void AgentMetrics::SetPaused(std::size_t paths) { paused_.Set(static_cast<std::int64_t>(paths)); }

void AgentMetrics::SetConsecutiveFailures(std::uint64_t n) {
  failures_.Set(static_cast<std::int64_t>(n));
}

void AgentMetrics::ObserveCycle(double seconds) { cycle_seconds_.Observe(seconds); }

}  // namespace hx
