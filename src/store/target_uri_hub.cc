// Hub targets: hxs://host[:port]/vault (TLS) and hx://host[:port]/vault
// (plain, loopback tests) for `hx serve` (docs/FORMAT.md, "Targets").
#include <string>

#include "store/target_uri_internal.h"

namespace hx::target_uri_internal {
namespace {

// A vault name is one lowercase DNS label: it becomes a key prefix in the
// hub's backing store and cannot reach the hub's own `_hub/` prefix.
bool IsValidVaultName(std::string_view vault) {
  if (vault.empty() || vault.size() > 63 || vault.front() == '-') return false;
  for (const char c : vault) {
    if (!IsLowerAlpha(c) && !IsDigit(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

Result<Target> ParseHubUri(std::string_view uri, std::string_view rest,
                           const TargetOptions& options, bool tls) {
  const std::string scheme = tls ? "hxs" : "hx";
  const std::string form = "write " + scheme + "://host[:port]/vault, e.g. " + scheme +
                           "://hub.example.com:8443/team-notes";
  if (!options.endpoint.empty() || options.path_style || !options.region.empty()) {
    return TargetInvalid(uri, "--endpoint, --path-style and --region are for S3 targets; a hub "
                              "target needs none of them");
  }
  if (!rest.starts_with("//")) return TargetInvalid(uri, "a hub target starts with " + scheme + "://; " + form);
  rest.remove_prefix(2);
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return TargetInvalid(uri, "a hub target has no user, query or fragment (give a pinned "
                              "certificate with HX_HUB_CA, a token by enrolling); " + form);
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return TargetInvalid(uri, "the hub target names no vault; " + form);
  const std::string_view authority = rest.substr(0, slash);
  std::string_view vault = rest.substr(slash + 1);
  if (!vault.empty() && vault.back() == '/') vault.remove_suffix(1);
  if (!IsValidVaultName(vault)) {
    return TargetInvalid(uri, "the vault name must be 1 to 63 characters of a-z, 0-9 and '-' "
                              "(not first); " + form);
  }
  HostPort host_port;
  if (auto problem = ParseHostPort(authority, host_port)) {
    return TargetInvalid(uri, "the hub's address " + *problem + "; " + form);
  }
  Target target;
  target.kind = TargetKind::kHub;
  target.hub_host =
      host_port.host + ":" + std::to_string(host_port.port != 0 ? host_port.port : tls ? 443 : 80);
  target.vault = std::string(vault);
  target.hub_tls = tls;
  return target;
}

}  // namespace hx::target_uri_internal
