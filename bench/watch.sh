#!/usr/bin/env bash
# Watch latency benchmark (issue 12): two `hx sync watch` agents (devices A and
# B) on one machine, through a folder store and through S3 (moto_server on
# loopback). Not part of the tests.
#
#   ./bench/watch.sh                      # 100 changes, one every 2 s; a burst of 10,000 files; both stores
#   ./bench/watch.sh --changes 20 --burst 2000 --stores folder   # a shorter run
#   ./bench/watch.sh --stores hub         # through `hx serve` (over a folder, loopback): hx:// targets,
#                                         # B's agent woken by the hub's change feed
#
# Measured, per store:
#   propagation  write of a small file on A -> B holds the same bytes (B's file polled every 5 ms):
#                p50 / p95 / max over the changes
#   detection    write on A -> A's agent queues the event (its log line "queued <path> ... at <ms>")
#   burst        10,000 new files written at once on A -> all on B; and how many push cycles A needed
#   idle CPU     both agents' user+sys CPU over 30 s with nothing to do (/proc/<pid>/stat)
# Results go to stdout and bench/results/watch-<date>.txt. The hx binary: $HX_BIN, else
# build/release/src/cli/hx, else build/gcc/src/cli/hx (RelWithDebInfo; say which in the results).
set -euo pipefail
cd "$(dirname "$0")/.."
changes=100 interval_ms=2000 burst=10000 stores="folder s3" idle_s=30
while [ $# -gt 0 ]; do
  case "$1" in
    --changes) changes=$2; shift 2 ;;
    --interval-ms) interval_ms=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --stores) stores=$2; shift 2 ;;
    --idle-s) idle_s=$2; shift 2 ;;
    *) echo "usage: $0 [--changes N] [--interval-ms MS] [--burst N] [--stores 'folder s3 hub'] [--idle-s S]" >&2; exit 2 ;;
  esac
done
. bench/hx_bin.sh
mkdir -p bench/results
out="bench/results/watch-$(date -u +%Y%m%dT%H%M%SZ).txt"
HX="$hx" CHANGES=$changes INTERVAL_MS=$interval_ms BURST=$burst STORES="$stores" IDLE_S=$idle_s \
  python3 - <<'PY' | tee "$out"
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time

HX = os.environ["HX"]
CHANGES = int(os.environ["CHANGES"]); INTERVAL = int(os.environ["INTERVAL_MS"]) / 1000
BURST = int(os.environ["BURST"]); STORES = os.environ["STORES"].split(); IDLE_S = int(os.environ["IDLE_S"])
TICK = os.sysconf("SC_CLK_TCK")

def now_ms(): return time.time() * 1000

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")

def agent_json(vault):
    try:
        with open(os.path.join(vault, ".hx", "agent.json")) as f: return json.load(f)
    except Exception: return {}

def wait(cond, timeout=600, step=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond(): return True
        time.sleep(step)
    return False

def idle(vault):
    j = agent_json(vault)
    return j.get("state") == "watching" and j.get("queue_depth", 1) == 0

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f: fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def run(store):
    tmp = tempfile.mkdtemp(prefix="hx-watch-bench-")
    env = dict(os.environ, HX_PASSPHRASE="bench passphrase", HOME=tmp)
    moto = hub = None
    if store in ("folder", "hub"):
        target = [os.path.join(tmp, "store")]
        extra = []
    else:
        port = free_port()
        moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 30, 0.1)
        subprocess.run(["curl", "-fsS", "-X", "PUT", f"http://127.0.0.1:{port}/hx-watch"], check=True)
        env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        target = ["s3+endpoint://hx-watch/v", "--endpoint", f"http://127.0.0.1:{port}", "--path-style"]
        extra = []
    if store == "hub":
        # A hub over a folder on loopback, without tokens (the agents' latency
        # through the hub's store protocol and change feed, not enrollment).
        os.makedirs(os.path.join(tmp, "hub-store"))
        hub_out = open(os.path.join(tmp, "hub.out"), "w+")
        hub = subprocess.Popen([HX, "serve", "--store", os.path.join(tmp, "hub-store"),
                                "--insecure-listen", "127.0.0.1:0", "--insecure-no-auth"],
                               stdout=hub_out, stderr=subprocess.DEVNULL)
        def listening():
            hub_out.seek(0)
            return "listening on " in hub_out.read()
        assert wait(listening, 60, 0.05), "hx serve did not start"
        hub_out.seek(0)
        address = hub_out.read().split("listening on ", 1)[1].split()[0].split("://", 1)[1]
        target, extra = [f"hx://{address}/v"], []
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    for v in (a, b):
        os.makedirs(v)
        subprocess.run([HX, "sync", "init", v] + target, env=env, check=True, stdout=subprocess.DEVNULL)
    logs = {v: open(os.path.join(tmp, os.path.basename(v) + ".log"), "w") for v in (a, b)}
    agents = {v: subprocess.Popen([HX, "sync", "watch", v] + extra, env=env, stdout=logs[v], stderr=logs[v])
              for v in (a, b)}
    assert wait(lambda: idle(a) and idle(b), 120), "agents did not start"
    time.sleep(1)
    lat, written = [], {}
    for i in range(CHANGES):
        rel = f"bench/c{i:04d}.txt"
        data = f"change {i} at {time.time()}\n".encode() * 4
        os.makedirs(os.path.join(a, "bench"), exist_ok=True)
        t0 = now_ms()
        with open(os.path.join(a, rel), "wb") as f: f.write(data)
        written[rel] = t0
        dst = os.path.join(b, rel)
        def same():
            try:
                with open(dst, "rb") as f: return f.read() == data
            except OSError: return False
        ok = wait(same, 120)
        lat.append(now_ms() - t0 if ok else float("inf"))
        rest = INTERVAL - (now_ms() - t0) / 1000
        if rest > 0: time.sleep(rest)
    # Detection: A's log lines "queued <path> <kind> at <ms>".
    detect = []
    logs[a].flush()
    with open(os.path.join(tmp, "a.log")) as f:
        seen = {}
        for line in f:
            if ": queued " in line:
                parts = line.split(": queued ", 1)[1].split()
                path, at = parts[0], float(parts[-1])
                if path in written and path not in seen: seen[path] = at
        detect = [seen[p] - written[p] for p in seen]
    # Burst.
    pushes_before = agent_json(a).get("counters", {}).get("pushes_published", 0)
    t0 = now_ms()
    os.makedirs(os.path.join(a, "burst"))
    for i in range(BURST):
        with open(os.path.join(a, "burst", f"b{i:05d}"), "wb") as f: f.write(b"burst file %d\n" % i)
    def all_there():
        try: return len(os.listdir(os.path.join(b, "burst"))) == BURST
        except OSError: return False
    burst_ok = wait(all_there, 1800, 0.05)
    burst_ms = now_ms() - t0
    wait(lambda: idle(a), 600)
    burst_pushes = agent_json(a).get("counters", {}).get("pushes_published", 0) - pushes_before
    # Idle CPU.
    wait(lambda: idle(a) and idle(b), 600)
    time.sleep(2)
    t_before = {v: cpu_ticks(p.pid) for v, p in agents.items()}
    time.sleep(IDLE_S)
    idle_cpu = {os.path.basename(v): (cpu_ticks(p.pid) - t_before[v]) / TICK / IDLE_S * 100 for v, p in agents.items()}
    reqs = agent_json(b).get("remote_requests_last_hour")
    for p in agents.values():
        p.send_signal(signal.SIGTERM)
        p.wait(120)
    if moto: moto.terminate(); moto.wait()
    if hub: hub.terminate(); hub.wait()
    how = {"folder": "inotify on head.json", "s3": "moto_server on loopback, If-None-Match polling",
           "hub": "hx serve over a folder on loopback, the hub's change feed"}[store]
    print(f"== store: {store} ({how})")
    fin = [x for x in lat if x != float('inf')]
    print(f"propagation write on A -> same bytes on B, {len(lat)} changes every {INTERVAL:.1f} s: "
          f"p50 {pct(fin,50):.0f} ms, p95 {pct(fin,95):.0f} ms, max {max(fin) if fin else float('nan'):.0f} ms"
          + (f", {len(lat)-len(fin)} timed out" if len(fin) < len(lat) else ""))
    if detect:
        print(f"detection write -> event queued, {len(detect)} changes: p50 {pct(detect,50):.1f} ms, "
              f"p95 {pct(detect,95):.1f} ms, max {max(detect):.1f} ms")
    print(f"burst of {BURST} new files: {'all on B after' if burst_ok else 'NOT complete after'} "
          f"{burst_ms/1000:.1f} s, {burst_pushes} push cycle(s) on A")
    print(f"idle CPU over {IDLE_S} s: " + ", ".join(f"agent {k} {v:.2f}% of a core" for k, v in idle_cpu.items()))
    print(f"B's remote requests in the last hour (status): {reqs}")
    sys.stdout.flush()
    shutil.rmtree(tmp, ignore_errors=True)

print(f"hx: {HX}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
for s in STORES: run(s)
PY
