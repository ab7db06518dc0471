// Small tools over the engine's primitives:
//   hx target check <uri>   how hx reads a target URI (canonical form, fields)
//   hx hash FILE...         BLAKE3 of files, in b3sum's output format
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/printable.h"
#include "cli/commands.h"
#include "hash/blake3.h"
#include "json/canonical_json.h"
#include "store/target_uri.h"

namespace hx::cli {
namespace {

struct TargetArgs {
  std::string uri;
  std::string endpoint;
  bool path_style = false;
  std::string region;
};

Result<Report> CheckTarget(const TargetArgs& args) {
  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  HX_ASSIGN_OR_RETURN(Target t,
                      ParseTargetUri(args.uri, {args.endpoint, args.path_style, args.region}, cwd));
  nlohmann::json j = {{"kind", t.kind == TargetKind::kFolder ? "folder" : "s3"},
                      {"uri", t.ToUri()}};
  std::string human = "uri:    " + Printable(t.ToUri()) + "\n";
  if (t.kind == TargetKind::kFolder) {
    j["path"] = t.path;
    human += "kind:   folder\npath:   " + Printable(t.path) + "\n";
  } else {
    j["bucket"] = t.bucket;
    j["prefix"] = t.prefix;
    j["endpoint"] = t.endpoint;
    j["path_style"] = t.path_style;
    j["region"] = t.region;
    human += "kind:   s3\nbucket: " + Printable(t.bucket) + "\nprefix: " + Printable(t.prefix) +
             "\nendpoint: " + (t.endpoint.empty() ? "(AWS)" : Printable(t.endpoint)) +
             "\nregion: " + Printable(t.region) +
             (t.path_style ? "\npath-style addressing\n" : "\n");
  }
  HX_ASSIGN_OR_RETURN(std::string json, WriteCanonicalJson(j));
  return Report{human, json};
}

Result<std::string> HashFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error(SyncCode::kInputInvalid, Category::kIo,
                 "cannot open " + path + ": " + std::strerror(errno))
        .With("path", path);
  }
  Blake3Hasher hasher;
  // Large reads let the SIMD backends hash many chunks at once.
  auto buffer = std::make_unique<std::array<std::uint8_t, 1 << 20>>();
  for (;;) {
    const ssize_t n = ::read(fd, buffer->data(), buffer->size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Error(SyncCode::kInputInvalid, Category::kIo,
                   "cannot read " + path + ": " + std::strerror(err))
          .With("path", path);
    }
    if (n == 0) break;
    hasher.Update(std::span<const std::uint8_t>(buffer->data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  return ToHex(hasher.Finalize());
}

Result<Report> HashFiles(const std::vector<std::string>& files) {
  Report report;
  nlohmann::json j = nlohmann::json::object();
  for (const std::string& file : files) {
    HX_ASSIGN_OR_RETURN(std::string digest, HashFile(file));
    report.human += digest + "  " + Printable(file) + "\n";
    j[file] = digest;
  }
  HX_ASSIGN_OR_RETURN(report.json, WriteCanonicalJson(j));
  return report;
}

}  // namespace

void RegisterTools(CLI::App& app, Context& context) {
  CLI::App* target = app.add_subcommand("target", "Work with target URIs");
  target->require_subcommand(1);
  auto targs = std::make_shared<TargetArgs>();
  CLI::App* check = target->add_subcommand("check", "Show how hx reads a target URI");
  check->add_option("target_uri", targs->uri, "The target URI")->required();
  check->add_option("--endpoint", targs->endpoint, "S3 endpoint URL for s3+endpoint://");
  check->add_flag("--path-style", targs->path_style, "S3 path-style addressing");
  check->add_option("--region", targs->region, "S3 region");
  check->callback(
      [&context, targs] { context.exit_code = Emit(context.output, CheckTarget(*targs)); });

  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* hash = app.add_subcommand("hash", "BLAKE3 of files (the same output as b3sum)");
  hash->add_option("files", *files, "Files to hash")->required();
  hash->callback([&context, files] { context.exit_code = Emit(context.output, HashFiles(*files)); });
}

}  // namespace hx::cli
