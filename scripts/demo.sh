#!/usr/bin/env bash
# The main job, end to end: two devices ("laptop" and "desktop") keep one
# folder in sync through a folder store, with changes on both sides.
#   scripts/demo.sh [path/to/hx]      (scripts/run.sh builds hx and calls this)
set -euo pipefail
hx="$(realpath "${1:-build/release/src/cli/hx}")"
work=$(mktemp -d "${TMPDIR:-/tmp}/hx-demo-XXXXXX")
trap 'rm -rf "$work"' EXIT
export HX_PASSPHRASE="demo passphrase (use your own)"
store="$work/store" laptop="$work/laptop" desktop="$work/desktop"
mkdir -p "$laptop" "$desktop"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s#$work#\$DEMO#g; s#$hx#hx#g"; "$@" 2>&1 | sed "s#$work#\$DEMO#g"; }

step "Two devices join one encrypted vault in a folder store"
run "$hx" sync init "$laptop" "$store"
run "$hx" sync init "$desktop" "$store"

step "The laptop writes some files and pushes"
mkdir -p "$laptop/notes" "$laptop/photos"
echo "groceries: milk, eggs" >"$laptop/notes/todo.txt"
echo "# hx demo" >"$laptop/README.md"
head -c 3000000 /dev/urandom >"$laptop/photos/cat.raw"
run "$hx" sync push "$laptop"

step "The desktop pulls them"
run "$hx" sync pull "$desktop"

step "Both change different files; the desktop also deletes one"
echo "groceries: milk, eggs, bread" >"$laptop/notes/todo.txt"
echo "meeting at 10" >"$desktop/notes/calendar.txt"
rm "$desktop/README.md"
run "$hx" sync push "$laptop"
echo "(the desktop must pull before it pushes: the store moved on)"
run "$hx" sync pull "$desktop"
run "$hx" sync push "$desktop"
run "$hx" sync pull "$laptop"

step "Both folders are identical"
if diff -r --exclude=.hx "$laptop" "$desktop"; then echo "identical: $(cd "$laptop" && find . -path ./.hx -prune -o -type f -print | wc -l) files"; fi

step "A concurrent edit of the same file is a conflict, never an overwrite"
echo "laptop's version" >"$laptop/notes/todo.txt"
echo "desktop's version" >"$desktop/notes/todo.txt"
run "$hx" sync push "$laptop"
run "$hx" sync pull "$desktop" || true
echo "desktop still has: $(cat "$desktop/notes/todo.txt")"

step "Status of the desktop"
run "$hx" sync status "$desktop"

step "The desktop resolves it by keeping both versions (same names on every device)"
run "$hx" sync pull "$desktop" --auto-merge keep_both
run "$hx" sync push "$desktop"
run "$hx" sync pull "$laptop"
(cd "$laptop/notes" && for f in todo*; do echo "laptop notes/$f: $(cat "$f")"; done)
if diff -r --exclude=.hx "$laptop" "$desktop" >/dev/null; then
  echo "identical: $(cd "$laptop" && find . -path ./.hx -prune -o -type f -print | wc -l) files"
else
  echo "the folders differ" >&2
  exit 1
fi
step "What the store holds (names and contents are encrypted)"
(cd "$store" && find . -type f | sort | sed 's#^\./#  #' | head -20)
