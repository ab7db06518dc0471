#!/usr/bin/env python3
"""Turns the raw measurements of bench/sync.sh into a Markdown report.

  sync_report.py OUT_DIR      reads OUT_DIR/{raw,sizes,verify,meta}.tsv, prints the report

Every figure is a median over the runs of a phase (wall clock and user+sys CPU) except peak RSS,
which is the largest of the runs. Ratios are hx / peer on the wall-clock medians: below 1 means
hx was faster. The targets are those of PRODUCT.md ("Targets").
"""
from __future__ import annotations

import csv
import os
import statistics
import sys

PHASES = [
    ("push_first", "push first"),
    ("push_nochange", "push no-change"),
    ("push_change", "push 1% edit"),
    ("pull_first", "pull first"),
    ("pull_nochange", "pull no-change"),
    ("pull_change", "pull 1% edit"),
    ("status_nochange", "status no-change"),
]
TOOLS = ["hx", "rsync", "rclone", "restic", "unison"]
RSS_LIMIT_BYTES = 150_000_000  # PRODUCT.md: "at most ~150 MB at 100,000 files"


def read_tsv(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


class Results:
    def __init__(self, out: str):
        self.rows = read_tsv(os.path.join(out, "raw.tsv"))
        self.sizes = read_tsv(os.path.join(out, "sizes.tsv"))
        self.verify = read_tsv(os.path.join(out, "verify.tsv"))
        self.meta = {}
        meta_path = os.path.join(out, "meta.tsv")
        if os.path.exists(meta_path):
            for line in open(meta_path):
                key, _, value = line.rstrip("\n").partition("\t")
                self.meta[key] = value

    def runs(self, corpus: str, tool: str, phase: str) -> list[dict]:
        return [r for r in self.rows if r["corpus"] == corpus and r["tool"] == tool and r["phase"] == phase]

    def wall(self, corpus, tool, phase):
        rs = self.runs(corpus, tool, phase)
        return statistics.median(float(r["wall_s"]) for r in rs) if rs else None

    def cpu(self, corpus, tool, phase):
        rs = self.runs(corpus, tool, phase)
        return statistics.median(float(r["user_s"]) + float(r["sys_s"]) for r in rs) if rs else None

    def rss_kib(self, corpus, tool, phase=None):
        rs = [r for r in self.rows if r["corpus"] == corpus and r["tool"] == tool
              and (phase is None or r["phase"] == phase)]
        return max(int(r["maxrss_kib"]) for r in rs) if rs else None

    def corpora(self):
        seen = []
        for r in self.rows:
            if r["corpus"] not in seen:
                seen.append(r["corpus"])
        return seen

    def tools(self, corpus):
        present = {r["tool"] for r in self.rows if r["corpus"] == corpus}
        return [t for t in TOOLS if t in present]

    def size(self, corpus, tool, what):
        for s in self.sizes:
            if s["corpus"] == corpus and s["tool"] == tool and s["what"] == what:
                return int(s["bytes"])
        return None


def fmt_s(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 10 else f"{v:.2f}" if v < 100 else f"{v:.1f}"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def corpus_section(res: Results, corpus: str) -> list[str]:
    files = res.size(corpus, "corpus", "files")
    nbytes = res.size(corpus, "corpus", "bytes")
    tools = res.tools(corpus)
    phases = [(p, label) for p, label in PHASES if any(res.runs(corpus, t, p) for t in tools)]
    nruns = {p: max(len(res.runs(corpus, t, p)) for t in tools) for p, _ in phases}
    head = ["tool"] + [f"{label} (n={nruns[p]})" for p, label in phases]
    lines = [f"## Corpus {corpus}: {files:,} files, {nbytes / 2**30:.3f} GiB" if files else f"## Corpus {corpus}", ""]

    lines += ["Wall clock, seconds (median):", ""]
    lines.append(table(head, [[t] + [fmt_s(res.wall(corpus, t, p)) for p, _ in phases] for t in tools]))
    if "restic" in tools:
        lines += ["", "restic: push = `restic backup`, pull = `restic restore latest --target` into an empty "
                      "folder. Its no-change and 1% pulls are not measured (—): restic 0.14 cannot restore "
                      "incrementally, every restore rewrites every file."]
    lines += ["", "CPU user+sys, seconds (median):", ""]
    lines.append(table(head, [[t] + [fmt_s(res.cpu(corpus, t, p)) for p, _ in phases] for t in tools]))
    lines += ["", "Peak RSS, MiB (largest run; for rsync the largest of its processes):", ""]
    lines.append(table(head, [[t] + ["—" if (k := res.rss_kib(corpus, t, p)) is None else f"{k / 1024:.1f}"
                                     for p, _ in phases] for t in tools]))
    if "hx" in tools and len(tools) > 1:
        lines += ["", "hx / peer, wall-clock medians (below 1: hx faster; status is compared with the peer's no-change push):", ""]
        rows = []
        for peer in tools:
            if peer == "hx":
                continue
            row = [peer]
            for p, _ in phases:
                hx_v = res.wall(corpus, "hx", p)
                peer_v = res.wall(corpus, peer, "push_nochange" if p == "status_nochange" else p)
                row.append(fmt_ratio(hx_v / peer_v if hx_v and peer_v else None))
            rows.append(row)
        lines.append(table(["peer"] + [label for _, label in phases], rows))
    sizes = [(t, res.size(corpus, t, "push_target")) for t in tools]
    if any(v for _, v in sizes):
        lines += ["", "Push target after the first push (hx: the store; restic: the repository), MiB:", ""]
        lines.append(table(["tool", "MiB", "of the corpus"],
                           [[t, f"{v / 2**20:.1f}", f"{v / nbytes:.2f}x" if nbytes else "—"] for t, v in sizes if v]))
    checks = [v for v in res.verify if v["corpus"] == corpus]
    if checks:
        lines += ["", "Checks after the last run (every copy against its source, file contents, `.hx/` excluded):", ""]
        lines += [f"- `{v['check']}`: {v['result']}" for v in checks]
    loads = [float(r["load1"]) for r in res.rows if r["corpus"] == corpus]
    if loads:
        lines += ["", f"Load average (1 min) when the commands started: median {statistics.median(loads):.2f}, "
                      f"max {max(loads):.2f}."]
    return lines + [""]


def target_rows(res: Results) -> list[list[str]]:
    rows = []
    scale = res.meta.get("scale", "1")

    def ratio_row(name, corpus, hx_phase, peer, peer_phase, limit, strict=False, info=False):
        hx_v, peer_v = res.wall(corpus, "hx", hx_phase), res.wall(corpus, peer, peer_phase)
        if hx_v is None or peer_v is None:
            rows.append([name, "not measured", "—", "—", "n/a"])
            return
        ratio = hx_v / peer_v
        ok = ratio < limit if strict else ratio <= limit
        verdict = "info" if info else ("PASS" if ok else "MISS")
        rows.append([name, f"hx {fmt_s(hx_v)} s vs {peer} {fmt_s(peer_v)} s", f"{ratio:.2f}",
                     ("< " if strict else "≤ ") + f"{limit:g}" if not info else "—", verdict])

    ratio_row("A: first push at most half of restic's", "A", "push_first", "restic", "push_first", 0.5)
    ratio_row("A: first push close to rsync's", "A", "push_first", "rsync", "push_first", 1, info=True)
    for c in ("A", "B"):
        ratio_row(f"{c}: no-change push at most half of rsync's", c, "push_nochange", "rsync", "push_nochange", 0.5)
    for c in ("A", "B"):
        ratio_row(f"{c}: status at most half of rsync's no-change push", c, "status_nochange", "rsync", "push_nochange", 0.5)
    for c in ("A", "B"):
        ratio_row(f"{c}: push after a 1% edit faster than rsync's", c, "push_change", "rsync", "push_change", 1, strict=True)
    kib = res.rss_kib("B", "hx")
    files = res.size("B", "corpus", "files")
    name = "B: hx peak RSS at most ~150 MB at 100,000 files"
    if kib is None:
        rows.append([name, "not measured", "—", "—", "n/a"])
    else:
        note = "" if files == 100_000 else f" (only {files:,} files: quick corpus)"
        peak = kib * 1024
        rows.append([name, f"{peak / 1e6:.1f} MB over all B phases{note}", f"{peak / RSS_LIMIT_BYTES:.2f}",
                     "≤ 1 (150 MB)", "PASS" if peak <= RSS_LIMIT_BYTES else "MISS"])
    if scale not in ("1", "1.0"):
        rows.append(["(quick run: corpora at scale " + scale + "; the targets are stated for the full corpora)",
                     "", "", "", ""])
    return rows


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    res = Results(sys.argv[1])
    if not res.rows:
        print("sync_report: no measurements", file=sys.stderr)
        return 1
    m = res.meta
    lines = ["# hx sync benchmark", ""]
    lines.append(f"- command: `{m.get('command', '?')}`")
    lines.append(f"- date: {m.get('date', '?')}; host: {m.get('host', '?')}; kernel {m.get('kernel', '?')}; "
                 f"{m.get('filesystem', '?')}")
    cache = m.get("cache", "warm")
    cache_note = ("page cache dropped before every timed command" if cache == "cold" else
                  "warm page cache (the corpus was just written; nothing dropped)")
    lines.append(f"- runs: {m.get('first_runs', '?')} of each first push/pull, {m.get('runs', '?')} of every "
                 f"other phase; {cache_note}; corpus seed {m.get('seed', '?')}, scale {m.get('scale', '?')}")
    for t in TOOLS:
        if f"version_{t}" in m:
            lines.append(f"- {t}: {m[f'version_{t}']}")
    lines += ["", "## Targets (PRODUCT.md)", ""]
    lines.append(table(["target", "measured (wall-clock medians)", "hx / peer", "limit", "result"], target_rows(res)))
    lines.append("")
    for c in res.corpora():
        lines += corpus_section(res, c)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
