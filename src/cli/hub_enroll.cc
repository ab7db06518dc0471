// hx sync init ... --enroll CODE: the device side of enrollment with a hub
// (store/hub/device_credential.h). The key pair is made here, registered
// with the code, and its seed kept in <vault>/.hx/hub-credential.json (0600)
// before the vault is initialized through the hub, so OpenStore finds it.
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "store/hub/device_credential.h"
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

}  // namespace

Result<bool> EnrollVaultWithHub(const fs::path& vault, std::string_view target_uri,
                                std::string_view code, std::string name) {
  HX_ASSIGN_OR_RETURN(const HubAddress address, ParseHubAddress(target_uri));
  const fs::path dir = vault / std::string(kVaultStateDirName);
  const fs::path file = dir / std::string(kHubCredentialFileName);
  Result<DeviceCredential> existing = ReadDeviceCredential(Env::Default(), file);
  if (existing.ok() && existing->vault == address.vault) return false;  // enrolled already
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
  std::shared_ptr<HubAuthTransport> transport = MakeHttpHubAuthTransport(address.base_url);
  HX_ASSIGN_OR_RETURN(
      const DeviceCredential credential,
      EnrollDevice(*transport, {.vault = address.vault,
                                .code = std::string(code),
                                .name = name.empty() ? DefaultDeviceName() : std::move(name),
                                .platform = Platform()}));
  HX_RETURN_IF_ERROR(
      LocalState::WriteFileAtomic(file, EncodeDeviceCredential(credential), 0600));
  return true;
}

}  // namespace hx::cli
