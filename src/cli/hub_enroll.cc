// hx sync init ... --enroll CODE: the device side of enrollment with a hub
// (store/hub/device_credential.h). The key pair is made here, registered
// with the code, and its seed kept in <vault>/.hx/hub-credential.json (0600)
// before the vault is initialized through the hub, so OpenStore finds it.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "cli/commands.h"
#include "store/hub/device_credential.h"
#include "store/hub/hub_store.h"
#include "sync/local_state.h"

namespace hx::cli {
namespace {

namespace fs = std::filesystem;

std::string DefaultDeviceName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "device";
  std::string name(host);
  if (name.size() > 64) name.resize(64);
  return name;
}

std::string Platform() {
  struct utsname u {};
  if (::uname(&u) != 0) return "unknown";
  std::string name = std::string(u.sysname) + "-" + u.machine;
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (name.size() > 32) name.resize(32);
  return name;
}

std::string HubBaseUrl(const hx::Target& target) {
  return (target.hub_tls ? "https://" : "http://") + target.hub_host;
}

std::string HubCaFile() {
  const char* ca = std::getenv("HX_HUB_CA");
  return ca != nullptr ? ca : "";
}

fs::path CredentialPath(const fs::path& vault) {
  return vault / std::string(kVaultStateDirName) / std::string(kHubCredentialFileName);
}

// A source that can only say why there is no token (a credential file that
// others may read, a damaged one).
class FailingTokenSource final : public TokenSource {
 public:
  explicit FailingTokenSource(Error error) : error_(std::move(error)) {}
  Result<std::string> Token(std::int64_t, bool) override { return error_; }

 private:
  const Error error_;
};

}  // namespace

Result<bool> EnrollVaultWithHub(const fs::path& vault, const hx::Target& target,
                                std::string_view code, std::string name) {
  if (target.kind != TargetKind::kHub) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "--enroll is for hub targets (hxs://host[:port]/<vault>); this target is " +
                            target.ToUri());
  }
  const fs::path file = CredentialPath(vault);
  const fs::path dir = file.parent_path();
  Result<DeviceCredential> existing = ReadDeviceCredential(Env::Default(), file);
  if (existing.ok() && existing->vault == target.vault) return false;  // enrolled already
  if (!existing.ok() && existing.error().category != Category::kNotFound) {
    return existing.error();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error(SyncCode::kStateFailed, Category::kIo,
                 "cannot create " + dir.string() + ": " + ec.message())
        .With("path", dir.string());
  }
  std::shared_ptr<HubAuthTransport> transport =
      MakeHttpHubAuthTransport(HubBaseUrl(target), HubCaFile());
  HX_ASSIGN_OR_RETURN(
      const DeviceCredential credential,
      EnrollDevice(*transport, {.vault = target.vault,
                                .code = std::string(code),
                                .name = name.empty() ? DefaultDeviceName() : std::move(name),
                                .platform = Platform()}));
  HX_RETURN_IF_ERROR(
      LocalState::WriteFileAtomic(file, EncodeDeviceCredential(credential), 0600));
  return true;
}

void InstallHubTokenProvider(const fs::path& vault) {
  struct Cache {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<TokenSource>> sources;
  };
  auto cache = std::make_shared<Cache>();
  SetHubTokenProvider([vault, cache](const hx::Target& target) -> std::shared_ptr<TokenSource> {
    std::lock_guard lock(cache->mu);
    const std::string uri = target.ToUri();
    if (auto it = cache->sources.find(uri); it != cache->sources.end()) return it->second;
    Result<DeviceCredential> credential = ReadDeviceCredential(Env::Default(),
                                                               CredentialPath(vault));
    std::shared_ptr<TokenSource> source;
    if (!credential.ok() && credential.error().category == Category::kNotFound) return nullptr;
    if (!credential.ok()) {
      source = std::make_shared<FailingTokenSource>(credential.error());
    } else if (credential->vault != target.vault) {
      return nullptr;
    } else {
      source = std::make_shared<DeviceTokenSource>(
          std::move(credential).value(), MakeHttpHubAuthTransport(HubBaseUrl(target), HubCaFile()));
    }
    cache->sources.emplace(uri, source);
    return source;
  });
}

}  // namespace hx::cli
