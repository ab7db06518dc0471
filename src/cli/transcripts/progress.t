# Progress, the store usage summary and --quiet (issue 13). Progress goes to
# stderr: a line redrawn on a terminal and erased at the end, nothing when
# stderr is not a terminal, JSON lines with --progress=json. `script` runs hx
# on a pseudo-terminal; PTY_SCREEN shows which phases were drawn and what
# stays on the screen once every drawn line was erased.

# big.bin is 2 MB of seeded pseudo-random bytes. Its chunk cuts still differ
# from run to run: the chunker's gear table is keyed by the vault's own random
# key, so what a one-line append re-uploads (the last chunk) is anywhere from
# ~100 kB to the whole file. The summary is checked for its shape, kB or MB.
$ mkdir v w && python3 -c 'import random; random.seed(4); open("v/big.bin", "wb").write(random.randbytes(2000000))' && echo hello > v/a.txt
$ HX_PASSPHRASE=pw hx sync init v store --now-ms 1000 > /dev/null && HX_PASSPHRASE=pw hx sync init w store --now-ms 1000 > /dev/null
$ printf '%s\n' 'import re, sys' 'raw = open(sys.argv[1], "rb").read().decode()' 'drawn = re.findall(r"\r([a-z]+) [^\r\x1b]*\x1b\[K", raw)' 'print("drawn:", ",".join(dict.fromkeys(drawn)) or "nothing")' 'left = re.sub(r"\r[^\r\n]*\x1b\[K", "", raw).replace("\r\n", "\n")' 'print(left, end="")' > screen.py

# Piped (not a terminal): the report only, no progress.
$ hx sync push v --now-ms 2000 2>&1 | cat
pushed 2 added, 0 modified, 0 deleted as head 1 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)

# On a terminal: the phases are drawn on one line, erased, then the store
# usage summary and the report.
$ echo more >> v/big.bin && script -qec "hx sync push v --now-ms 3000" /dev/null > push.pty && python3 screen.py push.pty
drawn: scan,hash,upload
store: \d+ requests \(GET \d+, PUT \d+, DELETE 1\), [\d.]+ [kM]B up, \d+ B down (re)
pushed 0 added, 1 modified, 0 deleted as head 2 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)

$ script -qec "hx sync pull w --now-ms 4000" /dev/null > pull.pty && python3 screen.py pull.pty
drawn: scan,download,apply
store: \d+ requests \(GET \d+, PUT 1\), \d+ B up, 2\.0 MB down (re)
pulled head 2 [0-9a-f]{12}: 2 added, 0 modified, 0 deleted (re)

# --quiet: nothing but errors, on a terminal too.
$ echo again >> v/a.txt && script -qec "hx sync push v --now-ms 5000 --quiet" /dev/null > quiet.pty && python3 screen.py quiet.pty
drawn: nothing
$ script -qec "hx --quiet sync push w --now-ms 5000 /elsewhere" /dev/null > quiet_error.pty; python3 screen.py quiet_error.pty
drawn: nothing
error: this vault syncs with file://.*/store, not file:///elsewhere; omit the target or pass the one given at init (re)
  code: KC_SYNC_TARGET_INVALID (invalid_input)
  expected: file://.*/store (re)
  given: file:///elsewhere
  next: Leave out the target (the vault remembers its own), or give the one shown as 'expected'.

# --progress=json: JSON lines on stderr (stdout keeps the report), a line at
# every phase change, and a last "done" line with the store usage.
$ echo third >> v/a.txt && hx sync push v --now-ms 6000 --progress=json 2> progress.jsonl
pushed 0 added, 1 modified, 0 deleted as head 4 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)
$ python3 -c 'import json; lines = [json.loads(l) for l in open("progress.jsonl")]; print(list(dict.fromkeys(l["type"] + ":" + l.get("phase", "") for l in lines))); u = lines[-1]["store_usage"]; print(u["requests_total"] == sum(u["requests"].values()), u["bytes_up"] > 0, u["estimated_cost_usd"])'
['progress:scan', 'progress:hash', 'progress:upload', 'done:']
True True None
$ hx sync pull w --now-ms 7000 --progress=json 2>&1 >/dev/null | python3 -c 'import json, sys; print(list(dict.fromkeys(json.loads(l)["type"] + ":" + json.loads(l).get("phase", "") for l in sys.stdin)))'
['progress:scan', 'progress:download', 'progress:apply', 'done:']

# The report's JSON carries the usage; a folder store is not priced.
$ echo fourth >> v/a.txt && hx --json sync push v --now-ms 8000 | python3 -c 'import json, sys; u = json.load(sys.stdin)["store_usage"]; print(sorted(u["requests"]), u["prices"], u["estimated_cost_usd"])'
['DELETE', 'GET', 'HEAD', 'LIST', 'POST', 'PUT'] None None

# Unknown values are usage errors.
$ hx sync push v --progress=fancy
error: --progress: fancy not in {auto,json,none}
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
