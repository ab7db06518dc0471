#include "store/s3/testing/moto_server.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/s3/http_client.h"
#include "store/s3/xml.h"

extern char** environ;

namespace hx::s3::testing {
namespace {

// moto_server's own entry point, run after one fix to its SigV4 verifier:
// moto rebuilds the canonical query from werkzeug's IRI form of the URL, in
// which "%2F" (and most escapes) are already decoded, so it cannot verify a
// correctly signed request whose query holds a '/' (every List of a prefix).
// The fix canonicalizes the query as the SigV4 spec says (decode, then
// encode all but unreserved characters). Verification stays on and strict.
// And one to its conditional writes: moto checks If-None-Match / If-Match,
// then stores, without a lock, so two racing conditional PUTs can both win
// (S3 itself is atomic); PutObject is serialized.
constexpr const char* kMotoLauncher = R"(
import sys
import threading
from urllib.parse import quote, unquote
import botocore.auth

def canonical_query(self, parts):
    if not parts.query:
        return ''
    pairs = []
    for pair in parts.query.split('&'):
        key, _, value = pair.partition('=')
        pairs.append((quote(unquote(key), safe='-_.~'), quote(unquote(value), safe='-_.~')))
    return '&'.join(f'{k}={v}' for k, v in sorted(pairs))

botocore.auth.SigV4Auth._canonical_query_string_url = canonical_query

from moto.s3.responses import S3Response
put_lock = threading.Lock()
unlocked_put_object = S3Response.put_object

def put_object(self, *args, **kwargs):
    with put_lock:
        return unlocked_put_object(self, *args, **kwargs)

S3Response.put_object = put_object

# The server binds port 0 itself and says which port it got, on stdout (then
# stdout goes to /dev/null): a port picked by the parent and bound here later
# could be taken in between (by another test's server, or as the local port
# of any connection), and the parent would wait on, or talk to, someone
# else's listener. moto_server's main() does what follows with a given port.
import os
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server
app = DomainDispatcherApplication(create_backend_app)
app.debug = True
server = make_server('127.0.0.1', 0, app, threaded=True)
port = server.socket.getsockname()[1]
os.environ['MOTO_PORT'] = str(port)
sys.stdout.write(f'PORT {port}\n')
sys.stdout.flush()
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
server.serve_forever()
)";

Error Fail(std::string message) { return InternalError("moto_server: " + std::move(message)); }

// Reads the "PORT <n>" line the launcher writes once it listens, waiting
// until `deadline` and while `pid` runs: the port, -1 if the launcher
// exited (it is reaped), 0 if no port came.
int ReadPortLine(int fd, pid_t pid, std::chrono::steady_clock::time_point deadline) {
  std::string line;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) return 0;
    if (ready <= 0) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return -1;
      continue;
    }
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // the launcher closed stdout: it failed
    if (c == '\n') break;
    if (line.size() < 64) line.push_back(c);
  }
  if (!line.starts_with("PORT ")) return 0;
  return std::atoi(line.c_str() + 5);
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out += UriEncode(name) + "=" + UriEncode(value);
  }
  return out;
}

// One unauthenticated IAM call. moto routes a request to a service by the
// credential scope of its Authorization header; during the no-auth count
// the signature itself is not checked.
Result<XmlElement> IamCall(HttpClient& http, const std::string& endpoint,
                           std::vector<std::pair<std::string, std::string>> fields) {
  fields.emplace_back("Version", "2010-05-08");
  const std::string body = FormEncode(fields);
  HttpRequest request{
      .method = "POST",
      .url = endpoint + "/",
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 Credential=AKIDBOOTSTRAP/20260101/us-east-1/iam/"
                   "aws4_request, SignedHeaders=host, Signature=00"}},
      .body = {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()},
      .max_response_bytes = 1 << 20};
  HX_ASSIGN_OR_RETURN(HttpResponse response, http.Perform(request));
  const std::string text(response.body.begin(), response.body.end());
  if (response.status != 200) {
    return Fail("IAM " + fields.front().second + " answered HTTP " +
                std::to_string(response.status) + ": " + text.substr(0, 300));
  }
  return ParseXml(text);
}

}  // namespace

Result<std::unique_ptr<MotoServer>> MotoServer::Start() {
  auto server = std::make_unique<MotoServer>(PassKey());

  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "INITIAL_NO_AUTH_ACTION_COUNT=", 29) != 0) {
      env_strings.emplace_back(*entry);
    }
  }
  env_strings.emplace_back("INITIAL_NO_AUTH_ACTION_COUNT=3");
  // Real S3 wants parts of at least 5 MiB; tests use small parts to run
  // multipart uploads over small objects.
  env_strings.emplace_back("S3_UPLOAD_PART_MIN_SIZE=1024");
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string program = "python3";
  std::string dash_c = "-c";
  std::string script = kMotoLauncher;
  std::vector<char*> argv = {program.data(), dash_c.data(), script.data(), nullptr};

  // stdout: a pipe that brings the port (close-on-exec here, so that no
  // other child inherits it); moto logs every request on stderr, which the
  // tests do not need.
  int port_pipe[2];
  if (::pipe2(port_pipe, O_CLOEXEC) != 0) return Fail("pipe2() failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, port_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const int spawned = posix_spawnp(&server->pid_, program.c_str(), &actions, nullptr, argv.data(),
                                   envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(port_pipe[1]);
  if (spawned != 0) {
    ::close(port_pipe[0]);
    server->pid_ = -1;
    return Fail("could not start python3 (is moto installed?): " +
                std::string(std::strerror(spawned)));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const int port = ReadPortLine(port_pipe[0], server->pid_, deadline);
  ::close(port_pipe[0]);
  if (port < 0) {
    server->pid_ = -1;
    return Fail("moto_server exited before it listened");
  }
  if (port == 0) return Fail("moto_server did not say its port within 60 s");
  server->port_ = port;
  server->endpoint_ = "http://127.0.0.1:" + std::to_string(server->port_);

  HttpClient http;
  HX_RETURN_IF_ERROR(
      IamCall(http, server->endpoint_, {{"Action", "CreateUser"}, {"UserName", "hx-test"}}));
  HX_ASSIGN_OR_RETURN(
      XmlElement created,
      IamCall(http, server->endpoint_, {{"Action", "CreateAccessKey"}, {"UserName", "hx-test"}}));
  const XmlElement* result = created.Child("CreateAccessKeyResult");
  const XmlElement* key = result == nullptr ? nullptr : result->Child("AccessKey");
  if (key == nullptr) return Fail("CreateAccessKey gave no AccessKey");
  server->credentials_ = {key->ChildText("AccessKeyId"), key->ChildText("SecretAccessKey"), ""};
  HX_RETURN_IF_ERROR(IamCall(
      http, server->endpoint_,
      {{"Action", "PutUserPolicy"},
       {"UserName", "hx-test"},
       {"PolicyName", "everything"},
       {"PolicyDocument",
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"}}));
  return server;
}

MotoServer::~MotoServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

S3Endpoint MotoServer::EndpointFor(const std::string& bucket) const {
  return S3Endpoint{.base_url = endpoint_, .path_style = true, .region = kRegion,
                    .bucket = bucket};
}

Status MotoServer::CreateBucket(const std::string& bucket) {
  S3Client client(EndpointFor(bucket), credentials_);
  HX_ASSIGN_OR_RETURN(HttpResponse response,
                      client.Send({.method = "PUT", .key = "", .query = {}, .headers = {},
                                   .body = {}, .max_response_bytes = 1 << 16}));
  (void)response;
  return OkStatus();
}

std::string MotoServer::NewBucket() {
  const std::string bucket = "hx-test-" + std::to_string(::getpid()) + "-" +
                             std::to_string(buckets_.fetch_add(1));
  Status created = CreateBucket(bucket);
  if (!created.ok()) {
    std::fprintf(stderr, "cannot create bucket %s: %s\n", bucket.c_str(),
                 created.error().ToShortString().c_str());
    std::abort();
  }
  return bucket;
}

std::unique_ptr<S3Store> MotoServer::NewStore(const std::string& bucket,
                                              const std::string& prefix,
                                              S3StoreOptions options) const {
  return std::make_unique<S3Store>(EndpointFor(bucket), credentials_, prefix,
                                   "s3+endpoint://" + bucket + (prefix.empty() ? "" : "/" + prefix),
                                   std::move(options));
}

MotoServer& SharedMotoServer() {
  static std::once_flag once;
  static std::unique_ptr<MotoServer> server;
  std::call_once(once, [] {
    auto started = MotoServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.error().ToShortString().c_str());
      std::abort();
    }
    server = std::move(*started);
  });
  return *server;
}

}  // namespace hx::s3::testing
