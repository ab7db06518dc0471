#!/usr/bin/env python3
"""The report of bench/s3.sh, rebuilt from its raw files: bench/s3_report.py OUT_DIR.

Reads OUT_DIR/raw.tsv (one row per timed command), OUT_DIR/requests.tsv (requests per key class)
and OUT_DIR/meta.tsv, and prints markdown: per phase and tool the median requests, client CPU
(user+sys) and wall time, hx's ratios to the peers, hx's requests by key class, and the targets
of issue 4 with PASS/MISS.
"""

import csv
import statistics
import sys
from pathlib import Path

PHASES = [
    ("push_first", "first push"),
    ("push_nochange", "no-change push"),
    ("pull_first", "first pull (hx)"),
    ("pull_nochange", "no-change pull (hx)"),
    ("push_change", "push after a 1% change"),
    ("pull_change", "pull after a 1% change (hx)"),
]
TOOLS = ["hx", "rclone", "restic"]


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fmt(x, digits=2):
    if x is None:
        return "—"
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench/s3")
    rows = read_tsv(out / "raw.tsv")
    meta = {}
    for line in (out / "meta.tsv").read_text().splitlines():
        key, _, value = line.partition("\t")
        meta[key] = value

    med = {}  # (tool, phase) -> (requests, cpu, wall, runs)
    for tool in TOOLS:
        for phase, _ in PHASES:
            sel = [r for r in rows if r["tool"] == tool and r["phase"] == phase]
            if not sel:
                continue
            med[tool, phase] = (
                statistics.median(int(r["requests"]) for r in sel),
                statistics.median(float(r["user_s"]) + float(r["sys_s"]) for r in sel),
                statistics.median(float(r["wall_s"]) for r in sel),
                len(sel),
            )

    print("# S3 benchmark (bench/s3.sh)\n")
    for key in ("command", "date", "host", "corpus", "scale", "runs", "server", "version_hx",
                "version_rclone", "version_restic", "check"):
        if key in meta:
            print(f"- {key}: {meta[key]}")
    print()
    print("Medians over the runs. requests: HTTP requests through the counting proxy; cpu: user+sys "
          "seconds of the client process (moto's own CPU excluded); wall: seconds, moto included "
          "(moto spends ~5 ms of CPU a request on the same 2 cores, so wall favours fewer "
          "requests).\n")
    tools = [t for t in TOOLS if any(k[0] == t for k in med)]
    header = "| phase | " + " | ".join(f"{t} requests | {t} cpu s | {t} wall s" for t in tools) + " |"
    print(header)
    print("|---" * (1 + 3 * len(tools)) + "|")
    for phase, title in PHASES:
        if not any((t, phase) in med for t in tools):
            continue
        cells = []
        for t in tools:
            m = med.get((t, phase))
            cells += [fmt(m[0]), fmt(m[1]), fmt(m[2])] if m else ["—"] * 3
        print(f"| {title} | " + " | ".join(cells) + " |")
    print()

    if "hx" in tools:
        print("hx / peer ratios (requests, cpu):\n")
        print("| phase | requests hx/restic | requests hx/rclone | cpu hx/restic | cpu hx/rclone |")
        print("|---|---|---|---|---|")
        for phase, title in PHASES:
            hx = med.get(("hx", phase))
            if hx is None or not phase.startswith("push"):
                continue
            rs, rc = med.get(("restic", phase)), med.get(("rclone", phase))
            print(f"| {title} | {ratio(hx[0], rs and rs[0])} | {ratio(hx[0], rc and rc[0])} | "
                  f"{ratio(hx[1], rs and rs[1])} | {ratio(hx[1], rc and rc[1])} |")
        print()
        reqs = read_tsv(out / "requests.tsv")
        print("hx requests by method and key class (last run of each phase):\n")
        print("| phase | requests |")
        print("|---|---|")
        for phase, title in PHASES:
            sel = [r for r in reqs if r["tool"] == "hx" and r["phase"] == phase]
            if not sel:
                continue
            last = max(int(r["run"]) for r in sel)
            parts = [f"{r['request']}: {r['count']}" for r in sel if int(r["run"]) == last]
            print(f"| {title} | {', '.join(parts)} |")
        print()

        print("Targets (issue 4):\n")
        checks = []
        for phase, title in PHASES:
            if not phase.startswith("push"):
                continue
            hx, rs = med.get(("hx", phase)), med.get(("restic", phase))
            if hx and rs:
                checks.append((f"{title}: fewer requests than restic ({fmt(hx[0])} vs {fmt(rs[0])})",
                               hx[0] < rs[0]))
            for peer in ("restic", "rclone"):
                p = med.get((peer, phase))
                if hx and p:
                    checks.append((f"{title}: client CPU below {peer} ({fmt(hx[1])} s vs "
                                   f"{fmt(p[1])} s)", hx[1] < p[1]))
        nc = med.get(("hx", "pull_nochange"))
        if nc:
            checks.append((f"no-change pull in one or two requests ({fmt(nc[0])})", nc[0] <= 2))
        for text, ok in checks:
            print(f"- {'PASS' if ok else 'MISS'}: {text}")


if __name__ == "__main__":
    main()
