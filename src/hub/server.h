// The hub's network front: an asynchronous HTTP/1.1 (and HTTPS) server on
// Boost.Beast over Asio that parses requests under bounds, hands them to the
// Router's handlers on a worker pool, and writes their replies. What the hub
// serves (the store protocol, the feed, health) is registered in the Router
// by other files; this one knows only HTTP.
//
// Threads: `io_threads` run the network (accepts, TLS, reads, writes; a
// connection is a few objects on a strand, not a thread, so thousands of idle
// long polls cost memory only); `worker_threads` run handlers, which may
// block on the backing store.
//
// Bounds (docs/ERRORS.md, "Hub bounds"): request headers max_header_bytes
// (431 beyond), a body max_body_bytes (413 beyond, the rest is not read),
// the bodies of all requests and replies at once max_body_bytes_in_flight (503
// KC_SYNC_NETWORK_FAILED, throttling, beyond; hub/memory_budget.h), open
// connections max_connections (more are closed at once), and every network
// wait has a deadline: the TLS handshake and a request's headers
// io_timeout_ms; its body io_timeout_ms plus 1 s plus the bytes received so
// far at min_rate (a client that stops sending is cut, whatever length it
// announced); writing one reply io_timeout_ms plus its bytes at min_rate; an
// idle keep-alive connection io_timeout_ms. A request the parser refuses is
// answered 400 with KC_SYNC_INPUT_INVALID and the connection closed. No
// exception leaves a handler: one that escapes is answered 500
// KC_SYNC_INTERNAL (503 for memory that ran out) and logged.
//
// Listening: `listen` is "host:port" (IPv4 literal, [IPv6] literal or
// "localhost"); port 0 picks a free port (address() tells which). Plain HTTP
// (tls_cert_file empty) is allowed only on a loopback address; TLS loads a
// PEM certificate chain and private key.
//
// Thread-safety: Start, Stop and the destructor from one thread; address()
// from any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "hub/router.h"

namespace hx::hub {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  // Both set: HTTPS. Both empty: plain HTTP, loopback only.
  std::string tls_cert_file;
  std::string tls_key_file;
  int io_threads = 2;
  int worker_threads = 8;
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = std::uint64_t{128} << 20;
  // The bodies of all requests being read or handled, and of all replies
  // being written, at once, hub-wide (hub/memory_budget.h): a request
  // beyond is answered 503 at once, a reply beyond is replaced by a 503.
  std::uint64_t max_body_bytes_in_flight = std::uint64_t{512} << 20;
  std::size_t max_connections = 4096;
  // Each network wait: the base, plus the bytes at min_rate.
  std::int64_t io_timeout_ms = 60'000;
  std::uint64_t min_rate = 64 * 1024;
  // Times the requests for the latency histogram and starts the body
  // deadlines (null: the real clock; Monotonic() must be the steady clock
  // that the network timers run on);
  // must outlive the server.
  Clock* clock = nullptr;
  // Sees every reply (method, path, route prefix, reply) before it is
  // written, from any thread; the hub's recent-errors ring (activity.h).
  std::function<void(std::string_view method, std::string_view path, std::string_view route,
                     const HubResponse& response)>
      observe;
};

// The metric names the server records (docs/ARCHITECTURE.md, "hub").
inline constexpr std::string_view kHubRequests = "hx_hub_requests_total";
inline constexpr std::string_view kHubRequestSeconds = "hx_hub_request_duration_seconds";
inline constexpr std::string_view kHubConnections = "hx_hub_open_connections";

class HubServer {
 public:
  // Binds, listens and starts the threads. Errors: a malformed or
  // non-loopback insecure address (KC_SYNC_INPUT_INVALID), a certificate or
  // key that does not load (KC_SYNC_INPUT_INVALID naming the file), a port
  // in use (Category::kIo).
  static Result<std::unique_ptr<HubServer>> Start(ServerOptions options,
                                                  std::shared_ptr<const Router> router);
  ~HubServer();
  HubServer(const HubServer&) = delete;
  HubServer& operator=(const HubServer&) = delete;

  // "127.0.0.1:43117": the bound address.
  std::string address() const;
  // "http://127.0.0.1:43117" or "https://...".
  std::string url() const;
  // Blocks until SIGINT or SIGTERM arrives or Stop is called from another
  // thread. The signals are caught from Start on.
  void WaitForStop();
  // Stops accepting, ends the connections and joins the threads.
  void Stop();

  struct Impl;

 private:
  explicit HubServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses "host:port" (the rules above) into an address literal and a port.
// Errors: KC_SYNC_INPUT_INVALID naming the flag's value.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
Result<ListenAddress> ParseListenAddress(std::string_view text);
// True if `host` (a literal from ParseListenAddress) is a loopback address.
bool IsLoopbackHost(std::string_view host);

}  // namespace hx::hub
