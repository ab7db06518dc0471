#include "store/s3/testing/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

extern char** environ;

namespace hx::testing {
namespace {

using Clock = std::chrono::steady_clock;

Error Internal(std::string message) { return Error(SyncCode::kInternal, Category::kInternal, std::move(message)); }

// Waits until `fd` is readable or `deadline` passes; false on timeout.
bool WaitReadable(int fd, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let the read report the error
  }
}

std::string ToLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\nbody".
Result<HttpReply> ParseReply(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || end == std::string::npos) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt,
                 "the reply is not HTTP (" + std::to_string(raw.size()) + " bytes)");
  }
  HttpReply reply;
  std::size_t line_end = raw.find("\r\n");
  const std::string status_line = raw.substr(0, line_end);
  const auto space = status_line.find(' ');
  if (space == std::string::npos || status_line.size() < space + 4) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt, "bad status line: " + status_line);
  }
  reply.status = std::atoi(status_line.c_str() + space + 1);
  std::size_t pos = line_end + 2;
  while (pos < end) {
    line_end = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, line_end - pos);
    pos = line_end + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    reply.headers[ToLower(line.substr(0, colon))] = value;
  }
  reply.body = raw.substr(end + 4);
  if (auto it = reply.headers.find("content-length"); it != reply.headers.end()) {
    reply.complete = reply.body.size() >= std::stoull(it->second);
  }
  return reply;
}

}  // namespace

std::string ProxyFaultConfig::ToJson() const {
  nlohmann::json j;
  j["seed"] = seed;
  j["rates"] = nlohmann::json::object();
  for (const auto& [kind, rate] : rates) j["rates"][kind] = rate;
  j["methods"] = methods;
  j["path_regex"] = path_regex;
  j["skip"] = skip;
  j["max_faults"] = max_faults;
  j["max_streak"] = max_streak;
  j["every"] = every;
  j["stall_seconds"] = stall_seconds;
  j["trickle_seconds"] = trickle_seconds;
  j["list_cycle"] = list_cycle;
  j["list_page_entries"] = list_page_entries;
  j["latency_ms"] = latency_ms;
  j["jitter_ms"] = jitter_ms;
  j["rate_mbit"] = rate_mbit;
  return j.dump();
}

Result<HttpReply> HttpExchange(int port, std::string_view method, std::string_view target,
                               std::string_view body, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A cast the socket API requires: sockaddr_in is passed as sockaddr.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                 std::string("connect: ") + std::strerror(err));
  }
  std::string request = std::string(method) + " " + std::string(target) +
                        " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + std::string(body);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                   std::string("send: ") + std::strerror(err));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  const auto deadline = Clock::now() + timeout;
  char buffer[65536];
  for (;;) {
    if (!WaitReadable(fd, deadline)) {
      ::close(fd);
      return Error(SyncCode::kNetworkFailed, Category::kTimeout,
                   "no reply within " + std::to_string(timeout.count()) + " ms (" +
                       std::to_string(raw.size()) + " bytes so far)");
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      // A reset after part of a reply: what arrived is returned as incomplete.
      if (!raw.empty() && raw.find("\r\n\r\n") != std::string::npos) {
        auto reply = ParseReply(raw);
        if (reply.ok()) reply->complete = false;
        return reply;
      }
      return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                   std::string("recv: ") + std::strerror(err));
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (raw.empty()) {
    return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                 "the connection closed without a reply");
  }
  return ParseReply(raw);
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(std::string_view upstream,
                                                       const ProxyFaultConfig& config) {
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Internal("pipe failed");
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return Internal("pipe failed");
  }
  const std::string script = std::string(HX_SOURCE_DIR) + "/src/store/s3/testing/fault_proxy.py";
  std::vector<std::string> args = {"python3",  script,          "--upstream",
                                   std::string(upstream), "--config", config.ToJson(),
                                   "--exit-on-stdin-eof"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, "python3", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (spawned != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return Internal(std::string("cannot start python3: ") + std::strerror(spawned));
  }
  // The script prints "PORT <n>" once it listens.
  std::string line;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos) {
    char c[256];
    if (!WaitReadable(out_pipe[0], deadline)) break;
    const ssize_t n = ::read(out_pipe[0], c, sizeof c);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(c, static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);
  int port = 0;
  if (line.starts_with("PORT ")) port = std::atoi(line.c_str() + 5);
  if (port <= 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(in_pipe[1]);
    return Internal("fault_proxy.py did not report its port (got '" + line + "'); see stderr");
  }
  return std::make_unique<FaultProxy>(Token(), pid, in_pipe[1], port);
}

FaultProxy::~FaultProxy() {
  ::kill(pid_, SIGTERM);
  ::close(stdin_fd_);
  ::waitpid(pid_, nullptr, 0);
}

std::string FaultProxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

namespace {

Status ExpectOk(const Result<HttpReply>& reply, std::string_view what) {
  if (!reply.ok()) return reply.error();
  if (reply->status != 200) {
    return Internal(std::string(what) + " failed with " + std::to_string(reply->status) + ": " +
                    reply->body);
  }
  return OkStatus();
}

}  // namespace

Status FaultProxy::Configure(const ProxyFaultConfig& config) {
  return ExpectOk(HttpExchange(port_, "POST", "/__hxproxy/config", config.ToJson()),
                  "proxy config");
}

Status FaultProxy::Reset() {
  return ExpectOk(HttpExchange(port_, "POST", "/__hxproxy/reset"), "proxy reset");
}

Result<std::vector<ProxyRequest>> FaultProxy::Requests() const {
  auto reply = HttpExchange(port_, "GET", "/__hxproxy/log");
  HX_RETURN_IF_ERROR(ExpectOk(reply, "proxy log"));
  const auto log = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (!log.is_array()) return Internal("the proxy log is not a JSON array");
  std::vector<ProxyRequest> out;
  for (const auto& e : log) {
    ProxyRequest r;
    r.method = e.value("method", "");
    r.path = e.value("path", "");
    r.query = e.value("query", "");
    r.status = e["status"].is_number() ? e["status"].get<int>() : 0;
    r.fault = e["fault"].is_string() ? e["fault"].get<std::string>() : "";
    r.bytes_up = e.value("bytes_up", std::uint64_t{0});
    r.bytes_down = e.value("bytes_down", std::uint64_t{0});
    r.latency_ms_up = e.value("latency_ms_up", 0.0);
    r.latency_ms_down = e.value("latency_ms_down", 0.0);
    r.link_ms_up = e.value("link_ms_up", 0.0);
    r.link_ms_down = e.value("link_ms_down", 0.0);
    r.handshake = e.value("handshake", false);
    out.push_back(std::move(r));
  }
  return out;
}

std::string KeyUnder(const ProxyRequest& request, std::string_view base) {
  if (!request.path.starts_with(base)) return "";
  return request.path.substr(base.size());
}

}  // namespace hx::testing
