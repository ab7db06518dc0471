// A real `hx serve` for tests: the hx binary started as a child process with
// the given arguments (and extra environment), its stdout read until the
// "listening on URL" line (at most 60 s), stopped with SIGTERM when the
// object dies (SIGKILL if it lingers past 30 s).
//
//   auto hub = HubProcess::Start({"--store", dir, "--insecure-listen",
//                                 "127.0.0.1:0", "--insecure-no-auth"});
//   hub->url();  // "http://127.0.0.1:PORT"
//
// Thread-safety: one thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "base/error.h"

namespace hx::hub::testing {

class HubProcess {
 public:
  // `args` follow "hx serve"; `env` is added to the test's environment;
  // `stderr_file` (if not empty) receives the hub's stderr (else it is the
  // test's).
  static Result<std::unique_ptr<HubProcess>> Start(
      const std::vector<std::string>& args,
      const std::vector<std::pair<std::string, std::string>>& env = {},
      const std::string& stderr_file = "");
  ~HubProcess();
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  const std::string& url() const { return url_; }
  // "127.0.0.1:PORT".
  std::string address() const;
  int port() const;
  // Sends `signal` and waits for the exit; the wait status (or -1).
  int StopWith(int signal);

  struct PassKey {};
  explicit HubProcess(PassKey) {}

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string url_;
};

// The hx binary the tests run (HX_BINARY, set by CMake).
const char* HxBinary();

}  // namespace hx::hub::testing
