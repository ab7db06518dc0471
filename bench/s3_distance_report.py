#!/usr/bin/env python3
"""The report of bench/s3_distance.sh, from its raw files: s3_distance_report.py OUT_DIR.

Per phase and tool: wall time, client CPU, requests, bytes each way and the time those bytes held
the shaped link (the floor the link rate sets), and hx's wall time as a ratio of restic's and
rclone's. Issue 15's target (hx's wall time at most restic's in every phase) is marked PASS/MISS.
"""
import csv
import os
import sys

PHASES = [
    ("push_first", "first push"),
    ("pull_first", "first pull (empty folder)"),
    ("push_change", "push after a 1% edit"),
    ("pull_change", "pull after a 1% edit"),
]
TOOLS = ["hx", "rclone", "restic"]


def main(out_dir):
    rows = {}
    with open(os.path.join(out_dir, "raw.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[(r["tool"], r["phase"])] = r
    meta = []
    with open(os.path.join(out_dir, "meta.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta.append((key, value))
    lines = ["### S3 at a distance (bench/s3_distance.sh)", ""]
    lines += [f"- {k}: {v}" for k, v in meta]
    lines += ["", "Wall time (client CPU user+sys); requests; MB up / down (10^6 bytes); the link "
              "time of those bytes at the shaped rate (up / down, s):", "",
              "| phase | tool | wall | requests | MB up / down | link s up / down |",
              "|---|---|---:|---:|---:|---:|"]
    verdicts = []
    for phase, name in PHASES:
        for tool in TOOLS:
            r = rows.get((tool, phase))
            if r is None:
                continue
            cpu = float(r["user_s"]) + float(r["sys_s"])
            lines.append(f"| {name} | {tool} | {float(r['wall_s']):.2f} s ({cpu:.1f} s cpu) | "
                         f"{int(r['requests']):,} | {int(r['bytes_up']) / 1e6:.1f} / "
                         f"{int(r['bytes_down']) / 1e6:.1f} | {r['link_s_up']} / "
                         f"{r['link_s_down']} |")
        hx, restic, rclone = (rows.get((t, phase)) for t in ("hx", "restic", "rclone"))
        if hx and restic:
            ratio = float(hx["wall_s"]) / float(restic["wall_s"])
            extra = ""
            if rclone:
                extra = f", hx / rclone {float(hx['wall_s']) / float(rclone['wall_s']):.2f}"
            verdicts.append(f"- {name}: hx / restic {ratio:.2f}{extra}: "
                            f"{'PASS' if ratio <= 1.0 else 'MISS (hx slower than restic)'}")
    lines += ["", "Target (issue 15): hx's wall time at most restic's in every phase.", ""]
    lines += verdicts
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.stdout.write(main(sys.argv[1]))
