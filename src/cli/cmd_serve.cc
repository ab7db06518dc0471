// hx serve: the hub. Serves the store a target names to devices over
// HTTP(S): the store protocol for many vaults under /v1/<vault>/, the change
// feed, /healthz, /readyz and /metrics (src/hub/). Runs until SIGINT or
// SIGTERM, then stops cleanly (exit 0).
//
// It prints one line on stdout once it listens, which scripts and tests read
// to learn the bound address (port 0 picks a free one):
//   hx serve: listening on https://127.0.0.1:8443
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "hub/activity.h"
#include "hub/admin_routes.h"
#include "hub/auth/auth_routes.h"
#include "hub/auth/hub_auth.h"
#include "hub/envelope_routes.h"
#include "hub/auth/hub_key.h"
#include "hub/health.h"
#include "hub/open_authorizer.h"
#include "hub/server.h"
#include "hub/store_service.h"
#include "os/real_clock.h"
#include "store/store.h"
#include "store/target_uri.h"

namespace hx::cli {
namespace {

struct ServeArgs {
  std::string store;
  std::string endpoint;
  bool path_style = false;
  std::string region;
  std::string listen;
  std::string insecure_listen;
  std::string tls_cert;
  std::string tls_key;
  bool insecure_no_auth = false;
  std::string key_file;
  int io_threads = 2;
  int workers = 8;
};

std::int64_t HubWallMs() { return RealClock::Get().WallMs(); }

// The auth library over the hub's store (s3-auth). HX_TEST_HUB_TOKEN_LIFETIME_MS
// (tests only, not an option) shortens the tokens' lifetime so that a test
// sees a refresh.
// --key-file or HX_HUB_KEY keep the token master key outside the store
// (hub/auth/hub_key.h).
Result<std::shared_ptr<hub::HubAuth>> MakeHubAuth(Store& store, const std::string& key_file) {
  hub::HubAuthOptions options;
  if (const char* lifetime = std::getenv("HX_TEST_HUB_TOKEN_LIFETIME_MS")) {
    const long long ms = std::atoll(lifetime);
    if (ms > 0 && ms <= hub::kMaxTokenLifetimeMs) options.token_lifetime_ms = ms;
  }
  HX_ASSIGN_OR_RETURN(std::shared_ptr<const SecretKey> master,
                      hub::LoadHubMasterKey(key_file, std::getenv(hub::kHubKeyEnv.data())));
  return std::make_shared<hub::HubAuth>(store, options, std::move(master));
}

// The authorizer of a hub over `store`: the loopback-only open mode
// (--insecure-no-auth), else the auth library's signed device tokens.
Result<std::shared_ptr<hub::Authorizer>> OpenAuthorizer(const ServeArgs& args, Store& store) {
  if (args.insecure_no_auth) {
    const std::string& listen = args.listen.empty() ? args.insecure_listen : args.listen;
    const Result<hub::ListenAddress> address = hub::ParseListenAddress(listen);
    if (!address.ok()) return address.error();
    if (!hub::IsLoopbackHost(address->host)) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "--insecure-no-auth serves without tokens and is allowed only on a loopback "
                   "address (127.0.0.1, [::1])");
    }
    return std::shared_ptr<hub::Authorizer>(std::make_shared<hub::OpenAuthorizer>());
  }
  HX_ASSIGN_OR_RETURN(std::shared_ptr<hub::HubAuth> auth, MakeHubAuth(store, args.key_file));
  return std::shared_ptr<hub::Authorizer>(std::move(auth));
}

// Pushes (head.json writes) go to the status page's ring; a device's feed
// poll with after=<head> is its checkpoint, written to its record at most
// when the head changes or every 5 minutes (hub/activity.h, Checkpoints).
void WireHubActivity(hub::StoreServiceOptions& options,
                     const std::shared_ptr<hub::HubActivity>& activity,
                     const std::shared_ptr<hub::HubAuth>& auth) {
  options.on_head_written = [activity](const std::string& vault, const std::string& device,
                                       const std::string& head) {
    activity->RecordPush(vault, {.at_ms = HubWallMs(), .head = head, .device_id = device});
  };
  if (!auth) return;
  auto checkpoints = std::make_shared<hub::Checkpoints>(
      [auth](const std::string& vault, const std::string& device, const std::string& head,
             std::int64_t now_ms) {
        // A failed checkpoint costs only the page's freshness; the feed
        // answers anyway.
        (void)auth->AcknowledgeHead(vault, device, head, now_ms);
      },
      /*refresh_ms=*/5 * 60 * 1000);
  options.on_feed_poll = [checkpoints](const std::string& vault, const std::string& device,
                                       const std::string& head) {
    checkpoints->Observe(vault, device, head, HubWallMs());
  };
}

// A hub holds a socket per device (most of them waiting on the feed): raise
// the soft limit of open files to the hard one.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int RunServe(Context& context, const ServeArgs& args) {
  auto fail = [&context](const Error& error) {
    return Emit(context.output, Result<Report>(error));
  };
  if (args.store.empty()) {
    return fail(Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                      "hx serve needs --store <target>: the folder or S3 store to serve"));
  }
  if (args.listen.empty() == args.insecure_listen.empty()) {
    return fail(Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                      "give exactly one of --listen ADDR (HTTPS, with --tls-cert and --tls-key) "
                      "and --insecure-listen 127.0.0.1:PORT (plain HTTP, loopback only)"));
  }
  if (!args.listen.empty() && (args.tls_cert.empty() || args.tls_key.empty())) {
    return fail(Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                      "--listen serves HTTPS and needs --tls-cert and --tls-key (PEM files)"));
  }
  Result<hx::Target> target = ParseTargetUri(args.store, {args.endpoint, args.path_style, args.region},
                                         CurrentDir());
  if (!target.ok()) return fail(target.error());
  if (target->kind == TargetKind::kHub) {
    return fail(Error(SyncCode::kTargetUnsupported, Category::kUnsupported,
                      "a hub cannot serve another hub; give it a folder or S3 store"));
  }
  Result<std::unique_ptr<Store>> store = OpenStore(*target);
  if (!store.ok()) return fail(store.error());
  Result<std::shared_ptr<hub::Authorizer>> authorizer = OpenAuthorizer(args, **store);
  if (!authorizer.ok()) return fail(authorizer.error());

  auto router = std::make_shared<hub::Router>();
  hub::RegisterHealthRoutes(*router, **store);
  auto vaults = std::make_shared<hub::VaultStores>(hub::VaultStores::ForTarget(*target));
  hub::StoreServiceOptions service_options;
  service_options.clock = &RealClock::Get();
  service_options.feed.clock = &RealClock::Get();
  // Tests only, not options: a short SSE heartbeat and lifetime.
  if (const char* ms = std::getenv("HX_TEST_HUB_SSE_HEARTBEAT_MS"); ms && std::atoll(ms) > 0) {
    service_options.feed.heartbeat_ms = std::atoll(ms);
  }
  if (const char* ms = std::getenv("HX_TEST_HUB_SSE_LIFETIME_MS"); ms && std::atoll(ms) > 0) {
    service_options.feed.stream_lifetime_ms = std::atoll(ms);
  }
  // The status page's rings and the feed's checkpoints (hub/activity.h).
  auto activity = std::make_shared<hub::HubActivity>();
  auto hub_auth = std::dynamic_pointer_cast<hub::HubAuth>(*authorizer);
  WireHubActivity(service_options, activity, hub_auth);
  auto service = std::make_shared<hub::StoreService>(vaults, *authorizer, service_options);
  service->Register(*router);
  // The seed-003 envelope endpoints (hub/envelope_routes.h).
  hub::EnvelopeServiceOptions envelope_options;
  envelope_options.clock = &RealClock::Get();
  auto envelopes = std::make_shared<hub::EnvelopeService>(**store, *authorizer, envelope_options);
  envelopes->Register(*router);
  // Registration, challenges and tokens (hub/auth/auth_routes.h).
  if (hub_auth) {
    hub::RegisterAuthRoutes(*router, hub_auth, HubWallMs);
    hub::RegisterAdminRoutes(*router, hub_auth, activity, HubWallMs);
  }

  RaiseOpenFileLimit();
  hub::ServerOptions options;
  options.clock = &RealClock::Get();
  options.listen = args.listen.empty() ? args.insecure_listen : args.listen;
  if (!args.listen.empty()) {
    options.tls_cert_file = args.tls_cert;
    options.tls_key_file = args.tls_key;
  }
  options.io_threads = args.io_threads;
  options.worker_threads = args.workers;
  options.observe = [activity](std::string_view method, std::string_view path,
                               std::string_view route, const hub::HubResponse& response) {
    // A missing object is the store protocol's answer, not an error.
    if (response.status < 400 || (response.status == 404 && route == "/v1/")) return;
    activity->RecordError({.at_ms = HubWallMs(),
                           .method = std::string(method),
                           .route = std::string(route),
                           .vault = hub::VaultOfPath(path),
                           .status = response.status,
                           .code = hub::ErrorCodeOfBody(response.body)});
  };
  Result<std::unique_ptr<hub::HubServer>> server = hub::HubServer::Start(options, router);
  if (!server.ok()) return fail(server.error());
  std::printf("hx serve: listening on %s\n", (*server)->url().c_str());
  std::fflush(stdout);
  (*server)->WaitForStop();
  // The feed's waiting polls go first: they hold connections of the server.
  service->Stop();
  (*server)->Stop();
  std::fprintf(stderr, "hx serve: stopped\n");
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, Context& context) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run a hub: serve a folder or S3 store to devices over HTTPS (hxs://host:port/<vault> "
      "targets), with a change feed, /healthz, /readyz and /metrics");
  // Not ->required(): `hx serve enroll|devices|revoke` (cmd_serve_admin.cc)
  // take their own --store; RunServe checks it.
  serve->add_option("--store", args->store, "The store to serve (a folder or s3:// target)");
  serve->add_option("--endpoint", args->endpoint, "The S3 endpoint of an s3+endpoint:// store");
  serve->add_flag("--path-style", args->path_style, "Address the S3 bucket in the path");
  serve->add_option("--region", args->region, "The S3 signing region");
  serve->add_option("--listen", args->listen, "Serve HTTPS on HOST:PORT (port 0: a free one)");
  serve->add_option("--tls-cert", args->tls_cert, "The PEM certificate chain for --listen");
  serve->add_option("--tls-key", args->tls_key, "The PEM private key for --listen");
  serve->add_option("--insecure-listen", args->insecure_listen,
                    "Serve plain HTTP on a loopback HOST:PORT (tests)");
  serve->add_flag("--insecure-no-auth", args->insecure_no_auth,
                  "Accept requests without tokens (loopback tests only)");
  serve->add_option("--key-file", args->key_file,
                    "A file with the hub's token master key (64 hex digits, mode 600; else "
                    "HX_HUB_KEY): token keys are derived from it instead of kept in the store");
  serve->add_option("--io-threads", args->io_threads, "Network threads (default 2)")
      ->check(CLI::Range(1, 64));
  serve->add_option("--workers", args->workers, "Threads that call the store (default 8)")
      ->check(CLI::Range(1, 256));
  RegisterServeAdmin(*serve, context);
  serve->callback([&context, args, serve] {
    if (!serve->get_subcommands().empty()) return;  // enroll, devices, revoke or admin-token ran
    context.exit_code = RunServe(context, *args);
  });
}

}  // namespace hx::cli
