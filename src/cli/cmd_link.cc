// hx sync link: first sync of a folder used on its own (sync/link.h). The
// clock and the passphrase come from here; the engine reads neither.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <termios.h>
#include <unistd.h>

#include "cli/commands.h"
#include "json/canonical_json.h"
#include "sync/link.h"

namespace hx::cli {
namespace {

struct LinkArgs {
  std::string vault;
  std::string target;
  std::string endpoint;
  bool path_style = false;
  std::string region;
  std::optional<std::int64_t> now_ms;
  std::string passphrase_file;
  std::string policy = "local_preferred";
  std::string decisions;
  bool dry_run = false;
};

// HX_PASSPHRASE, then --passphrase-file's first line, then a no-echo prompt
// on a terminal (joining an encrypted vault needs its passphrase).
PassphraseFn LinkPassphrase(const std::string& file) {
  return [file]() -> std::optional<std::string> {
    if (const char* env = std::getenv("HX_PASSPHRASE"); env != nullptr && *env != '\0') {
      return std::string(env);
    }
    if (!file.empty()) {
      std::ifstream in(file);
      std::string line;
      if (in && std::getline(in, line)) return line;
      return std::nullopt;
    }
    if (!::isatty(STDIN_FILENO)) return std::nullopt;
    std::fputs("passphrase: ", stderr);
    std::fflush(stderr);
    termios old_mode{};
    const bool have_mode = ::tcgetattr(STDIN_FILENO, &old_mode) == 0;
    if (have_mode) {
      termios quiet = old_mode;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    if (have_mode) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
    std::fputc('\n', stderr);
    if (!got) return std::nullopt;
    return line;
  };
}

Result<LinkReport> RunLink(const LinkArgs& args) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
  SyncOptions options;
  options.target_uri = args.target;
  options.target_options = {args.endpoint, args.path_style, args.region};
  options.now_ms = args.now_ms.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  std::error_code ec;
  options.cwd = std::filesystem::current_path(ec).string();
  options.passphrase = LinkPassphrase(args.passphrase_file);
  LinkOptions link;
  link.policy = policy;
  link.dry_run = args.dry_run;
  if (!args.decisions.empty()) {
    link.decisions_file = std::filesystem::absolute(args.decisions, ec).lexically_normal().string();
  }
  const std::filesystem::path vault = std::filesystem::absolute(args.vault, ec).lexically_normal();
  return SyncLink(vault, options, link);
}

}  // namespace

void RegisterLink(CLI::App& sync, Context& context) {
  auto args = std::make_shared<LinkArgs>();
  CLI::App* cmd = sync.add_subcommand(
      "link",
      "Join a folder used on its own to an existing vault of a store (first sync): never "
      "deletes local data; differing items follow --policy");
  cmd->add_option("vault_path", args->vault, "The folder")->required();
  cmd->add_option("target_uri", args->target, "The store that holds the vault")->required();
  cmd->add_option("--policy", args->policy,
                  "For items that differ: local_preferred (default; the store's version is "
                  "archived), cloud_preferred (the local version is archived) or "
                  "manual_per_item (with --decisions)");
  cmd->add_option("--decisions", args->decisions,
                  "manual_per_item: a decisions file naming \"local\" or \"remote\" per item");
  cmd->add_flag("--dry-run", args->dry_run, "Show what link would do; change nothing");
  cmd->add_option("--now-ms", args->now_ms,
                  "The time to record, in ms since the epoch (default: the clock)");
  cmd->add_option("--endpoint", args->endpoint, "S3 endpoint URL for s3+endpoint:// targets");
  cmd->add_flag("--path-style", args->path_style, "S3 path-style addressing");
  cmd->add_option("--region", args->region, "S3 region (default us-east-1)");
  cmd->add_option("--passphrase-file", args->passphrase_file,
                  "Read the passphrase from this file's first line (else HX_PASSPHRASE, else "
                  "a prompt on a terminal)");
  cmd->callback([&context, args] {
    Result<LinkReport> result = RunLink(*args);
    if (!result.ok()) {
      context.exit_code = Emit(context.output, Result<Report>(result.error()));
      return;
    }
    Result<std::string> json = WriteCanonicalJson(result->ToJson());
    if (!json.ok()) {
      context.exit_code = Emit(context.output, Result<Report>(json.error()));
      return;
    }
    context.exit_code = Emit(context.output, Report{result->ToHuman(), *json});
    // A link awaiting decisions or with failed items printed its items; its
    // exit code is the error's.
    if (result->error) {
      if (!context.output.json) std::fputs(result->error->ToHuman().c_str(), stderr);
      context.exit_code = ExitCodeFor(result->error->code);
    }
  });
}

}  // namespace hx::cli
