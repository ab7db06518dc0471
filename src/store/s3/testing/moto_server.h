// A real S3 server for tests: moto_server (moto 5.x) on a loopback port it
// picks itself (port 0), with signature checking ON, stopped when the object
// dies.
//
// Start() runs moto with INITIAL_NO_AUTH_ACTION_COUNT=3, so exactly the
// first three requests go unauthenticated: it spends them on IAM
// CreateUser, CreateAccessKey and PutUserPolicy (allow everything), and from
// then on every request must carry a valid SigV4 signature by that key. A
// wrong secret fails with 403 SignatureDoesNotMatch, so a test that passes
// proves the signer against a real verifier. The server says its port on
// stdout once it listens, so no request is spent on waiting for it (each
// one would use up the count), and no port is picked here and bound there
// later (another process could take it in between).
// moto runs with two fixes (moto_server.cc, kMotoLauncher: its verifier
// cannot verify a signed query that holds a '/', and its conditional PUTs
// are not atomic), and with S3_UPLOAD_PART_MIN_SIZE=1024, so that tests can upload
// multipart objects with small parts (real S3 wants 5 MiB but the last).
//
// Usage (one server per test binary is plenty; buckets isolate tests):
//   MotoServer& moto = SharedMotoServer();
//   std::string bucket = moto.NewBucket();           // created, empty
//   std::unique_ptr<S3Store> store = moto.NewStore(bucket, "prefix");
//   // or: moto.endpoint() ("http://127.0.0.1:PORT"), moto.credentials()
//
// Thread-safety: Start and the destructor from one thread; the accessors,
// NewBucket and NewStore from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <sys/types.h>

#include "base/error.h"
#include "store/s3/s3_store.h"

namespace hx::s3::testing {

class MotoServer {
 public:
  // Starts the server and provisions the IAM key. Errors name what failed
  // (moto_server missing from PATH, the port never opening, IAM replies).
  static Result<std::unique_ptr<MotoServer>> Start();
  // Stops the server (SIGTERM, then SIGKILL if it lingers) and reaps it.
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  // "http://127.0.0.1:PORT".
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }
  // The IAM user's key: signs every request after the first three.
  const AwsCredentials& credentials() const { return credentials_; }
  static constexpr const char* kRegion = "us-east-1";

  // Creates a bucket with a fresh name ("hx-test-<pid>-<n>") and returns it.
  // Aborts the test binary if the server refuses (an environment problem).
  std::string NewBucket();
  // Creates `bucket` (signed PUT).
  Status CreateBucket(const std::string& bucket);
  // The path-style endpoint of `bucket` on this server.
  S3Endpoint EndpointFor(const std::string& bucket) const;
  // An S3Store on `bucket` under `prefix`, signed with credentials().
  std::unique_ptr<S3Store> NewStore(const std::string& bucket, const std::string& prefix = "",
                                    S3StoreOptions options = {}) const;

 private:
  struct PassKey {};

 public:
  // Use Start().
  explicit MotoServer(PassKey) {}

 private:

  pid_t pid_ = -1;
  int port_ = 0;
  std::string endpoint_;
  AwsCredentials credentials_;
  std::atomic<int> buckets_{0};
};

// One server for the whole test binary, started on first use and stopped at
// exit. Aborts the binary (with the reason) if it cannot start.
MotoServer& SharedMotoServer();

}  // namespace hx::s3::testing
