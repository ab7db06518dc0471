// hx envelope export|diff|apply: the seed-003 sync envelope
// (envelope/folder.h, docs/ENVELOPE.md). The clock comes from here.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "base/printable.h"
#include "cli/command_spec.h"
#include "cli/commands.h"
#include "cli/sync_args.h"
#include "envelope/envelope.h"
#include "envelope/folder.h"
#include "json/canonical_json.h"
#include "sync/local_state.h"

namespace hx::cli {
namespace {

namespace fs = std::filesystem;

struct EnvelopeArgs {
  std::string vault;
  std::string file;
  std::string out;
  std::optional<std::int64_t> now_ms;
  std::string policy;
  std::string decisions;
};

// Reads an envelope file (at most kMaxEnvelopeBytes) and parses it.
Result<Envelope> ReadEnvelope(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot read the envelope file " + file)
        .With("path", file);
  }
  std::string bytes;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > kMaxEnvelopeBytes) break;
  }
  Result<Envelope> envelope = ParseEnvelope(bytes);
  if (!envelope.ok()) {
    Error e = std::move(envelope).error();
    e.message = file + ": " + e.message;
    return std::move(e).With("path", file);
  }
  return envelope;
}

Result<Report> RunExport(const EnvelopeArgs& args) {
  HX_ASSIGN_OR_RETURN(Envelope envelope,
                      ExportFolder(AbsolutePath(args.vault), {.now_ms = args.now_ms.value_or(WallClockMs()),
                                                          .app_version = HX_VERSION,
                                                          .max_bytes = kMaxEnvelopeBytes}));
  HX_ASSIGN_OR_RETURN(std::string bytes, EncodeEnvelope(envelope));
  if (args.out.empty()) return Report{bytes + "\n", bytes};  // the envelope is the output
  HX_RETURN_IF_ERROR(LocalState::WriteFileAtomic(AbsolutePath(args.out), bytes));
  nlohmann::json j = {
      {"report", "envelope_export"},           {"out", AbsolutePath(args.out).string()},
      {"items", envelope.items.size()},        {"bytes", bytes.size()},
      {"exported_utc", envelope.exported_utc}, {"schema_version", envelope.schema_version}};
  HX_ASSIGN_OR_RETURN(std::string json, WriteCanonicalJson(j));
  return Report{"exported " + std::to_string(envelope.items.size()) + " item(s), " +
                    std::to_string(bytes.size()) + " bytes, to " +
                    Printable(AbsolutePath(args.out).string()) + "\n",
                json};
}

Result<Report> RunDiff(const EnvelopeArgs& args) {
  HX_ASSIGN_OR_RETURN(Envelope envelope, ReadEnvelope(args.file));
  HX_ASSIGN_OR_RETURN(EnvelopeDiffReport report, DiffEnvelope(AbsolutePath(args.vault), envelope));
  HX_ASSIGN_OR_RETURN(std::string json, WriteCanonicalJson(report.ToJson()));
  return Report{report.ToHuman(), json};
}

Result<EnvelopeApplyReport> RunApply(const EnvelopeArgs& args) {
  HX_ASSIGN_OR_RETURN(const MergePolicy policy, ParseMergePolicy(args.policy));
  EnvelopeApplyOptions options;
  options.policy = policy;
  options.now_ms = args.now_ms.value_or(WallClockMs());
  if (!args.decisions.empty()) {
    if (policy != MergePolicy::kManualPerItem) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "--decisions goes with --policy manual_per_item");
    }
    HX_ASSIGN_OR_RETURN(options.decisions, ReadDecisionsFile(AbsolutePath(args.decisions)));
  }
  HX_ASSIGN_OR_RETURN(Envelope envelope, ReadEnvelope(args.file));
  return ApplyEnvelope(AbsolutePath(args.vault), envelope, options);
}

}  // namespace

void RegisterEnvelope(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand(
      "envelope", "Export, compare and apply a folder's items as a JSON sync envelope");
  group->require_subcommand(1);
  auto args = std::make_shared<EnvelopeArgs>();

  CLI::App* exp = group->add_subcommand(
      "export", "Write the folder's items as an envelope (canonical JSON; to stdout by default)");
  exp->add_option("vault_path", args->vault, "The folder")->required();
  exp->add_option("--out", args->out, "Write the envelope to this file instead of stdout");
  AddNowMsOption(exp, args->now_ms, "exported_utc, in ms since the epoch (default: the clock)");
  exp->callback([&context, args] {
    // Without --out the envelope itself is the output, --json or not.
    Result<Report> result = RunExport(*args);
    OutputOptions output = context.output;
    if (result.ok() && args->out.empty()) output.json = true;
    context.exit_code = Emit(output, result);
  });

  CLI::App* diff = group->add_subcommand(
      "diff",
      "Compare an envelope with the folder (new, changed, unchanged, conflicts); "
      "change nothing");
  diff->add_option("vault_path", args->vault, "The folder")->required();
  diff->add_option("envelope", args->file, "The envelope file")->required();
  diff->callback([&context, args] { context.exit_code = Emit(context.output, RunDiff(*args)); });

  CLI::App* apply = group->add_subcommand(
      "apply",
      "Apply an envelope to the folder; the losing version of every differing item "
      "is archived under .hx/archive/");
  apply->add_option("vault_path", args->vault, "The folder")->required();
  apply->add_option("envelope", args->file, "The envelope file")->required();
  apply
      ->add_option("--policy", args->policy,
                   "local_preferred, cloud_preferred (the envelope's version wins) or "
                   "manual_per_item (with --decisions)")
      ->type_name(ChoicesTypeName("POLICY", {"local_preferred", "cloud_preferred", "manual_per_item"}))
      ->required();
  apply->add_option("--decisions", args->decisions,
                    "manual_per_item: a decisions file naming \"local\" or \"remote\" per item");
  AddNowMsOption(apply, args->now_ms,
                 "The time for the archive and report names (default: the clock)");
  apply->callback([&context, args] { context.exit_code = Finish(context, RunApply(*args)); });
}

}  // namespace hx::cli
