#!/usr/bin/env bash
# The run command: installs what is missing, builds hx (Release) and runs
# the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release hx >/dev/null
hx=build/release/src/cli/hx
"$hx" --help
