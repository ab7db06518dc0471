#include "obs/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "base/clock.h"
#include "os/real_clock.h"

namespace hx::obs {
namespace {

Error Refused(const std::string& address, const std::string& why) {
  return InvalidInput(SyncCode::kInputInvalid,
                      "cannot serve metrics on '" + address + "': " + why +
                          "; give a loopback address and a free port, e.g. 127.0.0.1:9464")
      .With("address", address);
}

// Waits until `fd` is ready for `events` or the wake pipe fires; false on
// the deadline, the wake-up or an error.
bool WaitFor(int fd, short events, int wake_fd, Clock& clock, Clock::MonoTime deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock.Monotonic());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (fds[1].revents != 0) return false;
    return (fds[0].revents & (events | POLLHUP | POLLERR)) != 0;
  }
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const MetricsServerOptions& options,
                                                            std::function<std::string()> render) {
  const std::string& address = options.address;
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Refused(address, "no port");
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  if (host == "localhost") host = "127.0.0.1";
  in_addr ip{};
  if (::inet_pton(AF_INET, host.c_str(), &ip) != 1) {
    return Refused(address, "'" + host + "' is not an IPv4 address");
  }
  if ((ntohl(ip.s_addr) >> 24) != 127) return Refused(address, "it is not a loopback address");
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Refused(address, "'" + port_text + "' is not a port");
  }

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Refused(address, std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = ip;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 16) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Refused(address, why);
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Refused(address, why);
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer(
      fd, pipe_fds[0], pipe_fds[1], ntohs(sa.sin_port), options, std::move(render)));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

MetricsServer::MetricsServer(int listen_fd, int wake_read, int wake_write, int port,
                             MetricsServerOptions options, std::function<std::string()> render)
    : listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write),
      port_(port),
      options_(std::move(options)),
      render_(std::move(render)) {}

MetricsServer::~MetricsServer() {
  Stop();
  ::close(listen_fd_);
  ::close(wake_read_);
  ::close(wake_write_);
}

void MetricsServer::Stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  const char byte = 1;
  (void)!::write(wake_write_, &byte, 1);
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::Serve() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    // The accept wait ends on a connection or on Stop's wake-up.
    const int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) return;
    const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) continue;
    HandleConnection(conn);
    ::close(conn);
  }
}

void MetricsServer::HandleConnection(int fd) {
  Clock& clock = options_.clock != nullptr ? *options_.clock : RealClock::Get();
  const Clock::MonoTime deadline =
      clock.Monotonic() + std::chrono::milliseconds(options_.io_timeout_ms);
  std::string request;
  char buffer[1024];
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > options_.max_request_bytes) return;
    if (!WaitFor(fd, POLLIN, wake_read_, clock, deadline)) return;
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return;
    request.append(buffer, static_cast<std::size_t>(got));
  }
  const std::string_view line = std::string_view(request).substr(0, request.find("\r\n"));
  std::string status = "200 OK";
  std::string body;
  std::string type = "text/plain; version=0.0.4; charset=utf-8";
  if (!line.starts_with("GET ")) {
    status = "405 Method Not Allowed";
    body = "only GET /metrics\n";
    type = "text/plain; charset=utf-8";
  } else {
    std::string_view target = line.substr(4);
    target = target.substr(0, target.find(' '));
    target = target.substr(0, target.find('?'));
    if (target == "/metrics") {
      body = render_();
    } else {
      status = "404 Not Found";
      body = "not found; the metrics are at /metrics\n";
      type = "text/plain; charset=utf-8";
    }
  }
  const std::string reply = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                            "\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\nConnection: close\r\n\r\n" + body;
  served_.fetch_add(1);
  std::size_t sent = 0;
  while (sent < reply.size()) {
    if (!WaitFor(fd, POLLOUT, wake_read_, clock, deadline)) return;
    const ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace hx::obs
