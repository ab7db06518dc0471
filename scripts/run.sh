#!/usr/bin/env bash
# The run command: installs what is missing, builds hx (Release) and runs
# the main job: two devices syncing one folder through a folder store
# (scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release hx >/dev/null
scripts/demo.sh build/release/src/cli/hx
