// The hx command line: builds the command tree and runs it. Each group of
// commands lives in its own cmd_*.cc and registers itself on the app; the
// commands only parse arguments, call the engine and render (output.h).
#pragma once

namespace hx::cli {

// Runs hx with the given arguments and returns the process exit code.
int Run(int argc, char** argv);

}  // namespace hx::cli
