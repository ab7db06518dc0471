// Fuzzes ParseTargetUri with arbitrary bytes as the URI, the S3 options and
// the working directory. Contract checked: the parser returns a Target or a
// KC_SYNC_TARGET_* error (never crashes, never another code), an error
// renders as JSON (so its message and details are valid UTF-8), and an
// accepted Target's canonical form parses back to an equal Target.
#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "store/target_uri.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  hx::TargetOptions options;
  options.path_style = provider.ConsumeBool();
  if (provider.ConsumeBool()) options.endpoint = provider.ConsumeRandomLengthString(64);
  if (provider.ConsumeBool()) options.region = provider.ConsumeRandomLengthString(16);
  const std::string cwd =
      provider.ConsumeBool() ? provider.ConsumeRandomLengthString(64) : "/home/me/vault";
  const std::string uri = provider.ConsumeRemainingBytesAsString();

  const hx::Result<hx::Target> got = hx::ParseTargetUri(uri, options, cwd);
  if (!got.ok()) {
    const hx::Error& error = got.error();
    Check(error.code == hx::SyncCode::kTargetInvalid ||
          error.code == hx::SyncCode::kTargetUnsupported);
    Check(!error.message.empty());
    Check(error.details.count("uri") == 1);
    Check(!error.ToJson().empty());
    return 0;
  }
  const hx::Target& target = *got;
  if (target.kind == hx::TargetKind::kHub) {
    Check(!target.hub_host.empty() && !target.vault.empty() && target.vault.size() <= 63);
    Check(target.vault.find_first_of("/.") == std::string::npos);
  } else if (target.kind == hx::TargetKind::kFolder) {
    Check(!target.path.empty() && target.path[0] == '/' && target.path != "/");
    Check(target.path.find("//") == std::string::npos);
    Check(target.path.back() != '/');
  } else {
    Check(!target.bucket.empty() && !target.region.empty());
    Check(target.prefix.empty() ||
          (target.prefix.front() != '/' && target.prefix.back() != '/'));
    Check(target.prefix.size() <= hx::kMaxS3PrefixBytes);
  }
  const std::string canonical = target.ToUri();
  const hx::Result<hx::Target> again = hx::ParseTargetUri(canonical, target.Options(), "/");
  Check(again.ok());
  Check(*again == target);
  Check(again->ToUri() == canonical);
  return 0;
}
