// The metrics of sync (issue 13): pushes, pulls and a refused push on a
// folder store, then the process's registry scraped over HTTP from the
// loopback listener the agent uses (obs::MetricsServer) and parsed with the
// Prometheus project's own text-format parser (Debian's python3-prometheus-
// client): the values must be what the test did. Also the store usage of
// the reports, and progress phases as a listener sees them.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "obs/metrics.h"
#include "obs/metrics_server.h"
#include "obs/progress.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::TempDir;

// Fetches http://127.0.0.1:<port>/metrics with urllib and prints every
// sample the official parser finds as JSON: [[name, {labels}, value], ...].
constexpr char kScraper[] = R"PY(
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=30).read().decode()
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
)PY";

// Sum of the samples named `name` whose labels include `match`.
double Sum(const nlohmann::json& samples, const std::string& name,
           const std::map<std::string, std::string>& match = {}) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s[0] != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) ok = ok && s[1].contains(k) && s[1][k] == v;
    if (ok) sum += s[2].get<double>();
  }
  return sum;
}

nlohmann::json Scrape(int port) {
  TempDir dir;
  const fs::path script = dir.path() / "scrape.py";
  std::ofstream(script) << kScraper;
  const std::string command = "/usr/bin/python3 " + script.string() + " " + std::to_string(port);
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return nullptr;
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  if (::pclose(pipe) != 0) return nullptr;
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

struct Phases : obs::ProgressListener {
  std::vector<std::string> seen;
  void OnProgress(const obs::ProgressEvent& e) override {
    const std::string name(obs::PhaseName(e.phase));
    if (seen.empty() || seen.back() != name) seen.push_back(name);
  }
};

TEST(SyncMetricsTest, AScrapeParsedByPrometheusMatchesTheRequestsAndConflictsTheTestMade) {
  if (!fs::exists("/usr/bin/python3") ||
      std::system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") != 0) {
    GTEST_FAIL() << "python3-prometheus-client is missing: run scripts/deps.sh";
  }
  auto store = MakeFolderStoreFixture();
  Device a(*store, "a", 1);
  Device b(*store, "b", 2);
  ASSERT_TRUE(a.Init(1000).ok());
  ASSERT_TRUE(b.Init(1000).ok());

  // The registry is the process's: what came before this test is the base.
  auto server = obs::MetricsServer::Start({}, [] { return obs::DefaultMetrics().RenderPrometheus(); });
  ASSERT_TRUE(server.ok()) << server.error().ToHuman();
  const nlohmann::json before = Scrape((*server)->port());
  ASSERT_TRUE(before.is_array());

  std::uint64_t requests = 0, bytes_up = 0, bytes_down = 0;
  const auto add = [&](const std::optional<obs::StoreUsage>& usage) {
    ASSERT_TRUE(usage.has_value());
    EXPECT_FALSE(usage->estimated_cost_usd.has_value());  // a folder store is not priced
    requests += usage->usage.total();
    bytes_up += usage->usage.bytes_up;
    bytes_down += usage->usage.bytes_down;
  };
  a.Write("notes.txt", "one");
  Result<PushReport> pushed = a.Push(2000);
  ASSERT_TRUE(pushed.ok()) << pushed.error().ToHuman();
  add(pushed->store_usage);
  Result<PullReport> pulled = b.Pull(3000);
  ASSERT_TRUE(pulled.ok());
  add(pulled->store_usage);
  EXPECT_GT(pulled->store_usage->usage.bytes_down, 0u);

  // A push from b while a moved on: refused, one conflict.
  a.Write("notes.txt", "two");
  pushed = a.Push(4000);
  ASSERT_TRUE(pushed.ok());
  add(pushed->store_usage);
  b.Write("other.txt", "three");
  Result<PushReport> refused = b.Push(5000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kConflict);

  // Progress of a pull, as a listener sees it.
  Phases phases;
  SyncOptions options = b.options(6000);
  options.progress = obs::Progress(&phases);
  pulled = SyncPull(b.vault(), options);
  ASSERT_TRUE(pulled.ok());
  add(pulled->store_usage);
  EXPECT_EQ(phases.seen, (std::vector<std::string>{"scan", "download", "apply"}));

  const nlohmann::json after = Scrape((*server)->port());
  ASSERT_TRUE(after.is_array());
  const auto delta = [&](const std::string& name, const std::map<std::string, std::string>& m = {}) {
    return Sum(after, name, m) - Sum(before, name, m);
  };
  // The refused push's requests are not in any report: count them apart.
  const double refused_requests =
      delta("hx_store_requests_total") - static_cast<double>(requests);
  EXPECT_GT(refused_requests, 0);
  EXPECT_LT(refused_requests, 20);
  EXPECT_EQ(delta("hx_store_bytes_total", {{"direction", "down"}}) >= static_cast<double>(bytes_down),
            true);
  EXPECT_GE(delta("hx_store_bytes_total", {{"direction", "up"}}), static_cast<double>(bytes_up));
  EXPECT_EQ(delta("hx_sync_runs_total", {{"op", "push"}, {"outcome", "published"}}), 2);
  EXPECT_EQ(delta("hx_sync_runs_total", {{"op", "pull"}, {"outcome", "applied"}}), 2);
  EXPECT_EQ(delta("hx_sync_runs_total", {{"op", "push"}, {"outcome", "KC_SYNC_CONFLICT"}}), 1);
  EXPECT_EQ(delta("hx_sync_conflicts_total", {{"op", "push"}}), 1);
  EXPECT_EQ(delta("hx_sync_duration_seconds_count", {{"op", "push"}}), 3);
  EXPECT_EQ(delta("hx_sync_items_total", {{"status", "applied"}}), 2);
  EXPECT_EQ(delta("hx_store_retries_total"), 0);
}

}  // namespace
}  // namespace hx
