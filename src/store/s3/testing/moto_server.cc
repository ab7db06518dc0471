#include "store/s3/testing/moto_server.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
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
from moto.server import main
sys.argv = ['moto_server', '-H', '127.0.0.1', '-p', sys.argv[1]]
main()
)";

Error Fail(std::string message) { return InternalError("moto_server: " + std::move(message)); }

// A port that was free a moment ago (the kernel's pick for port 0).
Result<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return Fail("could not find a free port");
  return static_cast<int>(ntohs(addr.sin_port));
}

bool CanConnect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
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
  HX_ASSIGN_OR_RETURN(server->port_, FreePort());
  server->endpoint_ = "http://127.0.0.1:" + std::to_string(server->port_);

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
  std::string port = std::to_string(server->port_);
  std::vector<char*> argv = {program.data(), dash_c.data(), script.data(), port.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // moto logs every request; the tests do not need it.
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const int spawned = posix_spawnp(&server->pid_, program.c_str(), &actions, nullptr, argv.data(),
                                   envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    server->pid_ = -1;
    return Fail("could not start python3 (is moto installed?): " +
                std::string(std::strerror(spawned)));
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!CanConnect(server->port_)) {
    int status = 0;
    if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      return Fail("moto_server exited before opening its port");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Fail("moto_server did not open port " + port + " within 60 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

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
