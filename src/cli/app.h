// The hx command line: builds the command tree and runs it. Each group of
// commands lives in its own cmd_*.cc and registers itself on the app; the
// commands only parse arguments, call the engine and render (output.h).
#pragma once

#include <CLI/CLI.hpp>

namespace hx::cli {

struct Context;

// Builds hx's whole command tree on `app` (named "hx"): the global flags
// and every command group. The commands write their exit code into
// `context`, which must outlive `app`. Tests walk the tree built here (every
// command an error's next step names must exist).
void BuildApp(CLI::App& app, Context& context);

// Runs hx with the given arguments and returns the process exit code.
int Run(int argc, char** argv);

}  // namespace hx::cli
