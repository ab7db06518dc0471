#include "hub/testing/hub_process.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace hx::hub::testing {
namespace {

constexpr std::string_view kListening = "hx serve: listening on ";

Error Failed(std::string message) { return InternalError("hub test process: " + message); }

}  // namespace

const char* HxBinary() {
#ifdef HX_BINARY
  return HX_BINARY;
#else
  return "hx";
#endif
}

Result<std::unique_ptr<HubProcess>> HubProcess::Start(
    const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& env, const std::string& stderr_file) {
  auto process = std::make_unique<HubProcess>(PassKey{});
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Failed("pipe failed");
  std::vector<std::string> argv_strings = {HxBinary(), "serve"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (!stderr_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
  }
  const int spawned =
      posix_spawn(&process->pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  process->stdout_fd_ = pipe_fds[0];
  if (spawned != 0) {
    process->pid_ = -1;
    return Failed(std::string("cannot start ") + HxBinary() + ": " + std::strerror(spawned));
  }
  // Read the first line (the bound address), at most 60 s.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return Failed("no 'listening on' line within 60 s");
    pollfd pfd{process->stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char buffer[512];
    const ssize_t n = read(process->stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) return Failed("hx serve exited before listening (see its stderr)");
    line.append(buffer, static_cast<std::size_t>(n));
  }
  line.resize(line.find('\n'));
  if (!line.starts_with(kListening)) return Failed("unexpected first line: " + line);
  process->url_ = line.substr(kListening.size());
  return process;
}

std::string HubProcess::address() const { return url_.substr(url_.find("://") + 3); }

int HubProcess::port() const {
  const std::string a = address();
  return std::stoi(a.substr(a.rfind(':') + 1));
}

int HubProcess::StopWith(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = -1;
  for (int i = 0; i < 3000; ++i) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

HubProcess::~HubProcess() {
  StopWith(SIGTERM);
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

}  // namespace hx::hub::testing
