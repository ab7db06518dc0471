#!/usr/bin/env python3
"""The report of bench/scale.sh, from its raw files.

  scale_report.py OUT_DIR                   markdown table of one run (raw.tsv, meta.tsv)
  scale_report.py --growth SMALL LARGE      how each figure grew from one run to a larger one

One run: per phase, hx's and rsync's wall time, CPU (user+sys) and peak RSS, and hx's wall time
as a ratio of `rsync -a`'s (and, for pulls, of `rsync -a --fsync`'s: hx makes every pulled file
durable, plain rsync does not). Growth: for each tool and phase, LARGE / SMALL of wall, CPU and
peak RSS, next to the growth of the file count (linear work grows like the files; work that
should not depend on the vault's size, such as a no-change push's memory, should stay flat).
"""
import csv
import os
import sys

PHASES = [
    ("push_first", "first push"),
    ("push_nochange", "no-change push"),
    ("status_nochange", "status (no change)"),
    ("pull_first", "first pull (new device)"),
    ("push_change", "push after a 1% edit"),
    ("pull_change", "pull after a 1% edit"),
]
TOOLS = ["hx", "rsync", "rsync_fsync"]
TOOL_NAMES = {"hx": "hx", "rsync": "rsync -a", "rsync_fsync": "rsync -a --fsync"}


def load(out_dir):
    rows = {}
    with open(os.path.join(out_dir, "raw.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[(r["tool"], r["phase"])] = {
                "wall": float(r["wall_s"]),
                "cpu": float(r["user_s"]) + float(r["sys_s"]),
                "sys": float(r["sys_s"]),
                "rss": int(r["maxrss_kib"]) * 1024,
                "load": r["load1"],
            }
    meta = {}
    with open(os.path.join(out_dir, "meta.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta.setdefault(key, []).append(value)
    return rows, meta


def mb(n):
    return f"{n / 1e6:.0f} MB" if n >= 10e6 else f"{n / 1e6:.1f} MB"


def cell(m):
    if m is None:
        return "—"
    return f"{m['wall']:.2f} s, {m['cpu']:.1f} s cpu ({m['sys']:.1f} sys), {mb(m['rss'])}"


def ratio(a, b):
    if a is None or b is None or b["wall"] <= 0:
        return "—"
    return f"{a['wall'] / b['wall']:.2f}"


def report(out_dir):
    rows, meta = load(out_dir)
    files = int(meta.get("files", ["0"])[0])
    lines = [f"### {files:,} files (bench/scale.sh)", ""]
    for key in ("command", "date", "host", "kernel", "filesystem", "corpus", "version_hx",
                "version_rsync", "store_bytes", "edited", "note"):
        for value in meta.get(key, []):
            lines.append(f"- {key}: {value}")
    lines += ["", "Wall time, CPU (user+sys, of which system), peak RSS (10^6 bytes):", "",
              "| phase | hx | rsync -a | rsync -a --fsync | hx / rsync | hx / rsync --fsync |",
              "|---|---:|---:|---:|---:|---:|"]
    for phase, name in PHASES:
        hx, rs, rf = (rows.get((t, phase)) for t in TOOLS)
        if hx is None and rs is None and rf is None:
            continue
        lines.append(f"| {name} | {cell(hx)} | {cell(rs)} | {cell(rf)} | **{ratio(hx, rs)}** "
                     f"| {ratio(hx, rf)} |")
    lines.append("")
    lines.append("The no-change push and status of rsync: rsync's no-change push is the same "
                 "command as its push. 1-minute load average at the start of each command: "
                 + ", ".join(f"{t} {p} {m['load']}" for (t, p), m in rows.items()) + ".")
    for value in meta.get("check", []):
        lines.append(f"- check {value}")
    return "\n".join(lines) + "\n"


def growth(small_dir, large_dir):
    small, small_meta = load(small_dir)
    large, large_meta = load(large_dir)
    fs = int(small_meta["files"][0])
    fl = int(large_meta["files"][0])
    lines = [f"### Growth from {fs:,} to {fl:,} files (x{fl / fs:g})", "",
             f"Runs: {os.path.basename(small_dir.rstrip('/'))} and "
             f"{os.path.basename(large_dir.rstrip('/'))}. Each cell: the large run's figure / "
             f"the small run's (x{fl / fs:g} is linear in the files; x1 is flat).", "",
             "| tool | phase | wall | CPU | peak RSS |", "|---|---|---:|---:|---:|"]
    for phase, name in PHASES:
        for tool in TOOLS:
            a, b = small.get((tool, phase)), large.get((tool, phase))
            if a is None or b is None:
                continue

            def g(key):
                return f"x{b[key] / a[key]:.1f}" if a[key] > 0 else "—"
            lines.append(f"| {TOOL_NAMES[tool]} | {name} | {g('wall')} ({a['wall']:.2f} → "
                         f"{b['wall']:.2f} s) | {g('cpu')} | {g('rss')} ({mb(a['rss'])} → "
                         f"{mb(b['rss'])}) |")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) == 4 and argv[1] == "--growth":
        sys.stdout.write(growth(argv[2], argv[3]))
        return 0
    if len(argv) == 2:
        sys.stdout.write(report(argv[1]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
