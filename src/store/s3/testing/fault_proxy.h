// FaultProxy: starts and controls fault_proxy.py, the fault-injecting,
// request-counting HTTP proxy that S3 tests put between hx and moto_server
// (what it injects and how: the docstring of fault_proxy.py). Tests point
// hx's --endpoint at proxy.endpoint(), set the faults with Configure(), and
// read what crossed the wire with Requests() or Counts().
//
// Also HttpExchange: one plain HTTP/1.1 request over loopback, for the
// proxy's control endpoint and for tests that look at raw responses.
//
// Test code: compiled into test binaries (it finds the script through
// HX_SOURCE_DIR). Thread-safety: a FaultProxy may be used from several
// threads (each call is one independent HTTP exchange); destroy it once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hx::testing {

// The transient fault kinds of fault_proxy.py (a retry can get through), in
// the order their rates are sliced.
inline constexpr const char* kProxyFaultKinds[] = {
    "500", "503", "slowdown", "429", "stall", "reset", "drop", "drop_mid_body", "truncate"};
// The hostile endpoint kinds (fault_proxy.py): a trickling body, no reply at
// all, an endless error body, list tokens that cycle, a reply cut inside its
// headers, redirects to another region or endpoint.
inline constexpr const char* kProxyHostileKinds[] = {
    "trickle", "silent", "endless_error", "cycle_list", "cut_headers", "redirect", "redirect_307"};

// Which requests fault and how (fault_proxy.py's config object).
struct ProxyFaultConfig {
  std::uint64_t seed = 1;
  // Fault kind -> probability per matching request; the sum is at most 1.
  // With `every`, the kinds' relative weights instead.
  std::map<std::string, double> rates;
  // > 0: deterministic schedule: every `every`-th matching request faults
  // (the first that may, past max_streak), its kind cycling through the
  // rates' kinds in proportion. N matching requests give at least
  // N / every faults, whatever keys they name. 0: the seeded rates.
  std::int64_t every = 0;
  // Only requests with these methods can fault (empty: every method).
  std::vector<std::string> methods;
  // Only requests whose "path?query" matches this Python regex (empty: all).
  std::string path_regex;
  // The first `skip` matching requests never fault.
  std::uint64_t skip = 0;
  // At most this many faults (-1: no limit).
  std::int64_t max_faults = -1;
  // At most this many faults in a row for one request identity (method, path,
  // query, Range), then one passes through (-1: no limit). With it below a
  // client's attempts, every fault is transient: a retry always gets through.
  std::int64_t max_streak = -1;
  // How long a stall holds a request before closing the connection.
  double stall_seconds = 60;
  // trickle: the pause between two body bytes.
  double trickle_seconds = 0.5;
  // cycle_list: how many distinct continuation tokens (2: A, B, A, ...), and
  // the made-up entries of each page.
  std::int64_t list_cycle = 2;
  std::int64_t list_page_entries = 3;
  // Shaping (S3 at a distance; all 0: none): each message's one-way delay,
  // plus up to jitter_ms more drawn from the seed per request and direction
  // (a new connection's first request also pays one round trip, the
  // handshake), and a link of rate_mbit Mbit/s each way shared by every
  // connection. What each request was charged is in its ProxyRequest.
  double latency_ms = 0;
  double jitter_ms = 0;
  double rate_mbit = 0;

  std::string ToJson() const;
};

// One request the proxy saw (control requests excluded).
struct ProxyRequest {
  std::string method;
  std::string path;   // "/bucket/prefix/key"
  std::string query;  // raw, without '?'
  int status = 0;     // the status sent (or that the server sent), 0 if none
  std::string fault;  // the fault kind injected, "" if none
  std::uint64_t bytes_up = 0;
  std::uint64_t bytes_down = 0;
  // Shaping: the delay charged one way (up: with the handshake, if any) and
  // the time the request's and the reply's bytes held the link. 0 unshaped.
  double latency_ms_up = 0;
  double latency_ms_down = 0;
  double link_ms_up = 0;
  double link_ms_down = 0;
  bool handshake = false;  // the first request of a new client connection
};

// A reply read by HttpExchange.
struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  // False when the connection ended before the announced Content-Length.
  bool complete = true;
};

// Sends one request (with "Connection: close") to 127.0.0.1:port and reads
// the reply until the server closes the connection. Fails with
// Category::kNetwork if the connection is refused or reset before any reply
// byte, Category::kTimeout if nothing more arrives within `timeout`, and
// Category::kCorrupt if the reply does not parse as HTTP.
Result<HttpReply> HttpExchange(int port, std::string_view method, std::string_view target,
                               std::string_view body = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

class FaultProxy {
 public:
  // Starts the proxy on a free loopback port in front of `upstream`
  // ("http://127.0.0.1:PORT") and waits until it listens. The proxy exits
  // when this object is destroyed, and also if the test process dies (it
  // watches the pipe on its stdin). Fails (Category::kInternal) if python3
  // or the script cannot be started or does not report its port within 20 s.
  static Result<std::unique_ptr<FaultProxy>> Start(std::string_view upstream,
                                                   const ProxyFaultConfig& config = {});
  // Use Start(); the token keeps the constructor to it.
  class Token {
    friend class FaultProxy;
    Token() = default;
  };
  FaultProxy(Token, pid_t pid, int stdin_fd, int port)
      : pid_(pid), stdin_fd_(stdin_fd), port_(port) {}
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>": what hx's --endpoint is set to.
  std::string endpoint() const;

  // Replaces the fault configuration (in effect for the next request), and
  // restarts the `every` schedule (at seed % every).
  Status Configure(const ProxyFaultConfig& config);
  // No faults from now on (pass-through, counting only).
  Status PassThrough() { return Configure(ProxyFaultConfig{}); }
  // Forgets the requests seen so far (and the per-request draw counters,
  // skip and max_faults counts); the `every` schedule runs on.
  Status Reset();
  // Every request since the start or the last Reset, in arrival order.
  Result<std::vector<ProxyRequest>> Requests() const;

 private:
  pid_t pid_;
  int stdin_fd_;
  int port_;
};

// The object key of a request path "/<bucket>/<prefix>/<key>" relative to
// "/<bucket>/<prefix>/" (`base`), or "" if the path is not under it.
std::string KeyUnder(const ProxyRequest& request, std::string_view base);

}  // namespace hx::testing
