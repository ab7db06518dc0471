# Sourced by the S3 bench scripts (s3.sh, s3_distance.sh) after bench/common.sh, with $work and
# $logs made:
#   start_s3 PROXY_ARG...   starts a moto_server on a free loopback port and our proxy in front of it
#                           (src/store/s3/testing/fault_proxy.py with the PROXY_ARGs: counting,
#                           shaping), both stopped at exit (or by stop_s3); makes the buckets hx-bench,
#                           rclone-bench and restic-bench; points the AWS, restic and rclone
#                           environment (remote "moto") at the proxy and $work, so nothing leaks into
#                           ~/.aws, ~/.config/rclone or ~/.cache/restic. Sets moto_port and endpoint
#                           (the proxy's URL, which every measured request goes through).
#   stop_s3                 stops both.
s3_pids=()
stop_s3() {
  local p
  for p in "${s3_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${s3_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  s3_pids=()
}

start_s3() {
  command -v moto_server >/dev/null || die "moto_server is not installed (pip install 'moto[server]')"
  trap stop_s3 EXIT
  # moto without INITIAL_NO_AUTH_ACTION_COUNT accepts any key: the benchmarks measure clients, and
  # the tests (not these scripts) prove the signatures.
  moto_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$moto_port" >"$logs/moto.log" 2>&1 &
  s3_pids+=($!)
  for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $moto_port), 0.2)" 2>/dev/null; then break; fi
    sleep 0.1
  done
  python3 src/store/s3/testing/fault_proxy.py --upstream "http://127.0.0.1:$moto_port" \
    --port-file "$work/proxy.port" "$@" >"$logs/proxy.out" 2>"$logs/proxy.err" &
  s3_pids+=($!)
  for _ in $(seq 100); do [[ -s "$work/proxy.port" ]] && break; sleep 0.1; done
  [[ -s "$work/proxy.port" ]] || die "the proxy did not start (see $logs/proxy.err)"
  endpoint="http://127.0.0.1:$(cat "$work/proxy.port")"
  local b
  for b in hx-bench rclone-bench restic-bench; do  # straight to moto: not shaped, not counted
    curl -fsS -X PUT "http://127.0.0.1:$moto_port/$b" >/dev/null || die "cannot create bucket $b"
  done

  # AWS_CA_BUNDLE (set on some machines) makes rclone's AWS SDK refuse its own HTTP transport.
  unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN
  export AWS_ACCESS_KEY_ID="hxbenchkey" AWS_SECRET_ACCESS_KEY="hxbenchsecret" AWS_REGION="us-east-1"
  export AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_CONFIG_FILE="$work/none"
  export RESTIC_PASSWORD="hx-bench-password" RESTIC_CACHE_DIR="$work/restic-cache"
  export RCLONE_CONFIG="$work/rclone.conf" XDG_CACHE_HOME="$work/xdg-cache" XDG_CONFIG_HOME="$work/xdg-config"
  cat >"$RCLONE_CONFIG" <<CONF
[moto]
type = s3
provider = Other
access_key_id = hxbenchkey
secret_access_key = hxbenchsecret
endpoint = $endpoint
region = us-east-1
force_path_style = true
CONF
}
