// Raw HTTP/1.1 against a hub on loopback, for the tests that must say bytes
// a client library would never send (malformed requests, bodies that stop
// arriving) or read a reply as it streams (the SSE feed):
//
//   RawConnection c(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
//   c.ReadUntil([](const std::string& r) { return r.find("\r\n\r\n") != r.npos; });
//   StatusOf(c.received());  // 200
//
// Every wait is bounded (60 s), so a hub that hangs fails the test instead of
// stalling it. Thread-safety: one thread per connection.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace hx::hub::testing {

// One connection to 127.0.0.1:`port` that has sent `request`; reads what
// comes as it comes.
class RawConnection {
 public:
  RawConnection(int port, const std::string& request);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Whether the connection was made; and whether all of the request went
  // out (a hub may refuse a header and close before the rest is sent).
  bool connected() const { return connected_; }
  bool sent() const { return sent_; }
  // Tells the hub that no more bytes come (shutdown of the write side).
  void FinishSending();
  // Reads until `done(received)` holds, the hub closes the connection or
  // 60 s pass; whether `done` held.
  bool ReadUntil(const std::function<bool(const std::string&)>& done);
  // Reads until the hub closes the connection; false after 60 s.
  bool ReadToEnd();
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool sent_ = false;
  bool closed_ = false;
  std::string received_;
};

// Sends `bytes` on a fresh connection to 127.0.0.1:`port` and returns all
// that comes back until the hub closes the connection ("<connect failed>"
// if there was none).
std::string RawExchange(int port, const std::string& bytes);

// The status code of a raw reply (0 if it is not an HTTP/1.1 reply).
int StatusOf(const std::string& reply);
// What follows the headers of a raw reply.
std::string BodyOf(const std::string& reply);

// A raw request and the status the hub must answer it with.
struct RawCase {
  std::string name;
  std::string request;
  int status;
};

// Sends each case on a fresh connection to `port`: its reply has the status
// and an error with a message and the code `code` ("": any KC_SYNC_ code).
void ExpectRawErrors(int port, const std::vector<RawCase>& cases, const std::string& code = "");

}  // namespace hx::hub::testing
