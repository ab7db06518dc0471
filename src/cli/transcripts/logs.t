# The log (issue 13): JSON lines, one correlation id per command, carried by
# every line (store calls and errors included); secrets, passphrases and file
# contents never logged, file names only at debug level.

$ mkdir v w && echo "marker-content-7f3a" > v/diary-secret-name.txt && echo "pass-phrase-99c1" > pw.txt
$ printf '%s\n' 'import json, sys' 'lines = [json.loads(l) for l in open(sys.argv[1])]' 'cids = list(dict.fromkeys(l["cid"] for l in lines))' 'print(len(lines) > 3, "commands:", len(cids), all(len(c) == 16 for c in cids))' 'for c in cids: print(" ".join(l["event"] for l in lines if l["cid"] == c and l["level"] != "debug"))' 'text = open(sys.argv[1]).read()' 'for word in sys.argv[2:]: print(word, "absent" if word not in text else "PRESENT")' > check.py

# Debug level: every line JSON with its command's id, no passphrase, no
# content; the file name may appear (debug is where names go).
$ hx sync init v store --now-ms 1000 --passphrase-file pw.txt --log-file debug.jsonl --log-level debug > /dev/null
$ hx sync push v --now-ms 2000 --log-file debug.jsonl --log-level debug > /dev/null
$ hx sync init w store --now-ms 3000 --passphrase-file pw.txt --log-file debug.jsonl --log-level debug > /dev/null
$ hx sync pull w --now-ms 4000 --log-file debug.jsonl --log-level debug > /dev/null
$ python3 check.py debug.jsonl pass-phrase-99c1 marker-content-7f3a
True commands: 4 True
command.start command.end
command.start push.start push.end command.end
command.start command.end
command.start pull.start pull.end command.end
pass-phrase-99c1 absent
marker-content-7f3a absent
$ grep -c '"path":"diary-secret-name.txt"' debug.jsonl
1

# Info level (the default with --log-file): no file name either, not even in
# an error; HX_LOG sets the level when --log-level is not given.
$ echo changed > v/diary-secret-name.txt && hx sync push v --now-ms 5000 --log-file info.jsonl > /dev/null
$ echo other > w/diary-secret-name.txt && HX_LOG=info hx sync push w --now-ms 6000 --log-file info.jsonl
error: the store has changes this device has not pulled (head 2); nothing was published. Run 'hx sync pull', then push again
  code: KC_SYNC_CONFLICT (conflict)
  artifact: conflicts/conflict_6000_[0-9a-f]{16}.json (re)
  local_artifact: .*/w/.hx/conflicts/conflict_6000_[0-9a-f]{16}.json (re)
  path_count: 1
  paths: diary-secret-name.txt
  next: Run 'hx sync pull <vault>' to bring in the other devices' changes, then push again.
[exit 7]
$ python3 check.py info.jsonl diary-secret-name marker-content-7f3a changed
True commands: 2 True
command.start push.start push.end command.end
command.start push.start push.failed command.failed command.end
diary-secret-name absent
marker-content-7f3a absent
changed absent
$ grep -c '"code":"KC_SYNC_CONFLICT"' info.jsonl
2

# Without --log-file or a level, nothing is logged; a bad level or file is a
# usage error.
$ hx sync status v --log-level loud
error: unknown log level 'loud'; use trace, debug, info, warn, error or off
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
$ hx sync status v --log-file /dev/null/hx.log
error: cannot open the log file /dev/null/hx.log: Not a directory; give a writable path to --log-file
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
