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

$PTY runs a command on a pseudo-terminal and types answers at its prompts:
`$PTY ANSWER... -- CMD...` answers each prompt (output that ends in ": "
with nothing after it) with the next ANSWER and a newline, then prints what
the terminal showed (CR LF as LF, trailing blanks cut) and exits with the
command's status. A prompt beyond the answers gets end of input (Ctrl-D).
"""
import os
import pty
import re
import select
import subprocess
import sys
import tempfile


def pty_run(argv):
    """The $PTY helper (see the module doc): deterministic, it answers a
    prompt only once the prompt is shown, and hx turns echo off first."""
    split = argv.index("--")
    answers, cmd = argv[:split], argv[split + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    shown, pending = b"", b""
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            shown += b"\n[pty: no output for 60 s, killed]\n"
            break
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        shown += data
        pending += data
        if pending.endswith(b": "):
            pending = b""
            os.write(fd, (answers.pop(0) + "\n").encode() if answers else b"\x04")
    _, status = os.waitpid(pid, 0)
    text = shown.decode("utf-8", "replace").replace("\r\n", "\n")
    for line in text.splitlines():
        print(line.rstrip())
    return os.waitstatus_to_exitcode(status)


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
        env["PTY"] = f"{sys.executable} {os.path.abspath(__file__)} --pty"
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
    if sys.argv[1] == "--pty":
        return pty_run(sys.argv[2:])
    hx, files = sys.argv[1], sys.argv[2:]
    failures = sum(run(hx, f) for f in files)
    print(f"{len(files)} transcript(s), {failures} failing command(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
