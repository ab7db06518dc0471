// Helpers of the agent's process tests (watch_process_test.cc,
// watch_resume_test.cc): real `hx sync watch` processes, vault trees, the
// agents' status files. Header-only, for the hx_watch_test binary.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process_test_util.h"
#include "base/temp_dir_test_util.h"
#include "store/s3/testing/moto_server.h"

namespace hx::watch_testing {

namespace fs = std::filesystem;

using HxRun = hx::testing::ProcessRun;

// The environment of an hx child: a test passphrase unless `env` names one.
inline std::vector<std::string> ChildEnv(const std::vector<std::string>& env) {
  std::vector<std::string> out = {"HX_PASSPHRASE=watch test passphrase"};
  out.insert(out.end(), env.begin(), env.end());
  return out;
}

// Runs hx to completion, capturing stdout and stderr.
inline HxRun RunHx(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  return hx::testing::RunProcess(HX_BINARY, args, ChildEnv(env));
}

// Waits up to `deadline` for `condition`, looking every 50 ms.
inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::seconds deadline = std::chrono::seconds(120)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

inline void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// An `hx sync watch` in the background; its stdout and stderr go to a log.
class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
               fs::path log)
      : log_(std::move(log)) {
    pid_ = hx::testing::StartProcess(HX_BINARY, args, ChildEnv(env), log_);
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;
  ~AgentProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  std::string Log() const {
    std::ifstream in(log_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Sends `sig` and waits (up to 2 minutes) for the process to end; returns
  // its exit code, or 128 + the signal that killed it, or -1 if it lingers.
  int Signal(int sig) {
    ::kill(pid_, sig);
    return Wait();
  }
  int Wait(std::chrono::seconds deadline = std::chrono::seconds(120)) {
    int status = 0;
    const bool ended = WaitFor(
        [&] {
          const pid_t got = ::waitpid(pid_, &status, WNOHANG);
          return got == pid_;
        },
        deadline);
    if (!ended) return -1;
    reaped_ = true;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }
  // True while the process has not ended (reaps it if it has).
  bool Alive() {
    if (reaped_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      exit_status_ = status;
      return false;
    }
    return true;
  }
  int exit_status() const { return exit_status_; }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_status_ = 0;
};

using hx::testing::TempDir;

inline void WriteFile(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file (its bytes) and directory ("<dir>") of a vault, .hx/ left out.
inline std::map<std::string, std::string> Contents(const fs::path& vault) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(vault, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), vault).generic_string();
    if (rel == ".hx") {
      it.disable_recursion_pending();
      continue;
    }
    std::error_code type_ec;
    if (it->is_symlink(type_ec)) {
      out[rel] = "<link>";
    } else if (it->is_regular_file(type_ec)) {
      out[rel] = ReadFile(it->path());
    } else if (it->is_directory(type_ec)) {
      out[rel] = "<dir>";
    }
  }
  return out;
}

// The entries of `contents` under `prefix/`.
inline std::map<std::string, std::string> Under(const std::map<std::string, std::string>& contents,
                                                const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& [path, bytes] : contents) {
    if (path == prefix || path.rfind(prefix + "/", 0) == 0) out[path] = bytes;
  }
  return out;
}

// Whether some file of `contents` holds exactly `bytes`.
inline bool HoldsVersion(const std::map<std::string, std::string>& contents,
                         const std::string& bytes) {
  for (const auto& [path, held] : contents) {
    if (held == bytes) return true;
  }
  return false;
}

// The agent's .hx/agent.json (an empty object if there is none yet).
inline nlohmann::json AgentJson(const fs::path& vault) {
  std::ifstream in(vault / ".hx" / "agent.json");
  if (!in) return nlohmann::json::object();
  std::ostringstream s;
  s << in.rdbuf();
  nlohmann::json parsed = nlohmann::json::parse(s.str(), nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

inline std::uint64_t Counter(const fs::path& vault, const std::string& name) {
  const nlohmann::json json = AgentJson(vault);
  if (!json.contains("counters") || !json["counters"].contains(name)) return 0;
  return json["counters"][name].get<std::uint64_t>();
}

// The agent has nothing queued and is not in the middle of a cycle.
inline bool AgentIdle(const fs::path& vault) {
  const nlohmann::json json = AgentJson(vault);
  return json.value("queue_depth", 1) == 0 && json.value("state", std::string()) == "watching";
}

}  // namespace hx::watch_testing
