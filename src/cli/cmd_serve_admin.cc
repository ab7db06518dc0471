// hx serve enroll|devices|revoke|admin-token: the hub's administration, done directly on
// the store the hub uses (hub/auth/hub_auth.h), so it works whether or not a
// hub is running, and a running hub sees the result (a revocation within one
// token lifetime; a code at once).
//
// The `hx serve` group itself (the server: --store, --listen) is
// cmd_serve.cc's; it calls RegisterServeAdmin with its group.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/printable.h"
#include "cli/commands.h"
#include "cli/sync_args.h"
#include "envelope/envelope.h"
#include "hub/admin_routes.h"
#include "hub/auth/hub_auth.h"
#include "hub/auth/hub_key.h"
#include "json/canonical_json.h"
#include "store/store.h"

namespace hx::cli {
namespace {

struct ServeAdminArgs {
  std::string store;
  std::string endpoint;
  bool path_style = false;
  std::string region;
  std::string vault;
  std::string role = "writer";
  std::string expires = "24h";
  std::string admin_expires = "8h";
  std::string device;
  std::string key_file;
  std::optional<std::int64_t> now_ms;
};

// The backing store's options (and --now-ms); with `vault`, --vault too.
// Each command also takes the global flags itself (it does not fall through).
void AddStoreArgs(CLI::App* cmd, ServeAdminArgs& args, Context& context, bool vault = true) {
  cmd->fallthrough(false);
  AddGlobalOptions(*cmd, context);
  cmd->add_option("--store", args.store,
                  "The hub's backing store (as given to hx serve --store): a path, file:///abs, "
                  "s3://bucket/prefix or s3+endpoint://bucket/prefix")
      ->required();
  cmd->add_option("--endpoint", args.endpoint, "S3 endpoint URL for s3+endpoint:// stores");
  cmd->add_flag("--path-style", args.path_style, "S3 path-style addressing");
  cmd->add_option("--region", args.region, "S3 region (default us-east-1)");
  if (vault) cmd->add_option("--vault", args.vault, "The vault's name on the hub")->required();
  cmd->add_option("--key-file", args.key_file,
                  "The hubs' token master key file (as given to hx serve --key-file; else "
                  "HX_HUB_KEY)");
  AddNowMsOption(cmd, args.now_ms,
                 "The time of the command, in ms since the epoch (default: the "
                 "clock)");
}

// Opens the hub's backing store and runs `op` with a HubAuth over it.
template <typename Op>
Result<Report> WithHub(const ServeAdminArgs& args, Op op) {
  HX_ASSIGN_OR_RETURN(
      const hx::Target target,
      ParseTargetUri(args.store, {args.endpoint, args.path_style, args.region}, CurrentDir()));
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(target));
  HX_ASSIGN_OR_RETURN(std::shared_ptr<const SecretKey> master,
                      hub::LoadHubMasterKey(args.key_file, std::getenv(hub::kHubKeyEnv.data())));
  hub::HubAuth auth(*store, {}, std::move(master));
  return op(auth, args.now_ms.value_or(WallClockMs()));
}

// Makes `cmd` run `op` (a HubAuth over the store, the command's time) and
// report what it returns.
template <typename Op>
void RunOnHub(CLI::App* cmd, Context& context, std::shared_ptr<const ServeAdminArgs> args, Op op) {
  cmd->callback(
      [&context, args, op] { context.exit_code = Emit(context.output, WithHub(*args, op)); });
}

// "24h", "30m", "7d", "90s", "500ms" in milliseconds.
Result<std::int64_t> ParseDuration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string_view unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s") scale = 1000;
  if (unit == "m") scale = 60'000;
  if (unit == "h") scale = 3'600'000;
  if (unit == "d") scale = 86'400'000;
  if (digits == 0 || digits > 9 || scale == 0) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "--expires takes a number and a unit (ms, s, m, h or d), e.g. 24h; got \"" +
                            Printable(text) + "\"");
  }
  return std::stoll(std::string(text.substr(0, digits))) * scale;
}

std::string Utc(std::int64_t ms) { return ms > 0 ? FormatUtc(ms * 1'000'000) : "never"; }

Result<Report> MakeReport(std::string human, const nlohmann::json& json) {
  HX_ASSIGN_OR_RETURN(std::string text, WriteCanonicalJson(json));
  return Report{std::move(human), std::move(text)};
}

std::string Pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string DevicesTable(const std::vector<hub::DeviceRecord>& devices) {
  if (devices.empty()) return "No devices are enrolled with this vault (hx serve enroll).\n";
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "PLATFORM", "ROLE", "LAST SEEN", "LAST HEAD ACKED", "REVOKED", "DEVICE ID"}};
  for (const hub::DeviceRecord& d : devices) {
    rows.push_back({Printable(d.name), Printable(d.platform), std::string(hub::RoleName(d.role)),
                    Utc(d.last_seen_ms), d.acked_head.empty() ? "-" : Printable(d.acked_head),
                    d.revoked ? Utc(d.revoked_ms) : "no", d.device_id});
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += i + 1 < row.size() ? Pad(row[i], widths[i] + 2) : row[i];
    }
    out += '\n';
  }
  return out;
}

}  // namespace

void RegisterServeAdmin(CLI::App& serve, Context& context) {
  auto args = std::make_shared<ServeAdminArgs>();
  // Each command below is made with fallthrough(false): `hx serve`'s own
  // options (--listen, --tls-cert, ...) do not apply to it, and CLI11 would
  // otherwise hand them to the server. So each takes the global flags itself
  // (hx serve devices ... --json as well as hx --json serve devices ...).

  CLI::App* enroll = serve.add_subcommand(
      "enroll",
      "Make a one-time enrollment code for a new device of a vault (printed on the "
      "last line; give it to 'hx sync init ... --enroll CODE')");
  AddStoreArgs(enroll, *args, context);
  enroll->add_option("--role", args->role, "What the device may do: writer or reader")
      ->type_name("writer|reader")
      ->check(CLI::IsMember({"writer", "reader"}));
  enroll
      ->add_option("--expires", args->expires,
                   "How long the code stays valid, e.g. 30m, 24h, 7d (at most 30d)")
      ->type_name("DURATION");
  RunOnHub(
      enroll, context, args, [args](hub::HubAuth& auth, std::int64_t now_ms) -> Result<Report> {
        HX_ASSIGN_OR_RETURN(const std::int64_t lifetime, ParseDuration(args->expires));
        const std::optional<hub::Role> role = hub::ParseRole(args->role);
        HX_ASSIGN_OR_RETURN(const hub::Enrollment code,
                            auth.CreateEnrollment(args->vault, role.value_or(hub::Role::kReader),
                                                  lifetime, now_ms));
        std::string human = "Enrollment code for vault " + args->vault + " (role " +
                            std::string(hub::RoleName(code.role)) + ", valid until " +
                            Utc(code.expires_ms) + ", one device only):\n" + code.code + "\n";
        return MakeReport(std::move(human), {{"vault", args->vault},
                                             {"role", std::string(hub::RoleName(code.role))},
                                             {"expires_ms", code.expires_ms},
                                             {"code", code.code}});
      });

  CLI::App* devices =
      serve.add_subcommand("devices",
                           "List a vault's devices: name, platform, role, last seen, "
                           "last head acknowledged, revoked");
  AddStoreArgs(devices, *args, context);
  RunOnHub(devices, context, args, [args](hub::HubAuth& auth, std::int64_t) -> Result<Report> {
    HX_ASSIGN_OR_RETURN(const std::vector<hub::DeviceRecord> list, auth.ListDevices(args->vault));
    nlohmann::json rows = nlohmann::json::array();
    for (const hub::DeviceRecord& device : list) rows.push_back(hub::DeviceJson(device));
    return MakeReport(DevicesTable(list), {{"vault", args->vault}, {"devices", rows}});
  });

  CLI::App* revoke = serve.add_subcommand(
      "revoke",
      "Revoke a device: its tokens stop working at once on a hub that revoked it and "
      "within 15 minutes on the others; it cannot get new ones");
  AddStoreArgs(revoke, *args, context);
  revoke->add_option("device", args->device, "The device's id or name (see hx serve devices)")
      ->required();
  RunOnHub(revoke, context, args,
           [args](hub::HubAuth& auth, std::int64_t now_ms) -> Result<Report> {
             HX_ASSIGN_OR_RETURN(const hub::DeviceRecord device,
                                 auth.Revoke(args->vault, args->device, now_ms));
             return MakeReport("Revoked device " + Printable(device.name) + " (" +
                                   device.device_id + ") of vault " + args->vault + ".\n",
                               {{"vault", args->vault}, {"device", hub::DeviceJson(device)}});
           });

  CLI::App* admin_token = serve.add_subcommand(
      "admin-token",
      "Make an admin token for the hub's status page (https://HOST:PORT/): the "
      "whole hub, every vault's devices and recent activity, read only; it opens "
      "no vault's data. Printed on the last line");
  AddStoreArgs(admin_token, *args, context, /*vault=*/false);
  admin_token
      ->add_option("--expires", args->admin_expires,
                   "How long the token stays valid, e.g. 30m, 8h (default), 7d (at most)")
      ->type_name("DURATION");
  RunOnHub(
      admin_token, context, args,
      [args](hub::HubAuth& auth, std::int64_t now_ms) -> Result<Report> {
        HX_ASSIGN_OR_RETURN(const std::int64_t lifetime, ParseDuration(args->admin_expires));
        HX_ASSIGN_OR_RETURN(const hub::IssuedToken token, auth.IssueAdminToken(lifetime, now_ms));
        std::string human =
            "Admin token for the whole hub (read only, valid until " + Utc(token.expires_ms) +
            "; keep it secret, paste it into the status page's sign-in):\n" + token.token + "\n";
        return MakeReport(
            std::move(human),
            {{"role", "admin"}, {"expires_ms", token.expires_ms}, {"token", token.token}});
      });
}

}  // namespace hx::cli
