#!/usr/bin/env bash
# Watch scale benchmark (issue 12, item 8): one real `hx sync watch` process on
# a vault of 100,000 small files (1,000 directories of 100), through a folder
# store. Not part of the tests.
#
#   ./bench/watch_scale.sh                       # 100,000 files, 60 s of idle, 10 changes
#   ./bench/watch_scale.sh --files 20000 --idle-s 20 --changes 5   # a shorter run
#   ./bench/watch_scale.sh --agent-args '--max-scoped-paths 0'       # every push scans the whole folder
#   ./bench/watch_scale.sh --rehash-start        # the agent's start re-hashes every file (below)
#
# The vault is pushed once with `hx sync push` before the agent starts (the
# agent's usual start: a restart on a synced vault). With --rehash-start, every
# file's ctime is then moved (utime to its own times) and the agent started 2.5 s
# later: the stat cache misses every file and the start reads and hashes all of
# them, caching each (the worst start: as after a CLI push made within the stat
# cache's 2 s racy window of the files' writes, which caches none). Measured:
#   set-up     agent started -> its .hx/agent.json first says watching with an
#              empty queue (the start's pull and push done, every directory watched)
#   idle CPU   the agent's user+sys CPU over --idle-s seconds with nothing to do
#              (/proc/<pid>/stat), as a share of one core
#   peak RSS   /proc/<pid>/status VmHWM at the end (set-up, idle and the changes included),
#              and the largest VmRSS sampled every 5 ms with its RssAnon / RssFile parts
#   change     one small file rewritten in a directory of the vault -> the agent's
#              pushes_published counter moved (the snapshot is on the store): p50 / max
# Results go to stdout and bench/results/watch-scale-<date>.txt. The hx binary: $HX_BIN,
# else build/release/src/cli/hx, else build/gcc/src/cli/hx.
set -euo pipefail
cd "$(dirname "$0")/.."
files=100000 idle_s=60 changes=10 agent_args="" rehash=0
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift 2 ;;
    --idle-s) idle_s=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --agent-args) agent_args=$2; shift 2 ;;
    --rehash-start) rehash=1; shift ;;
    *) echo "usage: $0 [--files N] [--idle-s S] [--changes N] [--agent-args 'ARGS'] [--rehash-start]" >&2; exit 2 ;;
  esac
done
. bench/hx_bin.sh
mkdir -p bench/results
out="bench/results/watch-scale-$(date -u +%Y%m%dT%H%M%SZ).txt"
HX="$hx" FILES=$files IDLE_S=$idle_s CHANGES=$changes AGENT_ARGS="$agent_args" REHASH=$rehash python3 - <<'PY' | tee "$out"
import json, os, shutil, signal, subprocess, tempfile, threading, time

HX = os.environ["HX"]; FILES = int(os.environ["FILES"])
IDLE_S = int(os.environ["IDLE_S"]); CHANGES = int(os.environ["CHANGES"])
AGENT_ARGS = os.environ["AGENT_ARGS"].split()
REHASH = os.environ["REHASH"] == "1"
TICK = os.sysconf("SC_CLK_TCK")

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

def started(vault):
    # Idle after the start's first cycle (the status says "watching" once
    # before it too).
    return idle(vault) and agent_json(vault).get("counters", {}).get("cycles", 0) >= 1

def status_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"): out[key] = int(value.split()[0])
    return out

peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "phase": ""}
phase = ["set-up"]
def sample(pid):
    # Every 5 ms: the largest VmRSS seen, with its anonymous / file-backed
    # parts (file: the binary, its libraries and the index's SQLite mmap).
    while True:
        try: s = status_kb(pid)
        except Exception: return
        if s.get("VmRSS", 0) > peak["VmRSS"]: peak.update(s, phase=phase[0])
        time.sleep(0.005)

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f: fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"): return int(line.split()[1]) / 1024  # MiB
    return float("nan")

tmp = tempfile.mkdtemp(prefix="hx-watch-scale-")
env = dict(os.environ, HX_PASSPHRASE="bench passphrase", HOME=tmp)
vault, store = os.path.join(tmp, "v"), os.path.join(tmp, "store")
os.makedirs(vault)
per_dir = 100
for i in range(FILES):
    d = os.path.join(vault, f"d{i // per_dir:04d}")
    if i % per_dir == 0: os.makedirs(d)
    with open(os.path.join(d, f"f{i % per_dir:03d}.txt"), "wb") as f: f.write(b"file %d\n" % i)
subprocess.run([HX, "sync", "init", vault, store], env=env, check=True, stdout=subprocess.DEVNULL)
t0 = time.monotonic()
subprocess.run([HX, "sync", "push", vault], env=env, check=True, stdout=subprocess.DEVNULL)
first_push = time.monotonic() - t0
if REHASH:
    for i in range(FILES):
        p = os.path.join(vault, f"d{i // per_dir:04d}", f"f{i % per_dir:03d}.txt")
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # ctime moves: the stat cache misses
    time.sleep(2.5)  # out of the racy window: the start caches what it hashes
log = open(os.path.join(tmp, "agent.log"), "w")
t0 = time.monotonic()
agent = subprocess.Popen([HX, "sync", "watch", vault] + AGENT_ARGS, env=env, stdout=log, stderr=log)
threading.Thread(target=sample, args=(agent.pid,), daemon=True).start()
assert wait(lambda: started(vault) or agent.poll() is not None, 600) and agent.poll() is None, \
    "the agent did not become idle: " + open(os.path.join(tmp, "agent.log")).read()[-2000:]
setup = time.monotonic() - t0
setup_cpu = cpu_ticks(agent.pid) / TICK
time.sleep(2)
phase[0] = "idle"
c0 = cpu_ticks(agent.pid)
time.sleep(IDLE_S)
idle_cpu = (cpu_ticks(agent.pid) - c0) / TICK / IDLE_S * 100
lat, change_cpu = [], []
phase[0] = "changes"
for i in range(CHANGES):
    before = agent_json(vault).get("counters", {}).get("pushes_published", 0)
    c0 = cpu_ticks(agent.pid)
    t0 = time.monotonic()
    with open(os.path.join(vault, f"d{(i * 37) % (FILES // per_dir):04d}", "f000.txt"), "wb") as f:
        f.write(b"changed %d at %f\n" % (i, time.time()))
    ok = wait(lambda: agent_json(vault).get("counters", {}).get("pushes_published", 0) > before, 120)
    lat.append((time.monotonic() - t0) * 1000 if ok else float("inf"))
    wait(lambda: idle(vault), 120)
    change_cpu.append((cpu_ticks(agent.pid) - c0) / TICK * 1000)
    time.sleep(1.5)
hwm, rss = vm(agent.pid, "VmHWM"), vm(agent.pid, "VmRSS")
counters = agent_json(vault).get("counters", {})
agent.send_signal(signal.SIGTERM)
rc = agent.wait(120)
lat.sort(); change_cpu.sort()
print(f"hx: {HX} sync watch {' '.join(AGENT_ARGS)}")
print(f"vault: {FILES} files in {FILES // per_dir} directories, folder store; first push (CLI) {first_push:.1f} s"
      + ("; every file's ctime moved before the start (--rehash-start)" if REHASH else ""))

print(f"set-up: agent start -> idle {setup:.2f} s ({setup_cpu:.2f} s of CPU)")
print(f"idle CPU over {IDLE_S} s: {idle_cpu:.2f}% of a core")
print(f"peak RSS (VmHWM): {hwm:.1f} MiB (RSS at the end {rss:.1f} MiB)")
print(f"largest RSS sampled (5 ms): {peak['VmRSS'] / 1024:.1f} MiB during {peak['phase']}: "
      f"{peak['RssAnon'] / 1024:.1f} MiB anonymous + {peak['RssFile'] / 1024:.1f} MiB file-backed")
if lat:
    print(f"one small change -> published, {len(lat)} changes: p50 {lat[len(lat) // 2]:.0f} ms, "
          f"max {lat[-1]:.0f} ms; agent CPU per change p50 {change_cpu[len(change_cpu) // 2]:.0f} ms")
print(f"pushes: {counters.get('full_pushes', 0)} scanned the whole folder, "
      f"{counters.get('scoped_pushes', 0)} only the changed paths' folders")
print(f"agent exit code after SIGTERM: {rc}")
shutil.rmtree(tmp, ignore_errors=True)
PY
