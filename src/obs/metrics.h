// A small metrics registry: counters, gauges and histograms with fixed
// buckets, each family with labels, rendered in the Prometheus text format
// (version 0.0.4) for the agent's /metrics endpoint (metrics_server.h) and
// `hx sync status --metrics`.
//
// One registry per process (DefaultMetrics()); tests may make their own.
// Metric objects live as long as their registry: a reference returned by
// Counter/Gauge/Histogram stays valid, so hot paths look a metric up once
// and keep it. Names hx records are listed in docs/ARCHITECTURE.md
// ("Observability"); the helpers at the end record them.
//
// Thread-safety: everything is thread-safe; updates are lock-free
// (histograms take a short lock), registration takes the registry's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace hx::obs {

// Label names and values, in the order given (the same family must always
// be given the same names in the same order).
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(std::int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, increasing (+Inf is implicit).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  mutable Mutex mu_;
  std::vector<std::uint64_t> counts_ HX_GUARDED_BY(mu_);  // per bucket, then +Inf
  double sum_ HX_GUARDED_BY(mu_) = 0;
  std::uint64_t count_ HX_GUARDED_BY(mu_) = 0;
};

// Seconds, from 10 ms to 10 minutes: the buckets of hx's latencies.
std::vector<double> LatencyBuckets();

class MetricsRegistry {
 public:
  // The metric of family `name` with these labels, created at first use.
  // `help` is the family's description (the first one given is kept).
  // Precondition: `name` is not already a family of another type.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels,
                          const std::vector<double>& bounds);

  // Every family, sorted by name, each metric sorted by its labels:
  // "# HELP", "# TYPE", then the samples, ending with a newline.
  std::string RenderPrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by rendered labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyOf(std::string_view name, std::string_view help, Type type)
      HX_REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ HX_GUARDED_BY(mu_);
};

// The process's registry.
MetricsRegistry& DefaultMetrics();

// `{a="x",b="y"}` with values escaped as the text format requires ("" for
// no labels).
std::string RenderLabels(const Labels& labels);

// ------------------------------------------------- what hx records
// Counters of hx_store_requests_total{op,outcome}, hx_store_bytes_total
// {direction}, hx_store_retries_total, hx_s3_requests_total{method,outcome},
// hx_sync_runs_total{op,outcome}, hx_sync_conflicts_total{op},
// hx_sync_items_total{status}, hx_sync_item_failures_total{category}; the
// histogram hx_sync_duration_seconds{op}; the gauge hx_agent_queue_depth.
inline constexpr std::string_view kStoreRequests = "hx_store_requests_total";
inline constexpr std::string_view kStoreBytes = "hx_store_bytes_total";
inline constexpr std::string_view kStoreRetries = "hx_store_retries_total";
inline constexpr std::string_view kS3Requests = "hx_s3_requests_total";
inline constexpr std::string_view kSyncRuns = "hx_sync_runs_total";
inline constexpr std::string_view kSyncConflicts = "hx_sync_conflicts_total";
inline constexpr std::string_view kSyncItems = "hx_sync_items_total";
inline constexpr std::string_view kSyncItemFailures = "hx_sync_item_failures_total";
inline constexpr std::string_view kSyncDuration = "hx_sync_duration_seconds";
inline constexpr std::string_view kAgentQueueDepth = "hx_agent_queue_depth";

// One store call (op: store_wrappers.h's names) and its bytes.
void RecordStoreRequest(std::string_view op, bool ok, std::uint64_t bytes_up,
                        std::uint64_t bytes_down);
void RecordStoreRetry();
// One S3 HTTP request (method: GET, PUT, POST, LIST, DELETE, HEAD).
void RecordS3Request(std::string_view method, bool ok);
// One sync operation (op: push, pull, link, ...; outcome: its report's
// outcome or the error's code) that took `seconds`.
void RecordSyncRun(std::string_view op, std::string_view outcome, double seconds);
void RecordConflicts(std::string_view op, std::uint64_t n);
// Items of a pull or link by status ("applied", "failed", ...), and failed
// ones by their error's category.
void RecordItems(std::string_view status, std::uint64_t n);
void RecordItemFailure(std::string_view category);
// The agent's queue of paths waiting to be synced.
void SetQueueDepth(std::int64_t depth);

}  // namespace hx::obs
