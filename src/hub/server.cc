#include "hub/server.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "hub/memory_budget.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/retry_policy.h"  // ClockOrReal

namespace hx::hub {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

Error InvalidListen(std::string_view text, std::string why) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "the listen address '" + std::string(text.substr(0, 128)) + "' " + std::move(why) +
                   "; write host:port, e.g. 127.0.0.1:8443, [::1]:8443 or 0.0.0.0:8443")
      .With("listen", std::string(text.substr(0, 128)));
}

std::string_view RouteLabel(std::string_view route) { return route.empty() ? "none" : route; }

obs::Gauge& OpenConnections() {
  static obs::Gauge& gauge = obs::DefaultMetrics().GetGauge(
      kHubConnections, "Connections the hub holds open (idle, long polls, in flight).");
  return gauge;
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  if (text.empty() || text.size() > 300) return InvalidListen(text, "is empty or too long");
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidListen(text, "has an unclosed '[' or no port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return InvalidListen(text, "has no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return InvalidListen(text, "has no valid port");
  unsigned value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return InvalidListen(text, "has no valid port");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return InvalidListen(text, "has a port above 65535");
  ListenAddress address;
  address.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  address.port = static_cast<std::uint16_t>(value);
  boost::system::error_code ec;
  net::ip::make_address(address.host, ec);
  if (ec) return InvalidListen(text, "does not name an IP address");
  return address;
}

bool IsLoopbackHost(std::string_view host) {
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

struct HubServer::Impl {
  // Declared so that the io_context (and with it every connection) goes
  // before what the connections use.
  ServerOptions options;
  std::shared_ptr<const Router> router;
  bool tls = false;
  std::atomic<std::size_t> connections{0};
  // The request bodies being read or handled (ServerOptions::max_body_bytes_in_flight).
  MemoryBudget bodies;
  std::string bound;
  std::optional<ssl::context> ssl_ctx;
  net::thread_pool workers;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::signal_set> signals;
  std::vector<std::thread> io_threads;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop_requested = false;
  bool stopped = false;

  explicit Impl(ServerOptions o, std::shared_ptr<const Router> r)
      : options(std::move(o)),
        router(std::move(r)),
        bodies(options.max_body_bytes_in_flight),
        workers(static_cast<std::size_t>(std::max(1, options.worker_threads))) {}

  void Accept();
  static void RunHandler(const AsyncHandler& handler, HubRequest request, Responder respond);
  void RequestStop() {
    {
      std::lock_guard lock(stop_mu);
      stop_requested = true;
    }
    stop_cv.notify_all();
  }
  // Runs `handler` on a worker; `respond` answers on the connection. The
  // body's lease is held until the handler returns.
  void Dispatch(HubRequest request, std::optional<MemoryBudget::Lease> body_lease,
                std::function<void(HubResponse)> write);
  // Runs `admit` on the request's head on a worker (router.h Admission):
  // `admitted` if it lets the request in, else `write` with its refusal,
  // which is logged and counted as every reply is.
  void Admit(const Admission& admit, std::string_view route, HubRequest head,
             std::function<void(HubResponse)> write, std::function<void()> admitted);
  // `write`, after logging and counting the reply to `request` on `route`;
  // the body's lease goes with the answer, before the reply is written.
  Responder Observed(const HubRequest& request, const std::string& route,
                     std::optional<MemoryBudget::Lease> body_lease,
                     std::function<void(HubResponse)> write);
};

namespace {

template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(tcp::socket&& socket, HubServer::Impl& server)
      : stream_(MakeStream(std::move(socket), server)), server_(server) {
    OpenConnections().Add(1);
    boost::system::error_code ec;
    remote_ = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec).address().to_string();
  }
  ~Session() {
    OpenConnections().Add(-1);
    server_.connections.fetch_sub(1);
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, HubServer::Impl& server) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server.ssl_ctx);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  std::chrono::milliseconds Deadline(std::uint64_t bytes) const {
    const std::uint64_t rate = std::max<std::uint64_t>(1, server_.options.min_rate);
    return std::chrono::milliseconds(server_.options.io_timeout_ms +
                                     static_cast<std::int64_t>(bytes * 1000 / rate));
  }

  void Begin() {
    if constexpr (kTls) {
      Lowest().expires_after(Deadline(0));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->Read();
                              });
    } else {
      Read();
    }
  }

  void Read() {
    body_lease_.reset();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    // The headers' deadline; the body has its own (ReadBody).
    Lowest().expires_after(Deadline(0));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    const auto length = parser_->content_length();
    // The route's own bound on its body (router.h), known before the body is
    // read: more is refused now, not after reading it.
    const auto& head = parser_->get();
    const std::string_view target(head.target().data(), head.target().size());
    const std::optional<Router::Match> route = server_.router->Find(
        std::string_view(head.method_string().data(), head.method_string().size()),
        target.substr(0, target.find('?')));
    const std::uint64_t limit = std::min<std::uint64_t>(
        server_.options.max_body_bytes, route ? route->max_body_bytes : kDefaultRouteBodyBytes);
    if (length && *length > limit) {
      close_after_ = true;
      HubResponse response =
          HubResponse::FromError(Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                                       "the request body is larger than this route takes (" +
                                           std::to_string(limit) + " bytes)")
                                     .With("max_size", std::to_string(limit))
                                     .With("http_status", "413"));
      return Write(std::move(response));
    }
    if (route && route->admit != nullptr) return Admit(*route, limit);
    StartBody(limit);
  }

  // Who asks, on the headers alone (router.h Admission): a refused
  // request's body is never read. The check may read the store (a token's
  // key, a revocation), so it runs on a worker, as handlers do, never on
  // the I/O thread; the connection waits meanwhile, under its headers'
  // deadline.
  void Admit(const Router::Match& route, std::uint64_t limit) {
    std::optional<HubRequest> request = HeadOf(parser_->get());
    if (!request) return RefuseTarget();
    request->rest = std::string(route.rest);
    request->remote = remote_;
    auto self = this->shared_from_this();
    server_.Admit(
        *route.admit, route.route, std::move(*request),
        [self](HubResponse refused) {
          net::post(self->stream_.get_executor(), [self, refused = std::move(refused)]() mutable {
            self->close_after_ = true;
            self->Write(std::move(refused));
          });
        },
        [self, limit] {
          net::post(self->stream_.get_executor(), [self, limit] { self->StartBody(limit); });
        });
  }

  // Reads the body of at most `limit` bytes. Its bytes are charged to the
  // hub-wide budget before they are read (the parser reserves an announced
  // length at once); a chunked body as it arrives.
  void StartBody(std::uint64_t limit) {
    const auto length = parser_->content_length();
    parser_->body_limit(limit);  // a chunked body is held to it as it comes
    body_lease_ = server_.bodies.TryAcquire(length.value_or(0));
    if (!body_lease_) return RefuseOverBudget();
    // The body's deadlines are beast's steady-clock timers: the start is
    // taken from the server's Clock, whose Monotonic() is that clock.
    body_start_ = ClockOrReal(server_.options.clock).Monotonic();
    ReadBody();
  }

  // Reads the body piece by piece. Each piece must come by the body's
  // deadline, which moves with what has arrived: io_timeout_ms plus one
  // second plus the bytes so far at min_rate from the headers' end. A client
  // that stops sending (slow loris) is cut within that, whatever length it
  // announced; a body that keeps min_rate on average always fits.
  void ReadBody() {
    if (parser_->is_done()) return OnRead({});
    const std::uint64_t received = parser_->get().body().size();
    if (!body_lease_->TryGrowTo(received)) return RefuseOverBudget();
    const std::uint64_t rate = std::max<std::uint64_t>(1, server_.options.min_rate);
    Lowest().expires_at(body_start_ + Deadline(rate + received));
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->OnReadError(ec);
                            self->ReadBody();
                          });
  }

  void RefuseOverBudget() {
    body_lease_.reset();
    close_after_ = true;
    Write(HubResponse::FromError(
        BudgetExhausted("request and reply bodies", server_.options.max_body_bytes_in_flight)));
  }

  void OnReadError(beast::error_code ec) {
    // Only the parser's own errors get a reply; a timeout, a reset or the
    // peer's end of the connection just close it.
    const bool parse_error =
        ec.category() == http::make_error_code(http::error::body_limit).category();
    if (ec == http::error::end_of_stream || !parse_error) return Close();
    close_after_ = true;
    if (ec == http::error::body_limit) {
      HubResponse response =
          HubResponse::BadRequest("the request body is larger than the hub accepts on this route");
      response.status = 413;
      return Write(std::move(response));
    }
    if (ec == http::error::header_limit) {
      HubResponse response =
          HubResponse::BadRequest("the request headers are larger than the hub accepts (" +
                                  std::to_string(server_.options.max_header_bytes) + " bytes)");
      response.status = 431;
      return Write(std::move(response));
    }
    return Write(
        HubResponse::BadRequest("the hub could not parse the HTTP request (" + ec.message() + ")"));
  }

  // The request's method, path, query and headers (names lowercased);
  // nullopt if its target is not a path.
  template <class Header>
  static std::optional<HubRequest> HeadOf(const Header& message) {
    HubRequest request;
    request.method = std::string(message.method_string());
    const std::string_view target(message.target().data(), message.target().size());
    if (target.empty() || target.front() != '/') return std::nullopt;
    const std::size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
      request.query = std::string(target.substr(question + 1));
    }
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace(std::move(name), std::string(field.value()));
    }
    return request;
  }

  void RefuseTarget() {
    close_after_ = true;
    Write(HubResponse::BadRequest("the request target must be a path starting with '/'"));
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& message = parser_->get();
    close_after_ = !message.keep_alive();
    std::optional<HubRequest> head = HeadOf(message);
    if (!head) return RefuseTarget();
    HubRequest request = std::move(*head);
    request.body = std::move(message.body());
    request.remote = remote_;
    head_ = request.method == "HEAD";
    parser_.reset();  // the body now lives in `request` (the lease goes with it)
    server_.Dispatch(std::move(request), std::move(body_lease_),
                     [self = this->shared_from_this()](HubResponse response) {
                       net::post(self->stream_.get_executor(),
                                 [self, response = std::move(response)]() mutable {
                                   self->Write(std::move(response));
                                 });
                     });
  }

  void Write(HubResponse response) {
    if (response.stream) return WriteStreamHead(std::move(response));
    // A reply is held until the peer has read it (a slow reader holds it
    // long): its bytes are charged to the same budget as request bodies.
    reply_lease_ = server_.bodies.TryAcquire(response.body.size());
    if (!reply_lease_) {
      response = HubResponse::FromError(
          BudgetExhausted("request and reply bodies", server_.options.max_body_bytes_in_flight));
    }
    auto reply = std::make_shared<http::response<http::string_body>>();
    reply->version(11);
    reply->result(static_cast<unsigned>(response.status));
    reply->set(http::field::server, "hx-hub");
    reply->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) reply->set(name, value);
    reply->keep_alive(!close_after_);
    const std::size_t size = response.body.size();
    reply->body() = std::move(response.body);
    reply->prepare_payload();
    if (head_) reply->body().clear();
    reply_ = reply;
    Lowest().expires_after(Deadline(size));
    http::async_write(stream_, *reply_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->reply_.reset();
                        self->reply_lease_.reset();
                        if (ec || self->close_after_) return self->Close();
                        self->Read();
                      });
  }

  // A streamed reply: the head, then each piece the stream hands, then the
  // end of the connection (the body runs to it: no length, no chunks).
  void WriteStreamHead(HubResponse response) {
    stream_body_ = std::move(response.stream);
    close_after_ = true;
    std::string head =
        "HTTP/1.1 " + std::to_string(response.status) + " " +
        std::string(http::obsolete_reason(static_cast<http::status>(response.status))) +
        "\r\nServer: hx-hub\r\nContent-Type: " + response.content_type +
        "\r\nConnection: close\r\n";
    for (auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
    WritePiece(std::move(head));
  }

  void WritePiece(std::string piece) {
    piece_ = std::move(piece);
    Lowest().expires_after(Deadline(piece_.size()));
    net::async_write(stream_, net::buffer(piece_),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) {
                         self->stream_body_->Cancel();
                         return self->Close();
                       }
                       self->NextPiece();
                     });
  }

  void NextPiece() {
    // No deadline while the stream waits: it sends a heartbeat every few
    // seconds and ends itself (hub/sse.h); each write has its deadline.
    Lowest().expires_never();
    stream_body_->Next([self = this->shared_from_this()](std::optional<std::string> piece) {
      net::post(self->stream_.get_executor(), [self, piece = std::move(piece)]() mutable {
        if (!piece) return self->Close();
        self->WritePiece(std::move(*piece));
      });
    });
  }

  void Close() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
      });
    } else {
      // A lingering close: the reply is sent, then what the peer still sends
      // (the rest of a refused request) is read and dropped until it ends
      // (at most kLingerBytes or 5 s), so closing with unread bytes does not
      // reset the connection and destroy the reply before the peer reads it.
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Lowest().expires_after(std::chrono::seconds(5));
      Drain(0);
    }
  }

  // What a lingering close reads at most. More than the socket buffers of
  // both ends hold (several MiB each on Linux): a client that sent a refused
  // 64 MiB envelope in one go has that much in flight when the 413 goes out,
  // and with a 1 MiB bound the close reset the connection before a loaded
  // client had read the reply (EnvelopeEndpointsTest, once in a full run).
  static constexpr std::size_t kLingerBytes = std::size_t{64} << 20;

  void Drain(std::size_t drained) {
    Lowest().async_read_some(net::buffer(scratch_), [self = this->shared_from_this(), drained](
                                                        beast::error_code ec, std::size_t n) {
      if (ec || drained + n > kLingerBytes) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
        return;
      }
      self->Drain(drained + n);
    });
  }

  Stream stream_;
  HubServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<MemoryBudget::Lease> body_lease_;
  std::optional<MemoryBudget::Lease> reply_lease_;
  Clock::MonoTime body_start_;
  std::shared_ptr<http::response<http::string_body>> reply_;
  std::shared_ptr<ResponseStream> stream_body_;
  std::string piece_;
  std::string remote_;
  std::array<char, 4096> scratch_;
  bool close_after_ = false;
  bool head_ = false;
};

}  // namespace

void HubServer::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      return Accept();
    }
    if (connections.fetch_add(1) >= options.max_connections) {
      connections.fetch_sub(1);
      beast::error_code ignored;
      socket.close(ignored);
      return Accept();
    }
    if (tls) {
      std::make_shared<Session<true>>(std::move(socket), *this)->Run();
    } else {
      std::make_shared<Session<false>>(std::move(socket), *this)->Run();
    }
    Accept();
  });
}

void HubServer::Impl::Dispatch(HubRequest request, std::optional<MemoryBudget::Lease> body_lease,
                               std::function<void(HubResponse)> write) {
  bool other_method = false;
  const std::optional<Router::Match> match =
      router->Find(request.method, request.path, &other_method);
  Responder respond =
      Observed(request, std::string(match ? RouteLabel(match->route) : "none"),
               std::move(body_lease), std::move(write));
  if (!match) {
    HubResponse response = HubResponse::FromError(
        Error(SyncCode::kInputInvalid, Category::kInvalidInput,
              other_method
                  ? "the method " + request.method.substr(0, 16) + " is not allowed on this path"
                  : "no such path on this hub; the store protocol is under /v1/<vault>/")
            .With("path", request.path.substr(0, 256)));
    response.status = other_method ? 405 : 404;
    return respond(std::move(response));
  }
  request.rest = std::string(match->rest);
  const AsyncHandler* handler = match->handler;
  net::post(workers, [handler, request = std::move(request), respond = std::move(respond)]() mutable {
    RunHandler(*handler, std::move(request), std::move(respond));
  });
}

void HubServer::Impl::Admit(const Admission& admit, std::string_view route, HubRequest head,
                            std::function<void(HubResponse)> write,
                            std::function<void()> admitted) {
  Responder respond =
      Observed(head, std::string(RouteLabel(route)), std::nullopt, std::move(write));
  // As a handler (RunHandler: an exception is a 500, not a lost worker)
  // that answers only a refusal.
  net::post(workers, [&admit, head = std::move(head), respond = std::move(respond),
                      admitted = std::move(admitted)]() mutable {
    RunHandler(
        [&admit, &admitted](HubRequest request, Responder refuse) {
          if (std::optional<HubResponse> refused = admit(request)) return refuse(*refused);
          admitted();
        },
        std::move(head), std::move(respond));
  });
}

Responder HubServer::Impl::Observed(const HubRequest& request, const std::string& route,
                                    std::optional<MemoryBudget::Lease> body_lease,
                                    std::function<void(HubResponse)> write) {
  Clock& clock = ClockOrReal(options.clock);
  const Clock::MonoTime start = clock.Monotonic();
  // At debug, one log line per request: method, path (store keys and vault
  // names, never a header: no bearer token), status and time.
  std::optional<nlohmann::json> log_line;
  if (obs::LogEnabled(obs::LogLevel::kDebug)) {
    log_line = nlohmann::json{{"method", request.method.substr(0, 16)},
                              {"path", request.path.substr(0, 256)},
                              {"remote", request.remote}};
  }
  // The request's body lease goes with the answer, before the reply is
  // written: a client that has its reply finds the budget back (were it
  // held by the worker's task, its end would race the client's next
  // request). Shared: a Responder is copyable.
  return [route, start, &clock, log_line = std::move(log_line), write = std::move(write),
          observe = options.observe, method = request.method, path = request.path,
          lease = std::make_shared<std::optional<MemoryBudget::Lease>>(
              std::move(body_lease))](HubResponse response) mutable {
    lease->reset();
    if (observe) observe(method, path, route, response);
    const double seconds = std::chrono::duration<double>(clock.Monotonic() - start).count();
    if (log_line) {
      (*log_line)["status"] = response.status;
      (*log_line)["ms"] = static_cast<std::int64_t>(seconds * 1000);
      obs::Log(obs::LogLevel::kDebug, "hub.request", *log_line);
    }
    obs::MetricsRegistry& metrics = obs::DefaultMetrics();
    metrics
        .GetCounter(kHubRequests, "Requests the hub answered, by route and HTTP status.",
                    {{"route", route}, {"status", std::to_string(response.status)}})
        .Inc();
    metrics
        .GetHistogram(kHubRequestSeconds, "Time from a request's arrival to its reply.",
                      {{"route", route}}, obs::LatencyBuckets())
        .Observe(seconds);
    write(std::move(response));
  };
}

void HubServer::Impl::RunHandler(const AsyncHandler& handler, HubRequest request,
                                 Responder respond) {
  // No exception leaves a handler: one that escapes (a bug, or memory that
  // ran out) is answered 500 or 503, once, and the hub goes on serving.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  Responder once = [answered, respond = std::move(respond)](HubResponse response) {
    if (!answered->exchange(true)) respond(std::move(response));
  };
  const std::string method = request.method.substr(0, 16);
  const std::string path = request.path.substr(0, 256);
  std::optional<Error> failure;
  try {
    handler(std::move(request), once);
  } catch (const std::bad_alloc&) {
    failure = Error(SyncCode::kNetworkFailed, Category::kThrottling,
                    "the hub ran out of memory serving this request; retry in a few seconds")
                  .With("http_status", "503");
  } catch (const std::exception& e) {
    failure = Error(SyncCode::kInternal, Category::kInternal,
                    std::string("the hub failed on this request (a bug in hx: ") + e.what() +
                        "); report it with the hub's log");
  } catch (...) {
    failure = Error(SyncCode::kInternal, Category::kInternal,
                    "the hub failed on this request (a bug in hx); report it with the hub's log");
  }
  if (!failure) return;
  obs::Log(obs::LogLevel::kError, "hub.handler_failed",
           nlohmann::json{{"method", method}, {"path", path}, {"message", failure->message}});
  once(HubResponse::FromError(failure->With("path", path)));
}

HubServer::HubServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HubServer::~HubServer() { Stop(); }

Result<std::unique_ptr<HubServer>> HubServer::Start(ServerOptions options,
                                                    std::shared_ptr<const Router> router) {
  HX_ASSIGN_OR_RETURN(const ListenAddress listen, ParseListenAddress(options.listen));
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "HTTPS needs both --tls-cert and --tls-key (PEM files)");
  }
  if (!tls && !IsLoopbackHost(listen.host)) {
    return InvalidListen(options.listen,
                         "is not a loopback address; plain HTTP is allowed only on loopback "
                         "(--insecure-listen 127.0.0.1:PORT); serve other addresses with "
                         "--listen and --tls-cert/--tls-key");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router));
  impl->tls = tls;
  if (tls) {
    impl->ssl_ctx.emplace(ssl::context::tls_server);
    impl->ssl_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    impl->ssl_ctx->use_certificate_chain_file(impl->options.tls_cert_file, ec);
    if (ec) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "the TLS certificate could not be loaded (" + ec.message() +
                       "); give a PEM certificate chain with --tls-cert")
          .With("path", impl->options.tls_cert_file);
    }
    impl->ssl_ctx->use_private_key_file(impl->options.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "the TLS private key could not be loaded (" + ec.message() +
                       "); give the PEM key of the certificate with --tls-key")
          .With("path", impl->options.tls_key_file);
    }
  }
  boost::system::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address(listen.host), listen.port);
  impl->acceptor.emplace(net::make_strand(impl->ioc));
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(SyncCode::kInputInvalid, Category::kIo,
                 "the hub could not listen on " + impl->options.listen + " (" + ec.message() +
                     "); choose another port or stop what uses it")
        .With("listen", impl->options.listen);
  }
  const tcp::endpoint local = impl->acceptor->local_endpoint();
  impl->bound = local.address().is_v6()
                    ? "[" + local.address().to_string() + "]:" + std::to_string(local.port())
                    : local.address().to_string() + ":" + std::to_string(local.port());
  impl->signals.emplace(impl->ioc, SIGINT, SIGTERM);
  Impl* raw = impl.get();
  impl->signals->async_wait([raw](beast::error_code ec2, int) {
    if (!ec2) raw->RequestStop();
  });
  impl->Accept();
  for (int i = 0; i < std::max(1, impl->options.io_threads); ++i) {
    impl->io_threads.emplace_back([raw] { raw->ioc.run(); });
  }
  return std::unique_ptr<HubServer>(new HubServer(std::move(impl)));
}

std::string HubServer::address() const { return impl_->bound; }

std::string HubServer::url() const { return (impl_->tls ? "https://" : "http://") + impl_->bound; }

void HubServer::WaitForStop() {
  std::unique_lock lock(impl_->stop_mu);
  impl_->stop_cv.wait(lock, [this] { return impl_->stop_requested; });
}

void HubServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->RequestStop();
  net::post(impl_->acceptor->get_executor(), [raw = impl_.get()] {
    beast::error_code ignored;
    raw->acceptor->close(ignored);
    if (raw->signals) raw->signals->cancel(ignored);
  });
  impl_->workers.join();
  impl_->ioc.stop();
  for (std::thread& thread : impl_->io_threads) thread.join();
  impl_->io_threads.clear();
}

}  // namespace hx::hub
