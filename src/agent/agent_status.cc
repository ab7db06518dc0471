#include "agent/agent_status.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/local_time.h"
#include "base/next_steps.h"
#include "json/canonical_json.h"
#include "sync/local_state.h"

namespace hx {
namespace {

std::filesystem::path HxDir(const std::filesystem::path& vault) { return vault / kLocalDirName; }

template <typename T>
void Optional(nlohmann::json& out, const char* key, const std::optional<T>& value) {
  out[key] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json AgentStatus::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  out["pid"] = pid;
  out["since_ms"] = since_ms;
  out["state"] = state;
  Optional(out, "last_cycle_ms", last_cycle_ms);
  out["last_cycle_outcome"] = last_cycle_outcome;
  out["queue_depth"] = queue_depth;
  nlohmann::json paused_json = nlohmann::json::array();
  for (const PausedPath& p : paused) {
    paused_json.push_back({{"path", p.path}, {"reason", p.reason}, {"message", p.message}});
  }
  out["paused"] = std::move(paused_json);
  out["watcher_mode"] = watcher_mode;
  out["remote_mode"] = remote_mode;
  out["remote_requests_last_hour"] = remote_requests_last_hour;
  out["remote_interval_ms"] = remote_interval_ms;
  Optional(out, "retry_at_ms", retry_at_ms);
  out["consecutive_failures"] = consecutive_failures;
  out["last_error"] = last_error ? *last_error : nlohmann::json(nullptr);
  out["metrics_address"] = metrics_address;
  nlohmann::json counters_json = nlohmann::json::object();
  for (const auto& [name, value] : counters) counters_json[name] = value;
  out["counters"] = std::move(counters_json);
  return out;
}

Result<AgentStatus> AgentStatus::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) {
    return Error(SyncCode::kStateFailed, Category::kCorrupt, "agent.json is not an object");
  }
  AgentStatus s;
  const auto get_int = [&](const char* key) -> std::int64_t {
    auto it = json.find(key);
    return it != json.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  const auto get_string = [&](const char* key) -> std::string {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto get_opt = [&](const char* key) -> std::optional<std::int64_t> {
    auto it = json.find(key);
    if (it == json.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  s.pid = get_int("pid");
  s.since_ms = get_int("since_ms");
  s.state = get_string("state");
  s.last_cycle_ms = get_opt("last_cycle_ms");
  s.last_cycle_outcome = get_string("last_cycle_outcome");
  s.queue_depth = static_cast<std::size_t>(get_int("queue_depth"));
  if (auto it = json.find("paused"); it != json.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_object()) continue;
      PausedPath pp;
      if (p.contains("path") && p["path"].is_string()) pp.path = p["path"].get<std::string>();
      if (p.contains("reason") && p["reason"].is_string()) pp.reason = p["reason"].get<std::string>();
      if (p.contains("message") && p["message"].is_string()) {
        pp.message = p["message"].get<std::string>();
      }
      s.paused.push_back(std::move(pp));
    }
  }
  s.watcher_mode = get_string("watcher_mode");
  s.remote_mode = get_string("remote_mode");
  s.remote_requests_last_hour = static_cast<std::uint64_t>(get_int("remote_requests_last_hour"));
  s.remote_interval_ms = get_int("remote_interval_ms");
  s.retry_at_ms = get_opt("retry_at_ms");
  s.consecutive_failures = static_cast<std::uint64_t>(get_int("consecutive_failures"));
  if (auto it = json.find("last_error"); it != json.end() && !it->is_null()) s.last_error = *it;
  s.metrics_address = get_string("metrics_address");
  if (auto it = json.find("counters"); it != json.end() && it->is_object()) {
    for (const auto& [name, value] : it->items()) {
      if (value.is_number_integer()) s.counters[name] = value.get<std::uint64_t>();
    }
  }
  return s;
}

Status WriteAgentStatus(const std::filesystem::path& vault, const AgentStatus& status, Env& env) {
  HX_ASSIGN_OR_RETURN(const std::string json, WriteCanonicalJson(status.ToJson()));
  return LocalState::WriteFileAtomic(env, HxDir(vault) / kAgentStatusName, json + "\n");
}

Result<std::optional<AgentStatus>> ReadAgentStatus(const std::filesystem::path& vault) {
  std::ifstream in(HxDir(vault) / kAgentStatusName, std::ios::binary);
  if (!in) return std::optional<AgentStatus>();
  std::ostringstream bytes;
  bytes << in.rdbuf();
  HX_ASSIGN_OR_RETURN(const nlohmann::json json, ParseJson(bytes.str()));
  HX_ASSIGN_OR_RETURN(AgentStatus status, AgentStatus::FromJson(json));
  return std::optional<AgentStatus>(std::move(status));
}

AgentLock& AgentLock::operator=(AgentLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

AgentLock::~AgentLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

Result<AgentLock> AgentLock::Acquire(const std::filesystem::path& vault) {
  // (Exists is a Result<bool>: a .hx/ that cannot be looked at is its own
  // error, and "no vault" is false, not an error.)
  Result<bool> exists = LocalState::Exists(vault);
  if (!exists.ok()) return std::move(exists).error();
  if (!*exists) {
    return Error(SyncCode::kStateFailed, Category::kNotFound,
                 vault.string() + " is not a vault; run hx sync init first")
        .With("path", vault.string());
  }
  const std::filesystem::path path = HxDir(vault) / kAgentLockName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(SyncCode::kStateFailed, Category::kIo,
                 "cannot open " + path.string() + ": " + std::strerror(errno))
        .With("path", path.string());
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string who;
      Result<std::optional<AgentStatus>> status = ReadAgentStatus(vault);
      if (status.ok() && status->has_value()) who = " (pid " + std::to_string((*status)->pid) + ")";
      return Error(SyncCode::kLocked, Category::kLocked,
                   "an agent is already watching " + vault.string() + who +
                       "; one agent per vault: stop it first (or use hx sync status to see it)")
          .With("path", vault.string())
          .WithNextStep(std::string(next_steps::kAgentRunning));
    }
    return Error(SyncCode::kStateFailed, Category::kIo,
                 "cannot lock " + path.string() + ": " + std::strerror(err))
        .With("path", path.string());
  }
  return AgentLock(fd);
}

bool AgentRunning(const std::filesystem::path& vault, std::int64_t pid) {
  if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) return false;
  const std::filesystem::path path = HxDir(vault) / kAgentLockName;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // The lock is held if we cannot take it ourselves (then it is not ours to
  // keep: released at once).
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

nlohmann::json AgentStatusJson(const std::filesystem::path& vault) {
  Result<std::optional<AgentStatus>> status = ReadAgentStatus(vault);
  if (!status.ok()) {
    return {{"running", false}, {"error", status.error().message}};
  }
  if (!status->has_value()) return {{"running", false}};
  nlohmann::json out = (*status)->ToJson();
  out["running"] = AgentRunning(vault, (*status)->pid);
  return out;
}

std::string AgentStatusHuman(const nlohmann::json& agent, std::int64_t now_ms) {
  if (!agent.value("running", false)) {
    if (agent.contains("pid")) {
      return "agent: not running (last: pid " + std::to_string(agent.value("pid", 0)) + ", " +
             agent.value("state", std::string("?")) + ")\n";
    }
    return "agent: not running\n";
  }
  std::string out = "agent: running, pid " + std::to_string(agent.value("pid", 0)) + ", since " +
                    FormatLocalTimeAgo(agent.value("since_ms", std::int64_t{0}), now_ms) + ", " +
                    agent.value("state", std::string()) + "\n";
  out += "  watcher: " + agent.value("watcher_mode", std::string()) + "; remote: " +
         agent.value("remote_mode", std::string()) + ", " +
         std::to_string(agent.value("remote_requests_last_hour", std::uint64_t{0})) +
         " requests in the last hour\n";
  out += "  queue: " + std::to_string(agent.value("queue_depth", std::uint64_t{0})) + " path(s)";
  if (agent.contains("last_cycle_ms") && agent["last_cycle_ms"].is_number_integer()) {
    out += "; last cycle " +
           FormatLocalTimeAgo(agent["last_cycle_ms"].get<std::int64_t>(), now_ms) + ": " +
           agent.value("last_cycle_outcome", std::string());
  }
  out += "\n";
  if (const std::string metrics = agent.value("metrics_address", std::string()); !metrics.empty()) {
    out += "  metrics: http://" + metrics + "/metrics\n";
  }
  if (agent.contains("paused") && agent["paused"].is_array()) {
    for (const auto& p : agent["paused"]) {
      out += "  paused " + (p.value("path", std::string()).empty() ? std::string("(all)")
                                                                   : p.value("path", std::string())) +
             ": " + p.value("reason", std::string()) + " — " + p.value("message", std::string()) +
             "\n";
    }
  }
  return out;
}

}  // namespace hx
