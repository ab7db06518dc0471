// The agent's metrics endpoint as the user runs it: a real `hx sync watch
// --metrics-addr 127.0.0.1:0` process (the port it bound is found in its
// status file), scraped over HTTP and parsed with the Prometheus project's
// own text-format parser (Debian's python3-prometheus-client). The values
// must be what the test made the agent do, and the same as its status
// file's counters. Waits on conditions; no timing assertions.
#include <cstdio>
#include <map>
#include <string>

#include "agent/watch_process_test_util.h"

namespace hx::watch_testing {
namespace {

// Fetches http://<address>/metrics with urllib and prints every sample the
// official parser finds as JSON: [[name, {labels}, value], ...].
constexpr char kScraper[] = R"PY(
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=30).read().decode()
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
)PY";

class WatchMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/python3") ||
        std::system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") != 0) {
      GTEST_FAIL() << "python3-prometheus-client is missing: run scripts/deps.sh";
    }
    std::ofstream(script()) << kScraper;
  }

  fs::path vault(const std::string& name) const { return dir_.path() / name; }
  fs::path store() const { return dir_.path() / "store"; }
  fs::path script() const { return dir_.path() / "scrape.py"; }
  std::vector<std::string> Env(const std::string& device) const {
    return {"HOME=" + (dir_.path() / ("home-" + device)).string()};
  }

  void Init(const std::string& name) {
    fs::create_directories(vault(name));
    HxRun run = RunHx({"sync", "init", vault(name).string(), store().string()}, Env(name));
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& name,
                                           std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args = {"sync", "watch", vault(name).string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto agent =
        std::make_unique<AgentProcess>(args, Env(name), dir_.path() / ("agent-" + name + ".log"));
    EXPECT_TRUE(WaitFor([&] { return AgentJson(vault(name)).value("pid", 0) == agent->pid(); }))
        << agent->Log();
    return agent;
  }

  // Every sample of the endpoint at `address`; null if the scrape failed.
  nlohmann::json Scrape(const std::string& address) {
    const std::string command =
        "/usr/bin/python3 " + script().string() + " " + address + " 2>/dev/null";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return nullptr;
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    if (::pclose(pipe) != 0) return nullptr;
    return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  }

  TempDir dir_;
};

// The value of sample `name` whose labels include `match`, summed; -1 when
// there is no such sample.
double Value(const nlohmann::json& samples, const std::string& name,
             const std::map<std::string, std::string>& match = {}) {
  double sum = 0;
  bool found = false;
  if (!samples.is_array()) return -1;
  for (const auto& s : samples) {
    if (s[0] != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) ok = ok && s[1].contains(k) && s[1][k] == v;
    if (!ok) continue;
    found = true;
    sum += s[2].get<double>();
  }
  return found ? sum : -1;
}

// The agent's counters as its metrics and as its status file say, equal.
bool SameAsStatus(const nlohmann::json& samples, const fs::path& vault,
                  const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (Value(samples, "hx_agent_" + name + "_total") != static_cast<double>(Counter(vault, name))) {
      return false;
    }
  }
  return true;
}

TEST_F(WatchMetricsTest, TheAgentServesItsFiguresForItsWholeLifeOnTheBoundPortOfPortZero) {
  Init("a");
  Init("b");
  auto a = StartAgent("a", {"--metrics-addr", "127.0.0.1:0"});
  auto b = StartAgent("b");
  ASSERT_TRUE(WaitFor([&] { return AgentIdle(vault("a")) && AgentIdle(vault("b")); }))
      << a->Log() << b->Log();
  // Port 0: the status file and the log say which port was bound.
  const std::string address = AgentJson(vault("a")).value("metrics_address", "");
  ASSERT_EQ(address.rfind("127.0.0.1:", 0), 0u) << AgentJson(vault("a")).dump();
  EXPECT_NE(address, "127.0.0.1:0");
  EXPECT_NE(a->Log().find("serving metrics on http://" + address + "/metrics"), std::string::npos)
      << a->Log();
  HxRun status = RunHx({"sync", "status", vault("a").string()}, Env("a"));
  EXPECT_NE(status.output.find("metrics: http://" + address + "/metrics"), std::string::npos)
      << status.output;

  nlohmann::json samples = Scrape(address);
  ASSERT_TRUE(samples.is_array());
  EXPECT_EQ(Value(samples, "hx_agent_watcher_mode", {{"mode", "inotify"}}), 1);
  EXPECT_EQ(Value(samples, "hx_agent_watcher_mode", {{"mode", "polling"}}), 0);
  EXPECT_EQ(Value(samples, "hx_agent_watcher_mode", {{"mode", "overflowed"}}), 0);
  EXPECT_EQ(Value(samples, "hx_agent_pushes_published_total"), 0);
  EXPECT_GE(Value(samples, "hx_agent_cycles_total"), 1);

  // One change on a: pushed once (the counters of the endpoint and of the
  // status file agree), and the engine's own metrics are there too.
  WriteFile(vault("a") / "notes/one.txt", "one change on a");
  ASSERT_TRUE(WaitFor([&] { return ReadFile(vault("b") / "notes/one.txt") == "one change on a"; }))
      << a->Log() << b->Log();
  const std::vector<std::string> names = {"cycles",          "pushes_published", "pulls_applied",
                                          "events",          "batches",          "overflows",
                                          "full_rescans",    "own_writes_ignored"};
  ASSERT_TRUE(WaitFor([&] {
    samples = Scrape(address);
    return AgentIdle(vault("a")) && SameAsStatus(samples, vault("a"), names);
  })) << samples.dump() << AgentJson(vault("a")).dump();
  EXPECT_GE(Value(samples, "hx_agent_pushes_published_total"), 1);
  EXPECT_GE(Value(samples, "hx_agent_events_total"), 1);
  EXPECT_GE(Value(samples, "hx_agent_batches_total"), 1);
  EXPECT_EQ(Value(samples, "hx_agent_overflows_total"), 0);
  EXPECT_EQ(Value(samples, "hx_agent_full_rescans_total"), 0);
  EXPECT_EQ(Value(samples, "hx_agent_queue_depth"), 0);
  EXPECT_GE(Value(samples, "hx_agent_remote_requests_total"), 1);
  EXPECT_GE(Value(samples, "hx_agent_cycle_duration_seconds_count"), 2);
  EXPECT_GE(Value(samples, "hx_sync_runs_total", {{"op", "push"}, {"outcome", "published"}}), 1);
  EXPECT_GT(Value(samples, "hx_store_requests_total"), 0);
  EXPECT_GT(Value(samples, "hx_store_bytes_total", {{"direction", "up"}}), 0);

  // A change from b: a pulls it, and its own write is not pushed back.
  const double published = Value(samples, "hx_agent_pushes_published_total");
  WriteFile(vault("b") / "from-b.txt", "pulled by a");
  ASSERT_TRUE(WaitFor([&] {
    samples = Scrape(address);
    return ReadFile(vault("a") / "from-b.txt") == "pulled by a" && AgentIdle(vault("a")) &&
           Value(samples, "hx_agent_pulls_applied_total") >= 1 &&
           SameAsStatus(samples, vault("a"), names);
  })) << samples.dump() << a->Log();
  EXPECT_GE(Value(samples, "hx_agent_pulled_items_total"), 1);
  EXPECT_EQ(Value(samples, "hx_agent_pushes_published_total"), published);

  // Errors by code: the store moved away makes a's cycles fail.
  fs::rename(store(), dir_.path() / "store-away");
  WriteFile(vault("a") / "during.txt", "written while the store was away");
  ASSERT_TRUE(WaitFor([&] {
    samples = Scrape(address);
    return Value(samples, "hx_agent_consecutive_failures") >= 1 &&
           Value(samples, "hx_agent_errors_total") >= 1;
  })) << samples.dump() << a->Log();
  for (const auto& s : samples) {
    if (s[0] == "hx_agent_errors_total") {
      EXPECT_EQ(s[1]["code"].get<std::string>().rfind("KC_SYNC_", 0), 0u) << s.dump();
    }
  }
  fs::rename(dir_.path() / "store-away", store());
  ASSERT_TRUE(WaitFor([&] {
    samples = Scrape(address);
    return ReadFile(vault("b") / "during.txt") == "written while the store was away" &&
           Value(samples, "hx_agent_consecutive_failures") == 0;
  })) << samples.dump() << a->Log();

  EXPECT_EQ(a->Signal(SIGTERM), 0) << a->Log();
  EXPECT_EQ(b->Signal(SIGTERM), 0) << b->Log();
  // The listener ended with the agent.
  EXPECT_TRUE(Scrape(address).is_null());
}

TEST_F(WatchMetricsTest, AnAddressThatIsNotLoopbackIsRefusedBeforeTheAgentStarts) {
  Init("a");
  for (const std::string address : {"0.0.0.0:9464", "192.168.1.10:9464", "127.0.0.1:notaport"}) {
    HxRun run = RunHx({"sync", "watch", vault("a").string(), "--metrics-addr", address}, Env("a"));
    EXPECT_EQ(run.exit_code, 2) << address << ": " << run.output;  // KC_SYNC_INPUT_INVALID
    EXPECT_NE(run.output.find("KC_SYNC_INPUT_INVALID"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(address), std::string::npos) << run.output;
  }
  // Nothing ran: no status was ever written, and the agent lock is free.
  EXPECT_FALSE(fs::exists(vault("a") / ".hx" / "agent.json"));
  auto a = StartAgent("a");
  EXPECT_EQ(AgentJson(vault("a")).value("metrics_address", "?"), "");
  EXPECT_EQ(a->Signal(SIGTERM), 0) << a->Log();
}

}  // namespace
}  // namespace hx::watch_testing
