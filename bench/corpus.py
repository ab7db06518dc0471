#!/usr/bin/env python3
"""Deterministic benchmark corpora for bench/sync.sh, and the 1% edit applied between runs.

  corpus.py gen A|B|S DIR [--seed S] [--scale F]  write corpus A, B or S into DIR (created, must be empty)
  corpus.py mutate DIR --seed S --run R [--fraction 0.01] [--exclude .hx]
                                                   edit ~1% of the files in place (deterministic)
  corpus.py describe DIR [--exclude .hx]           print "files bytes" of a tree

Corpus A (scale 1): 10,013 files, 1 GiB: 9,700 small text-like files (lognormal around 3 KiB),
300 medium files of 100 KiB-2 MiB (log-uniform; a third random, a third text-like, a third
log-like and highly compressible), 13 large files of 20-100 MiB (11 random, 2 log-like) sized so
that the total is 1 GiB. Corpus B (scale 1): 100,000 files of 0-8 KiB (uniform; two thirds
text-like, one third random) in 1,000 directories three levels deep. --scale 0.1 gives the quick
corpora (A: 1,013 files / ~100 MiB, B: 10,000 files). Corpus S (bench/scale.sh; scale 1):
1,000,000 tiny files of 0-2 KiB (uniform; two thirds text-like, one third random) in 1,000
directories two levels deep (10 x 100), scale/1000 of them in each (--scale 0.1: 100,000 files).

Every byte depends only on the seed: random bytes come from AES-256-CTR over zeros (the
`openssl` command, ~1 GB/s; Python's own generator is ~10x slower), keyed by SHA-256 of the
seed; sizes, names and choices from random.Random(seed). Text-like data is random bytes mapped
onto letters with English frequencies (about 2x compressible, like prose); log-like data is
lines drawn from a pool of 4,096 templated log lines (about 5-10x compressible). No two files
share content, so no tool gains from deduplication the corpus did not ask for.

The edit (`mutate`) picks round(fraction * files) files (at least one) from the sorted list of
relative paths, so two copies of a tree receive identical edits; each picked file gets either
16 random bytes overwritten at a random offset (same size, new mtime) or 16 bytes appended.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import subprocess
import sys

KIB = 1024
MIB = 1024 * KIB


class RandomStream:
    """An endless deterministic byte stream: AES-256-CTR keystream from `openssl enc`."""

    def __init__(self, seed: int, label: str):
        key = hashlib.sha256(f"hx-bench-corpus/{label}/{seed}".encode()).hexdigest()
        self._proc = subprocess.Popen(
            ["openssl", "enc", "-aes-256-ctr", "-nosalt", "-K", key, "-iv", "0" * 32,
             "-in", "/dev/zero"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self._buf = b""
        self._pos = 0

    def read(self, n: int) -> bytes:
        # Served from an 8 MiB buffer: one pipe read per small file would cost a context switch
        # to openssl each time.
        if n > len(self._buf) - self._pos:
            rest = self._buf[self._pos:]
            self._buf = rest + self._read_pipe(max(8 * MIB, n - len(rest)))
            self._pos = 0
        out = self._buf[self._pos:self._pos + n]
        self._pos += n
        return out

    def _read_pipe(self, n: int) -> bytes:
        parts = []
        while n > 0:
            got = self._proc.stdout.read(n)
            if not got:
                raise RuntimeError("openssl keystream ended early")
            parts.append(got)
            n -= len(got)
        return b"".join(parts)

    def close(self) -> None:
        self._proc.stdout.close()
        self._proc.kill()
        self._proc.wait()


def text_table() -> bytes:
    """Maps each byte value to a character so that the output has English-like frequencies."""
    weights = [(" ", 46), ("e", 30), ("t", 22), ("a", 20), ("o", 19), ("i", 17), ("n", 17),
               ("s", 16), ("h", 15), ("r", 15), ("d", 11), ("l", 10), ("c", 7), ("u", 7),
               ("m", 6), ("w", 6), ("f", 5), ("g", 5), ("y", 5), ("p", 5), ("b", 4), (",", 3),
               (".", 3), ("v", 2), ("k", 2), ("\n", 4), ("T", 1), ("I", 1), ("A", 1), ("S", 1),
               ("x", 1), ("j", 1), ("q", 1), ("z", 1), ("0", 1), ("1", 1), ("-", 1)]
    total = sum(w for _, w in weights)
    cumulative, bounds = 0, []
    for ch, w in weights:
        cumulative += w
        bounds.append((cumulative, ch))
    table = bytearray()
    for b in range(256):
        position = (b + 0.5) * total / 256
        table += next(ch for bound, ch in bounds if position < bound).encode()
    return bytes(table)


TEXT_TABLE = text_table()


def log_line_pool(rng: random.Random) -> list[bytes]:
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    verbs = ["GET", "GET", "PUT", "POST", "DELETE"]
    paths = ["/api/v1/items", "/api/v1/users", "/static/app.js", "/healthz", "/api/v2/search",
             "/login", "/api/v1/orders"]
    pool = []
    for _ in range(4096):
        pool.append((
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z "
            f"{rng.choice(levels)} worker-{rng.randint(1, 32)} {rng.choice(verbs)} "
            f"{rng.choice(paths)}/{rng.randint(1, 99999)} status={rng.choice([200, 200, 200, 201, 304, 404, 500])} "
            f"bytes={rng.randint(0, 65535)} ms={rng.randint(1, 900)}\n").encode())
    return pool


class Writer:
    def __init__(self, root: str, seed: int):
        self.root = root
        self.rng = random.Random(seed)
        self.stream = RandomStream(seed, "bytes")
        self.log_pool = log_line_pool(random.Random(seed ^ 0x5EED))
        self.files = 0
        self.bytes = 0
        self._dirs: set[str] = set()

    def content(self, kind: str, size: int) -> bytes:
        if kind == "random":
            return self.stream.read(size)
        if kind == "text":
            return self.stream.read(size).translate(TEXT_TABLE)
        if kind == "log":
            avg = sum(len(x) for x in self.log_pool[:64]) // 64
            data = b"".join(self.rng.choices(self.log_pool, k=size // avg + 2))
            return data[:size]
        raise ValueError(kind)

    def write(self, rel: str, kind: str, size: int) -> None:
        path = os.path.join(self.root, rel)
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        with open(path, "wb") as f:
            # Large files go in pieces so memory stays small.
            left = size
            while left > 0:
                n = min(left, 16 * MIB)
                f.write(self.content(kind, n))
                left -= n
        self.files += 1
        self.bytes += size


def gen_a(w: Writer, scale: float) -> None:
    rng = w.rng
    n_small = round(9700 * scale)
    n_medium = round(300 * scale)
    n_large = 13
    for i in range(n_small):
        size = min(64 * KIB, int(rng.lognormvariate(math.log(3 * KIB), 0.8)))
        d = i % 100
        w.write(f"docs/d{d // 10}/s{d % 10}/note_{i:05d}.txt", "text", size)
    kinds = ["random", "text", "log"]
    for i in range(n_medium):
        size = int(math.exp(rng.uniform(math.log(100 * KIB), math.log(2 * MIB))))
        kind = kinds[i % 3]
        ext = {"random": "bin", "text": "md", "log": "log"}[kind]
        w.write(f"media/m{i % 10}/item_{i:04d}.{ext}", kind, size)
    # Large files fill the corpus up to 1 GiB (times the scale), each within 20-100 MiB (scaled).
    lo, hi = int(20 * MIB * scale), int(100 * MIB * scale)
    budget = int(1024 * MIB * scale) - w.bytes
    sizes = [rng.uniform(lo, hi) for _ in range(n_large)]
    factor = budget / sum(sizes)
    sizes = [int(min(hi, max(lo, s * factor))) for s in sizes]
    # Clamping moved the sum: spread what is missing (or extra) over the files that can take it.
    for _ in range(20):
        gap = budget - sum(sizes)
        movable = [i for i, s in enumerate(sizes) if (s < hi if gap > 0 else s > lo)]
        if abs(gap) < n_large or not movable:
            break
        share = gap // len(movable)
        for i in movable:
            sizes[i] = int(min(hi, max(lo, sizes[i] + share)))
    for i, size in enumerate(sizes):
        kind = "log" if i in (3, 9) else "random"
        w.write(f"large/blob_{i:02d}.{'log' if kind == 'log' else 'bin'}", kind, size)


def gen_b(w: Writer, scale: float) -> None:
    rng = w.rng
    n = round(100_000 * scale)
    per_dir = 100
    for i in range(n):
        leaf = i // per_dir
        size = rng.randint(0, 8 * KIB)
        kind = "random" if rng.random() < 1 / 3 else "text"
        w.write(f"b{leaf // 100:02d}/c{(leaf // 10) % 10}/d{leaf % 10}/f_{i:06d}.dat", kind, size)


def gen_s(w: Writer, scale: float) -> None:
    rng = w.rng
    n = round(1_000_000 * scale)
    for i in range(n):
        d = i * 1000 // n
        size = rng.randint(0, 2 * KIB)
        kind = "random" if rng.random() < 1 / 3 else "text"
        w.write(f"s{d // 100}/t{d % 100:02d}/f_{i:07d}.dat", kind, size)


def list_files(root: str, exclude: str | None) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root and exclude in dirnames:
            dirnames.remove(exclude)
        rel = os.path.relpath(dirpath, root)
        for name in filenames:
            out.append(name if rel == "." else os.path.join(rel, name))
    out.sort()
    return out


def cmd_gen(args) -> int:
    if os.path.exists(args.dir) and os.listdir(args.dir):
        print(f"corpus: {args.dir} is not empty", file=sys.stderr)
        return 2
    os.makedirs(args.dir, exist_ok=True)
    w = Writer(args.dir, args.seed)
    try:
        {"A": gen_a, "B": gen_b, "S": gen_s}[args.kind](w, args.scale)
    finally:
        w.stream.close()
    print(f"{w.files} {w.bytes}")
    return 0


def cmd_mutate(args) -> int:
    files = list_files(args.dir, args.exclude)
    rng = random.Random(f"hx-bench-mutate/{args.seed}/{args.run}")
    k = max(1, round(len(files) * args.fraction))
    picked = rng.sample(files, k)
    for rel in picked:
        path = os.path.join(args.dir, rel)
        size = os.path.getsize(path)
        patch = rng.randbytes(16)
        if size >= 64 and rng.random() < 0.5:
            offset = rng.randrange(0, size - 16)
            with open(path, "r+b") as f:
                f.seek(offset)
                f.write(patch)
        else:
            with open(path, "ab") as f:
                f.write(patch)
    print(f"{k}")
    return 0


def cmd_describe(args) -> int:
    files = list_files(args.dir, args.exclude)
    total = sum(os.path.getsize(os.path.join(args.dir, f)) for f in files)
    print(f"{len(files)} {total}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("kind", choices=["A", "B", "S"])
    g.add_argument("dir")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--scale", type=float, default=1.0)
    m = sub.add_parser("mutate")
    m.add_argument("dir")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--run", type=int, required=True)
    m.add_argument("--fraction", type=float, default=0.01)
    m.add_argument("--exclude", default=".hx")
    d = sub.add_parser("describe")
    d.add_argument("dir")
    d.add_argument("--exclude", default=".hx")
    args = p.parse_args()
    return {"gen": cmd_gen, "mutate": cmd_mutate, "describe": cmd_describe}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
