// A tiny HTTP/1.1 listener on a loopback address that serves the Prometheus
// text format on GET /metrics, for the agent's --metrics-addr. One
// connection at a time on its own thread; each connection is closed after
// one reply ("Connection: close"). Every socket wait has a deadline: a
// connection gets `io_timeout_ms` in all to send its request and take the
// reply (a client that trickles or stalls is cut off), and the accept loop
// waits on the listening socket and a wake-up pipe, so Stop() returns at
// once. Requests are bounded (`max_request_bytes` of headers).
//
//   GET /metrics   200, text/plain; version=0.0.4 (render() of the moment)
//   GET other      404          other methods   405
//
// Only loopback addresses are accepted (127.0.0.0/8, "localhost"): the
// metrics say how much a device syncs, which is nobody else's business.
//
// Thread-safety: Start/Stop/port from one thread; `render` is called on the
// server's thread and must be thread-safe (MetricsRegistry is).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <atomic>
#include <thread>

#include "base/error.h"

namespace hx {
class Clock;
}

namespace hx::obs {

struct MetricsServerOptions {
  // "127.0.0.1:9464", "localhost:9464"; port 0 picks a free one (port()).
  std::string address = "127.0.0.1:0";
  // The whole of one connection: reading the request and writing the reply.
  int io_timeout_ms = 5000;
  std::size_t max_request_bytes = 8192;
  // For the connection deadlines; null: the real clock.
  Clock* clock = nullptr;
};

class MetricsServer {
 public:
  // Binds, listens and starts serving. An address that is not loopback or
  // does not parse is KC_SYNC_INPUT_INVALID; a port in use KC_SYNC_INPUT_INVALID
  // naming it (category io would say retry; another process holds it).
  static Result<std::unique_ptr<MetricsServer>> Start(const MetricsServerOptions& options,
                                                      std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops accepting, ends the connection being served (at its next wait)
  // and joins the thread. Idempotent.
  void Stop();
  // The bound port (the chosen one for port 0).
  int port() const { return port_; }
  // How many requests were answered (any status).
  std::uint64_t served() const { return served_.load(); }

 private:
  MetricsServer(int listen_fd, int wake_read, int wake_write, int port,
                MetricsServerOptions options, std::function<std::string()> render);
  void Serve();
  void HandleConnection(int fd);

  const int listen_fd_;
  const int wake_read_;
  const int wake_write_;
  const int port_;
  const MetricsServerOptions options_;
  const std::function<std::string()> render_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> served_{0};
  std::thread thread_;
};

}  // namespace hx::obs
