// hx: the command-line interface (see cli/app.h).
#include "cli/app.h"

int main(int argc, char** argv) { return hx::cli::Run(argc, argv); }
