#include "agent/agent.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "obs/log.h"
#include "scan/ignore.h"
#include "sync/local_state.h"

namespace hx {
namespace {

Result<Target> VaultTarget(const std::filesystem::path& vault, const SyncOptions& options) {
  std::ifstream in(vault / kLocalDirName / "config.json", std::ios::binary);
  if (!in) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 vault.string() + " is not a vault; run hx sync init first")
        .With("path", vault.string());
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  HX_ASSIGN_OR_RETURN(const LocalConfig config, ParseLocalConfig(bytes.str()));
  const std::string uri = options.target_uri.empty() ? config.target_uri : options.target_uri;
  const TargetOptions& target_options =
      options.target_uri.empty() ? config.target_options : options.target_options;
  return ParseTargetUri(uri, target_options, options.cwd);
}

bool IsMassDelete(const Error& e) {
  auto it = e.details.find("guard");
  return it != e.details.end() && it->second == "mass_delete";
}

// The conflicting paths a KC_SYNC_CONFLICT names (its "paths" detail: the
// first 20, comma-separated).
std::vector<std::string> ConflictPaths(const Error& e) {
  std::vector<std::string> out;
  auto it = e.details.find("paths");
  if (it == e.details.end()) return out;
  const std::string& all = it->second;
  std::size_t start = 0;
  while (start <= all.size()) {
    const std::size_t comma = all.find(", ", start);
    std::string one = all.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!one.empty() && one != "...") out.push_back(std::move(one));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return out;
}

nlohmann::json ErrorJson(const Error& e) {
  nlohmann::json parsed = nlohmann::json::parse(e.ToJson(), nullptr, false);
  if (parsed.is_discarded()) return {{"code", std::string(ToString(e.code))}, {"message", e.message}};
  return parsed;
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Start(AgentOptions options) {
  if (options.sync.clock == nullptr) {
    return Error(SyncCode::kInternal, Category::kInternal, "the agent needs a clock");
  }
  HX_ASSIGN_OR_RETURN(AgentLock lock, AgentLock::Acquire(options.vault));
  HX_ASSIGN_OR_RETURN(const Target target, VaultTarget(options.vault, options.sync));
  Env& env = options.sync.env != nullptr ? *options.sync.env : Env::Default();
  std::unique_ptr<Agent> agent(new Agent(std::move(options), std::move(lock)));
  if (!agent->options_.metrics_address.empty()) {
    // Before the watches (100,000 directories take a while): an address
    // that is refused (not loopback, a port taken) fails the start at once.
    obs::MetricsRegistry* registry = agent->options_.metrics;
    HX_ASSIGN_OR_RETURN(agent->metrics_server_,
                        obs::MetricsServer::Start(
                            {.address = agent->options_.metrics_address,
                             .clock = agent->options_.sync.clock},
                            [registry] { return registry->RenderPrometheus(); }));
    const std::string& asked = agent->options_.metrics_address;
    std::string host = asked.substr(0, asked.rfind(':'));
    if (host == "localhost") host = "127.0.0.1";
    agent->status_.metrics_address = host + ":" + std::to_string(agent->metrics_server_->port());
    agent->Log("serving metrics on http://" + agent->status_.metrics_address + "/metrics");
  }
  HX_ASSIGN_OR_RETURN(agent->notifier_store_, OpenStore(target, env, agent->options_.sync.clock));
  RemoteNotifierOptions remote = agent->options_.remote;
  if (agent->options_.poll) remote.watch_folder = false;
  agent->notifier_ = MakeRemoteNotifier(target, *agent->notifier_store_, remote);
  agent->watcher_ = agent->options_.watcher
                        ? std::move(agent->options_.watcher)
                        : MakeDefaultWatcher(agent->options_.poll, agent->options_.poll_interval_ms);
  HX_ASSIGN_OR_RETURN(const IgnoreRules rules, LoadIgnoreFile(agent->options_.vault, -1, env));
  HX_RETURN_IF_ERROR(agent->watcher_->Start(agent->options_.vault, rules));
  Watcher* watcher = agent->watcher_.get();
  agent->notifier_->SetWakeup([watcher] { watcher->Wake(); });
  agent->status_.pid = static_cast<std::int64_t>(::getpid());
  agent->status_.since_ms = agent->Now();
  agent->status_.watcher_mode = std::string(WatcherModeName(watcher->mode()));
  agent->status_.remote_mode = std::string(agent->notifier_->mode());
  agent->Log("agent started on " + agent->options_.vault.string() + " (watcher " +
             agent->status_.watcher_mode + ", remote " + agent->status_.remote_mode + ")");
  return agent;
}

namespace {
AgentOptions WithRegistry(AgentOptions options) {
  if (options.metrics == nullptr) options.metrics = &obs::DefaultMetrics();
  return options;
}
}  // namespace

Agent::Agent(AgentOptions options, AgentLock lock)
    : options_(WithRegistry(std::move(options))),
      lock_(std::move(lock)),
      batcher_(options_.batch),
      metrics_(*options_.metrics),
      random_(options_.seed) {}

Agent::~Agent() {
  // The listener first: nothing renders while the rest goes.
  if (metrics_server_) metrics_server_->Stop();
}

void Agent::Stop() {
  stop_.store(true);
  if (watcher_) watcher_->Wake();
}

void Agent::Log(const std::string& line) {
  if (options_.log) options_.log(line);
}

void Agent::UpdateGauges() {
  status_.queue_depth = batcher_.depth();
  status_.watcher_mode = rescan_ ? std::string(WatcherModeName(WatcherMode::kOverflowed))
                                 : std::string(WatcherModeName(watcher_->mode()));
  metrics_.SetQueueDepth(status_.queue_depth);
  metrics_.SetWatcherMode(status_.watcher_mode);
  metrics_.SetRemoteRequests(notifier_->RequestsTotal());
  metrics_.SetPaused(status_.paused.size());
  metrics_.SetConsecutiveFailures(status_.consecutive_failures);
}

void Agent::SaveStatus() {
  const std::int64_t now = Now();
  UpdateGauges();
  status_.remote_requests_last_hour = notifier_->RequestsLastHour(now);
  status_.remote_interval_ms = notifier_->interval_ms();
  status_.retry_at_ms = retry_at_ms_;
  Env& env = options_.sync.env != nullptr ? *options_.sync.env : Env::Default();
  Status saved = WriteAgentStatus(options_.vault, status_, env);
  if (!saved.ok()) Log("cannot write the status: " + saved.error().ToShortString());
}

SyncOptions Agent::OperationOptions() {
  SyncOptions o = options_.sync;
  o.now_ms = Now();
  o.hold_conflicts = true;  // only policy none holds (sync/hold.h)
  o.scan_threads = options_.scan_threads;
  // The own-write filter (batcher.h): what each pull (or a push's merge)
  // installed, as it left it.
  o.on_applied = [this](const AppliedPath& applied) { RecordOwnWrite(applied); };
  return o;
}

void Agent::RecordOwnWrite(const AppliedPath& applied) {
  ++applied_items_;
  const std::string path(applied.path);
  OwnWrite installed;
  if (applied.has_stat) {
    // The file's stat right after its rename, as the engine took it (an
    // edit made since, before the agent could look, is not mistaken for
    // the install).
    installed.kind = OwnWrite::Kind::kFile;
    installed.inode = applied.inode;
    installed.size = applied.size;
    installed.mtime_ns = applied.mtime_ns;
    installed.ctime_ns = applied.ctime_ns;
  } else if (!applied.removed) {
    // A directory or a symlink (the engine stats files only): looked at
    // now. A change made before this look is found all the same: every
    // pull that applied something is followed by a full push.
    Env& env = options_.sync.env != nullptr ? *options_.sync.env : Env::Default();
    struct stat st;
    const std::string full = (options_.vault / path).string();
    const bool exists = env.StatAt(AT_FDCWD, full.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    installed = OwnWrite::Of(exists ? &st : nullptr);
  }
  batcher_.RecordOwnWrite(path, installed, Now());
  Count("own_writes_recorded");
}

bool Agent::CountOwnWrites() {
  bool moved = false;
  if (const std::uint64_t n = batcher_.own_writes_ignored(); n > own_ignored_seen_) {
    Count("own_writes_ignored", n - own_ignored_seen_);
    own_ignored_seen_ = n;
    moved = true;
  }
  if (const std::uint64_t n = batcher_.own_writes_changed(); n > own_changed_seen_) {
    Count("own_writes_changed", n - own_changed_seen_);
    own_changed_seen_ = n;
    moved = true;
  }
  return moved;
}

Status Agent::TakeEvents(int timeout_ms) {
  HX_ASSIGN_OR_RETURN(std::vector<WatchEvent> events, watcher_->Poll(timeout_ms));
  if (events.empty()) return OkStatus();
  if (drop_next_events_) {
    // The test option: these events are lost, as in a kernel queue
    // overflow, and the watcher reports the overflow next.
    drop_next_events_ = false;
    Count("events_dropped", events.size());
    watcher_->InjectOverflow("injected by the test option (" + std::to_string(events.size()) +
                             " event(s) dropped)");
    return OkStatus();
  }
  const std::int64_t now = Now();
  bool rules_changed = false;
  for (const WatchEvent& event : events) {
    Count("events");
    if (event.kind == WatchEventKind::kOverflow) {
      rescan_ = true;
      Count("overflows");
      Log("watcher overflow (" + event.detail + "): a full rescan follows");
      continue;
    }
    if (event.path == ".hxignore") rules_changed = true;
    Log("queued " + event.path + " " + std::string(WatchEventKindName(event.kind)) + " at " +
        std::to_string(now));
    batcher_.Add(event, now);
  }
  if (rules_changed) {
    Env& env = options_.sync.env != nullptr ? *options_.sync.env : Env::Default();
    Result<IgnoreRules> rules = LoadIgnoreFile(options_.vault, -1, env);
    if (rules.ok()) watcher_->SetRules(*rules);
  }
  return OkStatus();
}

Status Agent::Pull() {
  const std::uint64_t applied_before = applied_items_;
  Result<PullReport> pulled = SyncPull(options_.vault, OperationOptions());
  // Paths it applied before failing are recorded all the same (on_applied).
  const std::uint64_t applied = applied_items_ - applied_before;
  if (!pulled.ok()) return pulled.error();
  const std::int64_t now = Now();
  Count("bytes_fetched", pulled->bytes_fetched);
  held_paths_ = pulled->held;
  if (applied > 0 || !pulled->resolutions.empty()) {
    Count("pulls_applied");
    Count("pulled_items", applied);
    notifier_->NoteActivity(now);
    Log("pulled " + std::to_string(applied) + " item(s) (" + pulled->outcome + ")");
    // A policy's conflict copies are local changes the next push publishes:
    // a push (it publishes only real changes) follows every pull that
    // changed something.
    pulled_changes_ = true;
  }
  if (pulled->error) return *pulled->error;
  return OkStatus();
}

Status Agent::Push(bool& behind) {
  behind = false;
  Count("pushes_attempted");
  SyncOptions push_options = OperationOptions();
  const bool full = scope_full_ || pulled_changes_ ||
                    scope_paths_.size() > options_.max_scoped_paths;
  if (!full) push_options.scope.emplace(scope_paths_.begin(), scope_paths_.end());
  if (full) last_full_push_ms_ = Now();
  Count(full ? "full_pushes" : "scoped_pushes");
  const std::uint64_t applied_before = applied_items_;
  Result<PushReport> pushed = SyncPush(options_.vault, push_options);
  if (pushed.ok() && (pushed->outcome == "published" || pushed->outcome == "up_to_date")) {
    // Everything the scope named is published (or was nothing): the next
    // push needs only what comes after.
    scope_full_ = false;
    scope_paths_.clear();
  }
  // The push merged remote changes into the folder: a directory or symlink
  // it applied was recorded by a look after the fact, so the next push
  // scans everything (as after every pull that changed the folder).
  if (applied_items_ != applied_before) scope_full_ = true;
  if (!pushed.ok()) {
    // Policy none and a store that moved on: pull first (the pull decides
    // whether this is a real conflict).
    if (pushed.error().code == SyncCode::kConflict && pushed.error().details.count("paths") == 0) {
      behind = true;
      return OkStatus();
    }
    return pushed.error();
  }
  Count("bytes_uploaded", pushed->bytes_uploaded);
  if (pushed->merged) {
    Count("pulls_applied");
    Count("bytes_fetched", pushed->merged->bytes_fetched);
  }
  if (pushed->outcome == "published") {
    Count("pushes_published");
    notifier_->NoteActivity(Now());
    Log("pushed " + std::to_string(pushed->changes.added) + " added, " +
        std::to_string(pushed->changes.modified) + " modified, " +
        std::to_string(pushed->changes.deleted) + " deleted (head " +
        std::to_string(pushed->head_seq.value_or(0)) + ")");
  } else if (pushed->outcome == "behind") {
    behind = true;
  }
  return OkStatus();
}

void Agent::RunCycle(CycleNeeds needs) {
  // One correlation id per cycle: its log lines and store requests carry it.
  obs::CorrelationScope correlation;
  const Clock::MonoTime started = options_.sync.clock->Monotonic();
  status_.state = "syncing";
  Count("cycles");
  SaveStatus();
  Status result = OkStatus();
  if (needs.pull) result = Pull();
  if (result.ok() && (needs.push || pulled_changes_)) {
    bool behind = false;
    result = Push(behind);
    // The store moved on while we pushed: merge what it has, then publish.
    for (int round = 0; result.ok() && behind && round < 2; ++round) {
      result = Pull();
      if (result.ok()) result = Push(behind);
    }
    // Behind only because of held conflicts: nothing more to do until the
    // user resolves them (or something new happens).
    if (result.ok() && behind && held_paths_.empty()) retry_pending_ = true;  // again at once
  }
  status_.last_cycle_ms = Now();
  // A pull that changed the folder and then no push (the cycle failed):
  // the next push, whenever it comes, scans everything.
  if (pulled_changes_ && !result.ok()) scope_full_ = true;
  pulled_changes_ = false;
  if (result.ok()) {
    OnCycleSucceeded();
  } else {
    OnCycleFailed(result.error());
  }
  metrics_.ObserveCycle(std::chrono::duration<double>(options_.sync.clock->Monotonic() - started)
                            .count());
  SaveStatus();
}

void Agent::OnCycleSucceeded() {
  status_.paused.clear();
  // Held conflicts (policy none): only those paths wait; the rest syncs.
  for (const std::string& path : held_paths_) {
    status_.paused.push_back({path, "conflict",
                              "both this device and the store changed it; this device's version "
                              "stays here unpublished. Resolve with hx sync pull <vault> "
                              "--auto-merge <policy> (or make both sides equal)"});
  }
  if (!held_paths_.empty()) {
    Log("holding " + std::to_string(held_paths_.size()) + " conflicting path(s), first: " +
        held_paths_.front());
  }
  paused_ = false;
  status_.consecutive_failures = 0;
  status_.last_error.reset();
  retry_at_ms_.reset();
  status_.last_cycle_outcome = "ok";
  status_.state = "watching";
}

void Agent::OnCycleFailed(const Error& error) {
  Count("errors");
  metrics_.CountError(ToString(error.code));
  status_.last_error = ErrorJson(error);
  status_.last_cycle_outcome = "error: " + std::string(ToString(error.code));
  status_.paused.clear();
  if (error.code == SyncCode::kConflict && error.category == Category::kConflict) {
    // Policy none (or manual_per_item without decisions): the paths wait
    // for the user; nothing is retried until something new happens.
    paused_ = true;
    retry_at_ms_.reset();
    for (std::string& path : ConflictPaths(error)) {
      status_.paused.push_back({std::move(path), "conflict",
                                "both this device and the store changed it; resolve with "
                                "hx sync pull <vault> --auto-merge <policy> (or edit it)"});
    }
    if (status_.paused.empty()) status_.paused.push_back({"", "conflict", error.message});
    status_.state = "paused";
    Log("paused: " + error.message);
    return;
  }
  if (IsMassDelete(error)) {
    paused_ = true;
    retry_at_ms_.reset();
    status_.paused.push_back({"", "mass_delete", error.message});
    status_.state = "paused";
    Log("paused: " + error.message);
    return;
  }
  // Anything else (the network, a vault busy with another hx, a store that
  // refuses for now): back off and try the whole cycle again (a pause this
  // follows is over: the retry finds out whether it still holds).
  paused_ = false;
  ++status_.consecutive_failures;
  const int exponent = static_cast<int>(std::min<std::uint64_t>(status_.consecutive_failures - 1, 20));
  const std::int64_t base =
      std::min(options_.backoff_max_ms, options_.backoff_initial_ms << exponent);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  const auto delay = static_cast<std::int64_t>(static_cast<double>(base) * jitter(random_));
  retry_at_ms_ = Now() + delay;
  retry_pending_ = true;
  status_.state = "backing_off";
  Log("cycle failed (" + error.ToShortString() + "); retrying in " + std::to_string(delay) +
      " ms");
}

std::int64_t Agent::WaitMs(std::int64_t now_ms) const {
  std::int64_t wait = options_.max_wait_ms;
  if (auto due = batcher_.NextDueInMs(now_ms)) wait = std::min(wait, *due);
  if (options_.full_rescan_interval_ms > 0) {
    wait = std::min(wait, std::max<std::int64_t>(
                              0, last_full_push_ms_ + options_.full_rescan_interval_ms - now_ms));
  }
  wait = std::min(wait, notifier_->NextCheckInMs(now_ms));
  if (retry_pending_) {
    wait = std::min(wait, retry_at_ms_ ? std::max<std::int64_t>(0, *retry_at_ms_ - now_ms) : 0);
  }
  return std::max<std::int64_t>(0, wait);
}

Status Agent::Run() {
  status_.state = "watching";
  SaveStatus();
  while (!stop_.load()) {
    const std::int64_t now = Now();
    CycleNeeds needs;
    bool something_new = false;

    Result<bool> remote = notifier_->Check(now);
    if (!remote.ok()) {
      Count("remote_errors");
      Log("remote check failed: " + remote.error().ToShortString());
    } else if (*remote) {
      remote_pending_ = true;
      something_new = true;
    }
    if (remote_pending_) needs.pull = true;

    Env& env = options_.sync.env != nullptr ? *options_.sync.env : Env::Default();
    std::optional<Batch> batch = batcher_.TakeDue(options_.vault, env, now);
    // Own writes dropped (no cycle follows them): the status says so now.
    if (CountOwnWrites() && !batch) SaveStatus();
    if (batch) {
      needs.push = true;
      something_new = true;
      if (batch->full_rescan) rescan_ = true;
      scope_paths_.insert(batch->paths.begin(), batch->paths.end());
      Count("batches");
    }
    // The backstop: a change no event reported is found by a full scan at
    // most full_rescan_interval_ms after the last one (not something new:
    // a pause stays a pause; the push is then full when it comes).
    if (options_.full_rescan_interval_ms > 0 &&
        now - last_full_push_ms_ >= options_.full_rescan_interval_ms) {
      scope_full_ = true;
      needs.push = true;
      last_full_push_ms_ = now;
    }
    if (rescan_) {
      needs.push = true;
      something_new = true;
      scope_full_ = true;
    }

    const bool backing_off = retry_at_ms_ && now < *retry_at_ms_;
    if (retry_pending_ && !backing_off) needs.push = needs.pull = true;
    if (paused_ && !something_new) needs = {};  // wait for the user
    if (options_.once) needs.push = needs.pull = true;

    if ((needs.push || needs.pull) && !backing_off) {
      retry_pending_ = false;
      remote_pending_ = false;
      const bool was_rescan = rescan_;
      rescan_ = false;
      if (was_rescan) Count("full_rescans");
      RunCycle(needs);
      if (options_.once) break;
      if (options_.inject_overflow && !injected_overflow_) {
        injected_overflow_ = true;
        drop_next_events_ = true;
      }
      continue;  // look again before waiting: more may be due
    } else if (backing_off && (needs.push || needs.pull)) {
      retry_pending_ = true;
      if (needs.pull) remote_pending_ = true;
    }

    UpdateGauges();
    const std::int64_t wait = WaitMs(Now());
    HX_RETURN_IF_ERROR(TakeEvents(static_cast<int>(wait)));
  }
  status_.state = "stopped";
  SaveStatus();
  Log("agent stopped");
  return OkStatus();
}

}  // namespace hx
