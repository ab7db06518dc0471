#!/usr/bin/env python3
"""The hub's load generator (bench/hub.sh): many simulated devices on one
`hx serve`, each holding a change-feed long poll, some of them writing their
vault's head.json.

What it measures: the hub's change feed under load, from the moment a device
sends a conditional write of head.json (PUT /v1/<vault>/o/head.json?if-match=V,
the store protocol's put-if-match, the very request that publishes a push) to
the moment every other device of that vault holding a feed is told the head
moved. It does not run hx's push pipeline (packs, trees): that is the agent
benchmark (bench/watch.sh --stores hub); here only the hub's conditional write,
its feed fan-out and its per-connection cost are under test.

Devices: --devices of them in --vaults vaults (device i in vault i mod
vaults), each with one keep-alive connection for its feed; the first
--pushers devices also write (one more connection each), every
--interval-ms on average (uniform 0.5x..1.5x, seeded), for --duration-s.
A write that loses its if-match race (409/412: another pusher of the vault
won) reads the head and tries again 50-250 ms later; it counts as a
conflict, not an error.

Accounting (after the run, from raw events, so nothing depends on the order
the replies arrived in; latency_ms counts from the write's send, so it holds
the conditional write itself (the hub's per-key lock and the store's durable
write); after_ack_ms counts from the write's 200 reply, the fan-out alone,
and may be negative when a feed hears before the writer; write_ack_ms is the
write's own round trip): the successful writes of a vault form one chain (each
one's if-match is the version before it). A (write, device) pair is notified
when the device's feed first reports that version or a later one of the chain;
its latency is that time minus the write's send time. A pair never notified
by the end of the grace period is LOST. Errors: any other status, a dropped
connection, a reply that is not HTTP.

Bounded: at most --devices + --pushers connections, --duration-s of writes,
then --grace-s to drain. Output: one JSON object on stdout (bench/hub.sh
prints it as a report).
"""
import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time


def now_ms():
    return time.monotonic() * 1000.0


class Conn:
    """One HTTP/1.1 keep-alive connection to the hub (plain, loopback)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method, path, body=b""):
        if self.writer is None:
            await self.open()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the hub closed the connection")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ConnectionError(f"not an HTTP reply: {status_line[:60]!r}")
        status = int(parts[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise ConnectionError("chunked replies are not expected from the hub")
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stop_writes = False
        self.stop_all = False
        self.writes = []        # (vault, send_ms, version, after_version, ack_ms)
        self.seen = []          # (device, vault, version, recv_ms)
        self.errors = {}        # kind -> count
        self.conflicts = 0
        self.feed_replies = 0
        self.unchanged_replies = 0

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def vault(self, device):
        return f"{self.args.vault_prefix}{device % self.args.vaults:04d}"

    async def feed(self, device, start):
        """A device holding its feed: poll, re-poll with the head it saw."""
        vault, after = self.vault(device), ""
        conn = Conn(self.args.host, self.args.port)
        await start.wait()
        while not self.stop_all:
            try:
                status, data = await conn.request(
                    "GET", f"/v1/{vault}/feed?after={after}&wait_ms={self.args.wait_ms}")
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                self.error(f"feed connection: {type(e).__name__}")
                conn.close()
                await asyncio.sleep(0.05)
                continue
            t = now_ms()
            if status != 200:
                self.error(f"feed status {status}")
                await asyncio.sleep(0.05)
                continue
            reply = json.loads(data)
            self.feed_replies += 1
            if reply.get("changed") and reply.get("head"):
                after = reply["head"]
                self.seen.append((device, vault, after, t))
            else:
                self.unchanged_replies += 1
        conn.close()

    async def push(self, device, head, start):
        """A writing device: PUT head.json if-match its last version."""
        vault = self.vault(device)
        conn = Conn(self.args.host, self.args.port)
        rng = random.Random(self.args.seed * 1000003 + device)
        await start.wait()
        await asyncio.sleep(rng.uniform(0, self.args.interval_ms / 1000))
        n = 0
        while not self.stop_writes:
            body = json.dumps({"device": device, "n": n,
                               "pad": rng.randbytes(48).hex()}).encode()
            sent = now_ms()
            try:
                status, data = await conn.request(
                    "PUT", f"/v1/{vault}/o/head.json?if-match={head}", body)
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                self.error(f"put connection: {type(e).__name__}")
                conn.close()
                await asyncio.sleep(0.05)
                continue
            if status == 200:
                version = json.loads(data)["version"]
                self.writes.append((vault, sent, version, head, now_ms()))
                head, n = version, n + 1
            elif status in (409, 412):
                # Another pusher of the vault won: read the head and try
                # again after a short seeded pause, as a device's next push
                # cycle would (not at once: 50 pushers on one vault would
                # spin).
                self.conflicts += 1
                head = await self.read_head(conn, vault) or head
                await asyncio.sleep(rng.uniform(0.05, 0.25))
                continue
            else:
                self.error(f"put status {status}")
            await asyncio.sleep(rng.uniform(0.5, 1.5) * self.args.interval_ms / 1000)
        conn.close()

    async def read_head(self, conn, vault):
        try:
            status, data = await conn.request("GET", f"/v1/{vault}/feed?after=&wait_ms=0")
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            conn.close()
            return None
        return json.loads(data).get("head") if status == 200 else None

    async def make_heads(self):
        """Every vault gets a first head (if-absent); returns vault -> version."""
        conn = Conn(self.args.host, self.args.port)
        heads = {}
        for v in range(self.args.vaults):
            vault = self.vault(v)
            status, data = await conn.request("PUT", f"/v1/{vault}/o/head.json?if-absent=1",
                                              b'{"first":true}')
            if status != 200:
                raise SystemExit(f"cannot create {vault}/head.json: {status} {data[:200]!r}")
            heads[vault] = json.loads(data)["version"]
        conn.close()
        return heads


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else None


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = Run(args)
    heads = await run.make_heads()
    start = asyncio.Event()
    feeds = [asyncio.create_task(run.feed(d, start)) for d in range(args.devices)]
    pushers = [asyncio.create_task(run.push(d, heads[run.vault(d)], start))
               for d in range(args.pushers)]
    rss_idle = proc_status(args.hub_pid, "VmRSS") if args.hub_pid else 0
    start.set()
    # Every device holds its feed before the writes start.
    deadline = time.monotonic() + 60
    while len({d for d, *_ in run.seen}) < args.devices and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    held = len({d for d, *_ in run.seen})
    await asyncio.sleep(2)
    first_write_index = len(run.writes)
    cpu0 = proc_cpu_s(args.hub_pid) if args.hub_pid else 0
    own0 = time.process_time()
    t0 = time.monotonic()
    rss_peak_sampled = 0
    while time.monotonic() - t0 < args.duration_s:
        await asyncio.sleep(0.5)
        if args.hub_pid:
            rss_peak_sampled = max(rss_peak_sampled, proc_status(args.hub_pid, "VmRSS"))
    run.stop_writes = True
    load_s = time.monotonic() - t0
    cpu1 = proc_cpu_s(args.hub_pid) if args.hub_pid else 0
    own1 = time.process_time()
    await asyncio.sleep(args.grace_s)
    run.stop_all = True
    for t in feeds + pushers:
        t.cancel()
    await asyncio.gather(*feeds, *pushers, return_exceptions=True)

    # Accounting: each vault's chain of versions, then per (write, device).
    seq = {}  # (vault, version) -> index in its vault's chain
    for vault, version in heads.items():
        seq[(vault, version)] = 0
    pending = list(run.writes)
    while pending:
        rest = []
        for w in pending:
            vault, _, version, after, _ = w
            if (vault, after) in seq:
                seq[(vault, version)] = seq[(vault, after)] + 1
            else:
                rest.append(w)
        if len(rest) == len(pending):
            break
        pending = rest
    first_seen = {}  # (device, vault) -> [(seq, recv_ms)] in arrival order
    for device, vault, version, t in run.seen:
        s = seq.get((vault, version))
        if s is not None:
            first_seen.setdefault((device, vault), []).append((s, t))
    writer_of = {}
    for d in range(args.pushers):
        writer_of.setdefault(run.vault(d), set()).add(d)
    latencies, from_ack, lost = [], [], 0
    measured = run.writes[first_write_index:]
    for vault, sent, version, _, acked in measured:
        s = seq.get((vault, version))
        for device in range(args.devices):
            if run.vault(device) != vault or device in writer_of.get(vault, ()):
                continue
            got = next((t for ss, t in first_seen.get((device, vault), []) if ss >= s), None)
            if got is None:
                lost += 1
            else:
                latencies.append(got - sent)
                from_ack.append(got - acked)
    result = {
        "devices": args.devices, "vaults": args.vaults, "pushers": args.pushers,
        "interval_ms": args.interval_ms, "duration_s": round(load_s, 1), "seed": args.seed,
        "feeds_held_before_writes": held,
        "writes": len(measured), "writes_per_s": round(len(measured) / load_s, 1),
        "conflicts": run.conflicts,
        "notifications_expected": len(latencies) + lost, "notifications_lost": lost,
        "unchained_writes": len(pending),
        "latency_ms": {"p50": pct(latencies, 50), "p95": pct(latencies, 95),
                       "p99": pct(latencies, 99), "max": max(latencies) if latencies else None},
        "after_ack_ms": {"p50": pct(from_ack, 50), "p95": pct(from_ack, 95),
                         "max": max(from_ack) if from_ack else None},
        "write_ack_ms": {"p50": pct([w[4] - w[1] for w in measured], 50),
                         "p95": pct([w[4] - w[1] for w in measured], 95)},
        "feed_replies": run.feed_replies, "unchanged_replies": run.unchanged_replies,
        "errors": run.errors,
        "generator_cpu_pct_of_core": round((own1 - own0) / load_s * 100, 1),
    }
    if args.hub_pid:
        result["hub"] = {
            "cpu_pct_of_core": round((cpu1 - cpu0) / load_s * 100, 1),
            "rss_before_feeds_mib": round(rss_idle / 2**20, 1),
            "rss_peak_sampled_mib": round(rss_peak_sampled / 2**20, 1),
            "vm_hwm_mib": round(proc_status(args.hub_pid, "VmHWM") / 2**20, 1),
        }
    for group in ("latency_ms", "after_ack_ms", "write_ack_ms"):
        for k, v in result[group].items():
            if v is not None:
                result[group][k] = round(v, 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--hub-pid", type=int, default=0, help="sample this process's CPU and RSS")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--pushers", type=int, default=50)
    p.add_argument("--vaults", type=int, default=50)
    p.add_argument("--interval-ms", type=int, default=1000)
    p.add_argument("--duration-s", type=float, default=60)
    p.add_argument("--grace-s", type=float, default=10)
    p.add_argument("--wait-ms", type=int, default=25000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--vault-prefix", default="load-")
    a = p.parse_args()
    if not (0 < a.pushers <= a.devices and 0 < a.vaults <= a.devices and a.devices <= 5000):
        sys.exit("need 0 < pushers <= devices, 0 < vaults <= devices, devices <= 5000")
    if a.duration_s > 600 or a.grace_s > 120:
        sys.exit("bounded: --duration-s at most 600, --grace-s at most 120")
    asyncio.run(main(a))
