// hx rpc: JSON-RPC 2.0 on stdin/stdout, one message per line (the protocol
// and methods live in src/rpc/). Runs until stdin ends; exit code 0.
#include <cstdio>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/sync_args.h"
#include "rpc/dispatcher.h"
#include "rpc/sync_methods.h"

namespace hx::cli {
namespace {

// Reads one line from `in` into `line` (without the newline), keeping at most
// kMaxRpcLineBytes + 1 bytes so that a huge line costs bounded memory (the
// dispatcher then refuses it as too long). False at the end of input.
bool ReadLine(std::FILE* in, std::string& line) {
  line.clear();
  int c = 0;
  bool any = false;
  while ((c = std::fgetc(in)) != EOF) {
    any = true;
    if (c == '\n') return true;
    if (line.size() <= kMaxRpcLineBytes) line.push_back(static_cast<char>(c));
  }
  return any;
}

int RunRpc() {
  RpcDispatcher dispatcher;
  RpcSyncConfig config;
  // stdin carries the requests, so there is no prompt: HX_PASSPHRASE, or the
  // key this device cached at init.
  config.passphrase = MakePassphraseSource(/*file=*/"", Prompt::kNever);
  config.cwd = CurrentDir();
  RegisterSyncMethods(dispatcher, std::move(config));

  std::string line;
  while (ReadLine(stdin, line)) {
    if (std::optional<std::string> response = dispatcher.HandleLine(line)) {
      response->push_back('\n');
      std::fwrite(response->data(), 1, response->size(), stdout);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

void RegisterRpc(CLI::App& app, Context& context) {
  CLI::App* rpc = app.add_subcommand(
      "rpc",
      "Serve JSON-RPC 2.0 on stdin/stdout, one message per line: sync_status, sync_push, "
      "sync_pull, sync_merge_preview (see docs/MERGE.md)");
  rpc->callback([&context] { context.exit_code = RunRpc(); });
}

}  // namespace hx::cli
