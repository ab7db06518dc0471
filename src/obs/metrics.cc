#include "obs/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hx::obs {
namespace {

// A sample value as the text format writes it: integers without a decimal
// point, others with enough digits to read back the same double.
std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char out[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(out, sizeof out, "%.0f", v);
  } else {
    std::snprintf(out, sizeof out, "%.17g", v);
  }
  return out;
}

// The labels with one more (for a histogram's "le").
std::string WithLabel(const std::string& rendered, const std::string& name,
                      const std::string& value) {
  const std::string extra = name + "=\"" + value + "\"";
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const std::size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  MutexLock lock(mu_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  MutexLock lock(mu_);
  Snapshot s{.bounds = bounds_, .cumulative = {}, .sum = sum_, .count = count_};
  std::uint64_t running = 0;
  for (const std::uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first + "=\"";
    for (const char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "}";
}

MetricsRegistry::Family& MetricsRegistry::FamilyOf(std::string_view name, std::string_view help,
                                                   Type type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help), {}, {}, {}}).first;
  }
  return it->second;
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const Labels& labels) {
  MutexLock lock(mu_);
  auto& slot = FamilyOf(name, help, Type::kCounter).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  MutexLock lock(mu_);
  auto& slot = FamilyOf(name, help, Type::kGauge).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const Labels& labels,
                                         const std::vector<double>& bounds) {
  MutexLock lock(mu_);
  auto& slot = FamilyOf(name, help, Type::kHistogram).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

std::string MetricsRegistry::RenderPrometheus() const {
  MutexLock lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    // HELP text escapes backslash and newline only.
    std::string help;
    for (const char c : family.help) {
      if (c == '\\') {
        help += "\\\\";
      } else if (c == '\n') {
        help += "\\n";
      } else {
        help += c;
      }
    }
    out += "# HELP " + name + " " + help + "\n";
    switch (family.type) {
      case Type::kCounter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [labels, counter] : family.counters) {
          out += name + labels + " " + FormatValue(static_cast<double>(counter->Value())) + "\n";
        }
        break;
      case Type::kGauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [labels, gauge] : family.gauges) {
          out += name + labels + " " + FormatValue(static_cast<double>(gauge->Value())) + "\n";
        }
        break;
      case Type::kHistogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [labels, histogram] : family.histograms) {
          const Histogram::Snapshot s = histogram->Read();
          for (std::size_t i = 0; i <= s.bounds.size(); ++i) {
            const std::string le = i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf";
            out += name + "_bucket" + WithLabel(labels, "le", le) + " " +
                   FormatValue(static_cast<double>(s.cumulative[i])) + "\n";
          }
          out += name + "_sum" + labels + " " + FormatValue(s.sum) + "\n";
          out += name + "_count" + labels + " " + FormatValue(static_cast<double>(s.count)) + "\n";
        }
        break;
    }
  }
  return out;
}

MetricsRegistry& DefaultMetrics() {
  static MetricsRegistry* registry = new MetricsRegistry();  // never destroyed: used at exit
  return *registry;
}

void RecordStoreRequest(std::string_view op, bool ok, std::uint64_t bytes_up,
                        std::uint64_t bytes_down) {
  MetricsRegistry& m = DefaultMetrics();
  m.GetCounter(kStoreRequests, "Store calls by operation and outcome",
               {{"op", std::string(op)}, {"outcome", ok ? "ok" : "error"}})
      .Inc();
  if (bytes_up > 0) {
    m.GetCounter(kStoreBytes, "Bytes sent to and received from the store",
                 {{"direction", "up"}})
        .Inc(bytes_up);
  }
  if (bytes_down > 0) {
    m.GetCounter(kStoreBytes, "Bytes sent to and received from the store",
                 {{"direction", "down"}})
        .Inc(bytes_down);
  }
}

void RecordStoreRetry() {
  DefaultMetrics().GetCounter(kStoreRetries, "Store calls retried after a retryable failure").Inc();
}

void RecordS3Request(std::string_view method, bool ok) {
  DefaultMetrics()
      .GetCounter(kS3Requests, "S3 HTTP requests by method (LIST: a listing GET) and outcome",
                  {{"method", std::string(method)}, {"outcome", ok ? "ok" : "error"}})
      .Inc();
}

void RecordSyncRun(std::string_view op, std::string_view outcome, double seconds) {
  MetricsRegistry& m = DefaultMetrics();
  m.GetCounter(kSyncRuns, "Sync operations by operation and outcome (or error code)",
               {{"op", std::string(op)}, {"outcome", std::string(outcome)}})
      .Inc();
  m.GetHistogram(kSyncDuration, "How long sync operations (agent cycles) took, in seconds",
                 {{"op", std::string(op)}}, LatencyBuckets())
      .Observe(seconds);
}

void RecordConflicts(std::string_view op, std::uint64_t n) {
  DefaultMetrics()
      .GetCounter(kSyncConflicts, "Conflicts met (refused, or resolved by a merge policy)",
                  {{"op", std::string(op)}})
      .Inc(n);
}

void RecordItems(std::string_view status, std::uint64_t n) {
  DefaultMetrics()
      .GetCounter(kSyncItems, "Items of pulls and links by status",
                  {{"status", std::string(status)}})
      .Inc(n);
}

void RecordItemFailure(std::string_view category) {
  DefaultMetrics()
      .GetCounter(kSyncItemFailures, "Items that failed, by their error's category",
                  {{"category", std::string(category)}})
      .Inc();
}

void SetQueueDepth(std::int64_t depth) {
  DefaultMetrics().GetGauge(kAgentQueueDepth, "Paths waiting for the agent's next cycle").Set(depth);
}

}  // namespace hx::obs
