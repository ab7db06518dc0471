# Sourced by the bench scripts (push_first.sh, pull.sh, s3_distance.sh): one timed command.
#   run_timed PREFIX CMD...
# runs `sync` (so that no earlier command's writeback is charged to CMD), then CMD under
# /usr/bin/time with its stdout in PREFIX.out, its stderr in PREFIX.err and time's record in
# PREFIX.time, and sets timed_wall (seconds, 3 decimals, from the wall clock around the command),
# timed_user and timed_sys (CPU seconds) and timed_rss (peak RSS, KiB). Returns CMD's exit status.
# (To run CMD elsewhere: run_timed PREFIX env -C DIR CMD...; env execs CMD, so time measures it.)
# CMD runs without HX_PASSPHRASE: set-up (hx sync init) caches the key in .hx/key, and a device
# that has its key is run without the passphrase (README); with it, each command would first check
# it against the store's vault.json, one Argon2id (64 MiB mapped at once, ~0.2 s) that is not the
# command's work and would set every peak RSS at >= 80 MB.
run_timed() {
  local prefix=$1 t0 t1 rc=0 elapsed
  shift
  sync
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %U %S %M' -o "$prefix.time" env -u HX_PASSPHRASE "$@" >"$prefix.out" \
    2>"$prefix.err" || rc=$?
  t1=$(date +%s%N)
  # (A failed command's record starts with a line of its own: the figures are the last line.)
  read -r elapsed timed_user timed_sys timed_rss < <(tail -n 1 "$prefix.time")
  timed_wall=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')")
  return $rc
}

# timed_row RAW LABEL N COLUMN... CMD...: run_timed "$work/cmd" CMD (failed: the tail of its output,
# and exit 1); appends the N COLUMNs and the figures (wall, user, sys, peak RSS) to RAW as one
# tab-separated row and logs LABEL with them (log: bench/common.sh).
timed_row() {
  local raw=$1 label=$2 n=$3
  shift 3
  local columns=("${@:1:n}")
  shift "$n"
  run_timed "$work/cmd" "$@" || {
    tail -n 20 "$work/cmd.out" "$work/cmd.err" >&2; log "FAILED: $*"; exit 1; }
  printf '%s\t' "${columns[@]}" >>"$raw"
  printf '%s\t%s\t%s\t%s\n' "$timed_wall" "$timed_user" "$timed_sys" "$timed_rss" >>"$raw"
  log "  $label: $timed_wall s wall, $timed_user user, $timed_sys sys, $((timed_rss / 1024)) MiB"
}
