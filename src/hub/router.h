// The hub's request routing: a parsed HTTP request (HubRequest), the reply a
// handler gives (HubResponse), and a Router that picks the handler of a
// request by method and path prefix (the longest registered prefix wins).
// The server (hub/server.h) owns one Router; the store protocol
// (hub/store_service.h), health and metrics register their routes in it,
// and so may other parts of the hub (the auth library's enrollment routes):
//
//   router.Handle("POST", "/v1/auth/", [](const HubRequest& r) { ... });
//
// Handlers run on the server's worker pool, never on the network threads, so
// they may block on the backing store. An asynchronous handler (HandleAsync)
// gets a Responder and may keep it to answer later from any thread (the
// change feed answers a long poll when the head moves); it must call it
// exactly once.
//
// Errors: a handler answers a failure with HubResponse::FromError, which
// maps the Category to an HTTP status and puts {"error": Error::ToJson()} in
// the body; the client rebuilds the same Error from it.
//
// Bodies: a route takes a body of at most its max_body_bytes
// (kDefaultRouteBodyBytes unless it says more; the server's own bound caps
// it). The server looks the route up as soon as a request's headers are in,
// so a body beyond the route's bound is answered 413 before it is read:
// an unauthenticated client cannot make the hub read and hold 128 MiB for a
// route that takes 8 KiB. A route that takes large bodies also checks who
// asks on the headers alone (its Admission): a request it refuses is
// answered before its body is read, so a client without a valid token
// cannot make the hub read, hold or wait for even one large body.
//
// Thread-safety: register every route before the server starts; Find is
// then safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace hx::hub {

struct HubRequest {
  std::string method;  // "GET", "PUT", ...
  // The path without the query, as sent (percent-encoding is not decoded:
  // hx's keys and vault names never need it; see store_service.h).
  std::string path;
  // The raw query string after '?' ("" if none).
  std::string query;
  // Header names lowercased; a repeated header keeps its first value.
  std::map<std::string, std::string, std::less<>> headers;
  std::string body;
  // The peer's address ("127.0.0.1"), for logs.
  std::string remote;
  // The path after the matched route's prefix (set by the server).
  std::string rest;

  // The value of a (lowercase) header, or "".
  std::string_view Header(std::string_view lower_name) const;
  // The bearer token of an "Authorization: Bearer <t>" header, or "".
  std::string_view Bearer() const;
  // The value of query parameter `name`, percent-decoded; nullopt when
  // absent or malformed.
  std::optional<std::string> Query(std::string_view name) const;
};

// A reply streamed after its head (server-sent events, hub/sse.h): the
// server writes the head (no Content-Length, Connection: close), then asks
// Next for each piece and writes it, until Next hands nullopt; then it
// closes the connection. Next is called again only after the previous
// piece is written; Cancel when the connection ends first (a failed
// write). Implementations are thread-safe: `deliver` may run on any thread.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual void Next(std::function<void(std::optional<std::string>)> deliver) = 0;
  virtual void Cancel() = 0;
};

struct HubResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set: the body is streamed (status and headers as above; body ignored).
  std::shared_ptr<ResponseStream> stream;

  // `json` (a serialized object) with `status`.
  static HubResponse Json(int status, std::string json);
  // The error's JSON {"error": {...}} with the status its category maps to.
  static HubResponse FromError(const Error& error);
  // A 4xx for a malformed request: KC_SYNC_INPUT_INVALID, kInvalidInput.
  static HubResponse BadRequest(std::string message);
};

// The HTTP status of an error: its detail "http_status" when that is a 4xx
// or 5xx (403 for a reader's write, 405, 413, 503 for a full memory budget),
// else its category's (HttpStatusForCategory).
int HttpStatusFor(const Error& error);
// 400 invalid input, 401 auth, 404 not found, 412 aborted, 429 throttling,
// 502 network, ...
int HttpStatusForCategory(Category category);

// Answers a request; call exactly once, from any thread.
using Responder = std::function<void(HubResponse)>;
using Handler = std::function<HubResponse(const HubRequest&)>;
using AsyncHandler = std::function<void(HubRequest, Responder)>;

// Checks a request on its head alone (method, path, query, headers; no
// body), once the headers are in and before the body is read: nullopt
// admits it, a response refuses it (answered at once; the body is never
// read and the connection closes). Called on a worker thread, as handlers
// are (it may read the store); the handler still checks everything itself.
using Admission = std::function<std::optional<HubResponse>(const HubRequest& head)>;

// The largest body of a route that does not say (bodiless routes: GET,
// HEAD, DELETE, and a path no route takes).
inline constexpr std::uint64_t kDefaultRouteBodyBytes = 64 * 1024;

class Router {
 public:
  // Registers `handler` for `method` ("GET", "PUT", "POST", "DELETE",
  // "HEAD") and every path starting with `prefix` ("/healthz", "/v1/"),
  // taking bodies of at most `max_body_bytes`, admitted by `admit` (if
  // any) before the body is read.
  void Handle(std::string method, std::string prefix, Handler handler,
              std::uint64_t max_body_bytes = kDefaultRouteBodyBytes, Admission admit = {});
  void HandleAsync(std::string method, std::string prefix, AsyncHandler handler,
                   std::uint64_t max_body_bytes = kDefaultRouteBodyBytes, Admission admit = {});
  // Registers `handler` for `method` and exactly the path `path` (the
  // status page "/"): it wins over every prefix.
  void HandleExact(std::string method, std::string path, Handler handler);

  struct Match {
    const AsyncHandler* handler = nullptr;
    // The route's prefix, for metrics ("/v1/"); the path after it.
    std::string_view route;
    std::string_view rest;
    std::uint64_t max_body_bytes = kDefaultRouteBodyBytes;
    const Admission* admit = nullptr;  // null: admitted on its headers
  };
  // The handler of the longest prefix of `path` registered for `method`.
  // nullopt: no route; `*method_allowed` (if given) tells whether another
  // method has a route for the path (405 instead of 404).
  std::optional<Match> Find(std::string_view method, std::string_view path,
                            bool* method_allowed = nullptr) const;

 private:
  struct Route {
    std::string method;
    std::string prefix;
    AsyncHandler handler;
    std::uint64_t max_body_bytes = kDefaultRouteBodyBytes;
    Admission admit;
    bool exact = false;
  };
  std::vector<Route> routes_;
};

}  // namespace hx::hub
