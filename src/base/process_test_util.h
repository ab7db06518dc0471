// For tests that drive a real program (the hx binary, killed or not): run it
// to the end capturing what it printed, or start it in the background with
// its output going to a log file. Header-only, so any test binary can use it
// without a link dependency.
//
// The child's argv and environment are built before fork(), so the child
// only calls async-signal-safe functions (dup2, open, execve): safe in a test
// binary that runs threads (moto fixtures, thread pools).
//
// The child's stdin is /dev/null: never a terminal, so hx never prompts.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace hx::testing {

struct ProcessRun {
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it
  std::string output;   // stdout and stderr, interleaved as written
};

// The environment a child gets.
enum class EnvBase {
  kInherit,   // this process's environment, then `env`
  kPathOnly,  // only PATH (if set), then `env`: nothing else leaks in
};

namespace process_internal {

inline std::string_view NameOf(std::string_view kv) { return kv.substr(0, kv.find('=')); }

// `base` then `env` ("NAME=value"); a later entry replaces an earlier one of
// the same name.
inline std::vector<std::string> MergeEnv(EnvBase base, const std::vector<std::string>& env) {
  std::vector<std::string> merged;
  if (base == EnvBase::kInherit) {
    for (char** e = environ; *e != nullptr; ++e) merged.emplace_back(*e);
  } else if (const char* path = std::getenv("PATH")) {
    merged.push_back(std::string("PATH=") + path);
  }
  for (const std::string& kv : env) {
    std::erase_if(merged, [&](const std::string& old) { return NameOf(old) == NameOf(kv); });
    merged.push_back(kv);
  }
  return merged;
}

inline std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks `binary args` with stdout and stderr on `out_fd` and stdin on
// /dev/null; -1 if fork failed.
inline pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
                   const std::vector<std::string>& env, EnvBase base, int out_fd,
                   int close_in_child) {
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergeEnv(base, env);
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    if (out_fd > STDERR_FILENO) ::close(out_fd);
    if (close_in_child >= 0) ::close(close_in_child);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

inline void Reap(pid_t pid, ProcessRun& run) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
}

}  // namespace process_internal

// Runs `binary args` to the end and returns how it ended and what it printed.
inline ProcessRun RunProcess(const std::string& binary, const std::vector<std::string>& args,
                             const std::vector<std::string>& env = {},
                             EnvBase base = EnvBase::kInherit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  const pid_t pid = process_internal::Spawn(binary, args, env, base, fds[1], fds[0]);
  if (pid < 0) std::abort();
  ::close(fds[1]);
  ProcessRun run;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
    run.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  process_internal::Reap(pid, run);
  return run;
}

// Starts `binary args` in the background, its stdout and stderr appended to
// `log`. The caller reaps it (waitpid) or kills it.
inline pid_t StartProcess(const std::string& binary, const std::vector<std::string>& args,
                          const std::vector<std::string>& env, const std::filesystem::path& log,
                          EnvBase base = EnvBase::kInherit) {
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) std::abort();
  const pid_t pid = process_internal::Spawn(binary, args, env, base, out, -1);
  ::close(out);
  if (pid < 0) std::abort();
  return pid;
}

}  // namespace hx::testing
