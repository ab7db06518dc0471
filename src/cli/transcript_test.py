#!/usr/bin/env python3
"""Runs CLI transcripts: text files that read like the user manual.

A transcript (src/cli/transcripts/*.t) is a sequence of commands and their
expected output:

    # Lines starting with '#' are comments.
    $ hx target check s3://bucket/photos --json
    {"bucket":"bucket",...}
    [exit 0]

Each '$ ' line runs in a shell (bash) whose PATH starts with the directory of
the hx under test, in a fresh temporary directory shared by the whole
transcript ($TMP). The expected block is compared with stdout and stderr
merged, exactly, line by line; a line ending in ' (re)' is a Python regular
expression that must match the whole line. '[exit N]' asserts the exit
status (default 0). Usage: transcript_test.py <hx binary> <file.t>...
"""
import os
import re
import subprocess
import sys
import tempfile


def parse(path):
    cases, current = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("$ "):
                current = {"cmd": line[2:], "out": [], "exit": 0, "line": lineno}
                cases.append(current)
            elif line.startswith("#") or (current is None and not line.strip()):
                continue
            elif current is None:
                raise SystemExit(f"{path}:{lineno}: output before any command")
            elif re.fullmatch(r"\[exit \d+\]", line):
                current["exit"] = int(line[6:-1])
            else:
                current["out"].append(line)
    for case in cases:  # blank lines at the end of a block separate commands
        while case["out"] and not case["out"][-1].strip():
            case["out"].pop()
    return cases


def matches(expected, actual):
    if len(expected) != len(actual):
        return False
    for e, a in zip(expected, actual):
        if e.endswith(" (re)"):
            if not re.fullmatch(e[:-5], a):
                return False
        elif e != a:
            return False
    return True


def run(hx, path):
    failures = 0
    with tempfile.TemporaryDirectory(prefix="hx-transcript-") as tmp:
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(os.path.abspath(hx)) + os.pathsep + env["PATH"]
        env["TMP"] = tmp
        env.pop("HX_PASSPHRASE", None)
        for case in parse(path):
            proc = subprocess.run(["bash", "-c", case["cmd"]], cwd=tmp, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=120)
            actual = proc.stdout.decode("utf-8", "replace").splitlines()
            if proc.returncode != case["exit"] or not matches(case["out"], actual):
                failures += 1
                print(f"{path}:{case['line']}: $ {case['cmd']}")
                print("  expected (exit %d):" % case["exit"])
                for line in case["out"]:
                    print("    " + line)
                print("  actual (exit %d):" % proc.returncode)
                for line in actual:
                    print("    " + line)
    return failures


def main():
    hx, files = sys.argv[1], sys.argv[2:]
    failures = sum(run(hx, f) for f in files)
    print(f"{len(files)} transcript(s), {failures} failing command(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
