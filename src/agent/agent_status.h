// What a running agent (agent.h) tells the rest of the machine: the agent
// lock that makes it the only agent of its vault, and the status file that
// `hx sync status` shows.
//
//   .hx/agent.lock  flock'ed (exclusive) for the agent's whole life; separate
//                   from .hx/lock, which each push or pull takes for one
//                   operation, so the user's own `hx sync push` still runs
//                   between two cycles. The kernel drops the flock when the
//                   process dies, SIGKILL included: a crashed agent never
//                   blocks the next one.
//   .hx/agent.json  canonical JSON (AgentStatus::ToJson), replaced atomically
//                   after each cycle and each change of state. It may be
//                   stale (a killed agent cannot remove it): an agent is
//                   running only if the pid in it is alive AND the agent
//                   lock is held (AgentRunning).
//
// Thread-safety: the functions are thread-safe; an AgentLock is owned by one
// thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "os/env.h"

namespace hx {

inline constexpr std::string_view kAgentLockName = "agent.lock";
inline constexpr std::string_view kAgentStatusName = "agent.json";

// A path the agent does not sync until the user acts, and why.
struct PausedPath {
  std::string path;    // vault-relative; "" for the whole vault
  std::string reason;  // "conflict", "mass_delete"
  std::string message; // what to do (the engine's message)
};

struct AgentStatus {
  std::int64_t pid = 0;
  std::int64_t since_ms = 0;
  // "starting", "watching", "syncing", "backing_off", "paused", "stopped"
  std::string state = "starting";
  std::optional<std::int64_t> last_cycle_ms;
  std::string last_cycle_outcome;  // "", "ok", "error: KC_SYNC_..."
  std::size_t queue_depth = 0;
  std::vector<PausedPath> paused;
  std::string watcher_mode;       // "inotify", "polling", "overflowed"
  std::string remote_mode;        // "inotify", "polling", "conditional_get"
  std::uint64_t remote_requests_last_hour = 0;
  std::int64_t remote_interval_ms = 0;
  // The backoff after network errors: when the next attempt is due.
  std::optional<std::int64_t> retry_at_ms;
  std::uint64_t consecutive_failures = 0;
  std::optional<nlohmann::json> last_error;  // Error::ToJson()
  // Where the agent serves its metrics ("127.0.0.1:PORT", the bound port
  // when 0 was asked for); "" without --metrics-addr.
  std::string metrics_address;
  // Counters since start: cycles, pushes_published, pulls_applied,
  // overflows, full_rescans, events, own_writes_ignored, errors,
  // full_pushes and scoped_pushes (the folder scanned whole or only at a
  // batch's paths), bytes_uploaded and bytes_fetched (the store's bytes the
  // pushes and pulls moved: what a restart after a crash moves again).
  std::map<std::string, std::uint64_t> counters;

  nlohmann::json ToJson() const;
  static Result<AgentStatus> FromJson(const nlohmann::json& json);
};

// Writes <vault>/.hx/agent.json atomically.
Status WriteAgentStatus(const std::filesystem::path& vault, const AgentStatus& status,
                        Env& env = Env::Default());
// Reads it; nullopt when there is none.
Result<std::optional<AgentStatus>> ReadAgentStatus(const std::filesystem::path& vault);

// The agent lock, held while the object lives.
class AgentLock {
 public:
  // Takes .hx/agent.lock. Another agent holds it: KC_SYNC_LOCKED ("an agent
  // is already watching <vault> (pid N); stop it first"). Not a vault:
  // KC_SYNC_STATE_FAILED, not_found, "run hx sync init".
  static Result<AgentLock> Acquire(const std::filesystem::path& vault);

  AgentLock(AgentLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  AgentLock& operator=(AgentLock&& other) noexcept;
  AgentLock(const AgentLock&) = delete;
  AgentLock& operator=(const AgentLock&) = delete;
  ~AgentLock();

 private:
  explicit AgentLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Whether an agent runs for `vault`: the agent lock is held by some process
// and `pid` (from agent.json) is alive.
bool AgentRunning(const std::filesystem::path& vault, std::int64_t pid);

// The agent part of `hx sync status`: {"running": bool, ...status fields}
// (null when no agent ever ran), and its human lines (its times as local
// date and time and how long before `now_ms`, base/local_time.h).
nlohmann::json AgentStatusJson(const std::filesystem::path& vault);
std::string AgentStatusHuman(const nlohmann::json& agent, std::int64_t now_ms);

}  // namespace hx
