// hx sync watch <vault>: the sync agent (agent/agent.h) in the foreground
// until SIGINT or SIGTERM, and the agent's part of `hx sync status`.
//
// The CLI only parses, hands down the real clock and the passphrase source,
// routes the two signals to Agent::Stop (the current cycle finishes; no
// store lock is left; exit 0) and prints the agent's log lines on stderr
// ("hx watch <ms>: ..."). Test hooks: HX_TEST_CRASH_AT (as for push and
// pull) and HX_TEST_WATCH_OVERFLOW=1 (an overflow injected after the first
// cycle).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "agent/agent.h"
#include "agent/agent_status.h"
#include "base/printable.h"
#include "cli/commands.h"
#include "cli/sync_args.h"
#include "json/canonical_json.h"
#include "os/real_clock.h"

namespace hx::cli {
namespace {

struct WatchArgs : VaultArgs {
  bool once = false;
  bool poll = false;
  int poll_interval_ms = 1000;
  std::int64_t quiet_ms = 200;
  std::int64_t max_delay_ms = 1000;
  std::int64_t active_interval_ms = 1000;
  std::int64_t idle_interval_ms = 30000;
  std::int64_t full_rescan_interval_s = 900;
  std::size_t max_scoped_paths = 10000;
  std::string auto_merge;
  bool allow_mass_delete = false;
  bool quiet_log = false;
};

std::atomic<Agent*> g_agent{nullptr};

void OnSignal(int) {
  if (Agent* agent = g_agent.load()) agent->Stop();
}

// What `hx sync watch` prints when it ends: the agent's last status.
struct WatchReport {
  AgentStatus status;
  nlohmann::json ToJson() const { return status.ToJson(); }
  std::string ToHuman() const {
    nlohmann::json json = status.ToJson();
    json["running"] = false;
    std::string out = "hx sync watch: stopped after " +
                      std::to_string(status.counters.count("cycles") ? status.counters.at("cycles") : 0) +
                      " cycle(s)\n";
    return out + AgentStatusHuman(json, WallClockMs());
  }
};

Result<WatchReport> Watch(const WatchArgs& args) {
  AgentOptions options;
  options.vault = AbsolutePath(args.vault);
  options.sync = MakeSyncOptions(args, Prompt::kAllowed);
  options.sync.clock = &RealClock::Get();
  options.sync.checkpoint = CrashHookFromEnv();
  options.sync.allow_mass_delete = args.allow_mass_delete;
  if (!args.auto_merge.empty()) {
    HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.auto_merge));
    options.sync.auto_merge = policy;
  }
  options.once = args.once;
  options.poll = args.poll;
  options.poll_interval_ms = args.poll_interval_ms;
  options.batch.quiet_ms = args.quiet_ms;
  options.batch.max_delay_ms = args.max_delay_ms;
  options.remote.active_interval_ms = args.active_interval_ms;
  options.remote.idle_interval_ms = args.idle_interval_ms;
  options.full_rescan_interval_ms = args.full_rescan_interval_s * 1000;
  options.max_scoped_paths = args.max_scoped_paths;
  options.seed = static_cast<std::uint64_t>(::getpid());
  if (const char* overflow = std::getenv("HX_TEST_WATCH_OVERFLOW");
      overflow != nullptr && std::string(overflow) == "1") {
    options.inject_overflow = true;
  }
  if (!args.quiet_log) {
    options.log = [](std::string_view line) {
      // A log line may carry a name from another device: escaped as every
      // other human output is (base/printable.h).
      const std::string safe = TerminalSafe(line);
      std::fprintf(stderr, "hx watch %lld: %s\n",
                   static_cast<long long>(RealClock::Get().WallMs()), safe.c_str());
      std::fflush(stderr);
    };
  }
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Agent> agent, Agent::Start(std::move(options)));
  g_agent.store(agent.get());
  struct sigaction action {};
  action.sa_handler = OnSignal;
  action.sa_flags = SA_RESTART;  // the engine's calls are not interrupted
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  Status ran = agent->Run();
  g_agent.store(nullptr);
  if (!ran.ok()) return ran.error();
  return WatchReport{agent->status()};
}

// `hx sync status`'s report with the agent's part added.
struct StatusWithAgent {
  const StatusReport* report;
  nlohmann::json agent;
  nlohmann::json ToJson() const {
    nlohmann::json out = report->ToJson();
    out["agent"] = agent;
    return out;
  }
  std::string ToHuman() const {
    return report->ToHuman() + AgentStatusHuman(agent, report->now_ms);
  }
};

// While the agent is in a cycle it holds the vault's per-operation lock:
// status then shows the agent alone (and says so) instead of failing.
struct AgentOnly {
  nlohmann::json agent;
  nlohmann::json ToJson() const {
    return {{"agent", agent},
            {"vault_busy", "the agent is in a cycle; run hx sync status again for the vault's part"}};
  }
  std::string ToHuman() const {
    return "the vault is busy with the agent's current cycle (run hx sync status again for the "
           "vault's part)\n" +
           AgentStatusHuman(agent, WallClockMs());
  }
};

}  // namespace

int FinishStatusWithAgent(Context& context, const std::filesystem::path& vault,
                          const Result<StatusReport>& status) {
  if (!status.ok()) {
    if (status.error().code == SyncCode::kLocked) {
      nlohmann::json agent = AgentStatusJson(vault);
      if (agent.value("running", false)) return Finish(context, Result<AgentOnly>(AgentOnly{agent}));
    }
    return Finish(context, status);
  }
  return Finish(context, Result<StatusWithAgent>(StatusWithAgent{&*status, AgentStatusJson(vault)}));
}

void RegisterWatch(CLI::App& sync, Context& context) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* watch = sync.add_subcommand(
      "watch",
      "Keep the vault in sync until stopped: push local changes and pull remote ones as they "
      "happen (one agent per vault)");
  AddVaultArgs(watch, *args, Target::kNone, Prompt::kAllowed,
               "Ignored: the agent reads the clock for each operation");
  watch->add_flag("--once", args->once, "Run one cycle (pull, push) and exit (for cron)");
  watch->add_flag("--poll", args->poll,
                  "Watch by periodic scans instead of inotify (network file systems)");
  watch->add_option("--poll-interval-ms", args->poll_interval_ms,
                    "The polling watcher's period (default 1000)");
  watch->add_option("--quiet-ms", args->quiet_ms,
                    "Push after this long without a new change (default 200)");
  watch->add_option("--max-delay-ms", args->max_delay_ms,
                    "Push at most this long after the first change while changes keep coming "
                    "(default 1000)");
  watch->add_option("--active-interval-ms", args->active_interval_ms,
                    "How often the store's head is checked while changes flow (default 1000)");
  watch->add_option("--idle-interval-ms", args->idle_interval_ms,
                    "The longest interval between two checks of the store's head when idle "
                    "(default 30000)");
  watch->add_option("--full-rescan-interval-s", args->full_rescan_interval_s,
                    "Scan the whole folder at least this often, for changes no event reported "
                    "(default 900; 0: only at start and after lost events)");
  watch->add_option("--max-scoped-paths", args->max_scoped_paths,
                    "A push scans only the changed paths' folders up to this many paths, else "
                    "the whole folder (default 10000; 0: always the whole folder)");
  watch->add_option("--auto-merge", args->auto_merge,
                    "How concurrent changes are resolved (default: the vault's, see hx sync "
                    "config); under none, conflicting paths pause until resolved")
      ->type_name(MergePolicyTypeName());
  watch->add_flag("--allow-mass-delete", args->allow_mass_delete,
                  "Let the agent make pushes and pulls that the mass-delete guard would stop");
  watch->add_flag("--no-log", args->quiet_log, "Do not print the agent's log on stderr");
  watch->callback([&context, args] { context.exit_code = Finish(context, Watch(*args)); });
}

}  // namespace hx::cli
