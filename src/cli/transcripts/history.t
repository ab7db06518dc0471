# hx sync log, restore, diff, verify: every push keeps a snapshot; these
# commands list them, bring back an older version (never over anything), and
# check that the store still holds everything they need.

$ mkdir laptop && echo "v1" > laptop/notes.txt && mkdir laptop/old && echo "keep me" > laptop/old/a.txt
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1796544000000 > /dev/null
$ hx sync push laptop --now-ms 1796544060000 > /dev/null && ls store/blobs/*/*/* > first-push-packs
$ echo "v2, longer" > laptop/notes.txt && hx sync push laptop --now-ms 1796544120000 > /dev/null
$ rm -r laptop/old && echo "v3" > laptop/notes.txt
$ hx sync push laptop --now-ms 1796544180000 --allow-mass-delete > /dev/null

# The snapshots, newest first, and the versions of one path.
$ hx sync log laptop
seq 3  [0-9a-f]{12}  2026-12-06T08:03:00Z  device [0-9a-f]{8}  \+0 ~1 -2  \(1 files, 3 bytes\) (re)
seq 2  [0-9a-f]{12}  2026-12-06T08:02:00Z  device [0-9a-f]{8}  \+0 ~1 -0  \(2 files, 19 bytes\) (re)
seq 1  [0-9a-f]{12}  2026-12-06T08:01:00Z  device [0-9a-f]{8}  \+3 ~0 -0  \(2 files, 11 bytes\) (re)
$ hx sync log laptop notes.txt --limit 2
seq 3  [0-9a-f]{12}  2026-12-06T08:03:00Z  device [0-9a-f]{8}  file  3 bytes  content [0-9a-f]{12} (re)
seq 2  [0-9a-f]{12}  2026-12-06T08:02:00Z  device [0-9a-f]{8}  file  11 bytes  content [0-9a-f]{12} (re)
more: --offset 2

# A version by time (the newest snapshot at or before it), beside the current file.
$ hx sync restore laptop notes.txt --at 2026-12-06T08:01:30
restored notes.txt \(file\) as it was in seq 1 [0-9a-f]{12} \(2026-12-06T08:01:00Z\) (re)
  to notes.txt (restored 2026-12-06 08.01.00): 1 file(s), 0 dir(s), 0 symlink(s), 3 bytes
  the next push publishes it like any new file
$ cat "laptop/notes.txt (restored 2026-12-06 08.01.00)" laptop/notes.txt
v1
v3

# A deleted directory comes back as it was just before its deletion.
$ hx sync restore laptop old
restored old \(dir\) as it was in seq 2 [0-9a-f]{12} \(2026-12-06T08:02:00Z\), the last version before seq 3 (re)
  to old (restored 2026-12-06 08.02.00): 1 file(s), 1 dir(s), 0 symlink(s), 8 bytes
  the next push publishes it like any new file
$ cat "laptop/old (restored 2026-12-06 08.02.00)/a.txt"
keep me

$ hx sync diff laptop '#1' '#3'
seq 1 [0-9a-f]{12} -> seq 3 [0-9a-f]{12}: 0 added, 1 modified, 2 deleted (re)
~ notes.txt
- old
- old/a.txt

$ hx sync restore laptop nothing.txt --at '#1'
error: nothing.txt is in no snapshot up to seq 1; 'hx sync log <vault> nothing.txt' lists its versions
  code: KC_SYNC_INPUT_INVALID (not_found)
  path: nothing.txt
  next: .* (re)
[exit 2]

# A whole store: every chunk read; the seed is reported so a subset can be read again.
$ hx sync verify laptop --read-data --now-ms 1796545000000
checked 3 snapshot\(s\), 5 tree\(s\), 4 chunk\(s\) in 3 pack\(s\) at file://.*/store (re)
requests: get=3 get_range=\d get_versioned=1 list=3 (re)
read 4 chunk\(s\) \(\d+ bytes\): 100% with seed \d+ \(repeat with --read-data=100 --seed \d+\) (re)
no damage found

# The first push's pack goes missing: verify names what it affects and exits 11.
$ rm $(cat first-push-packs)
$ hx --json sync verify laptop --now-ms 1796545000000 > report.json; echo "exit $?"
exit 11
$ python3 -c "import json; r = json.load(open('report.json')); print(r['ok'], r['affected_paths'], sorted({o['problem'] for o in r['damaged_objects']}), r['error']['code'])"
False ['/', 'old'] ['missing_pack'] KC_SYNC_VERIFY_DAMAGED

# This device's last synced state is #3: it holds neither the first snapshot's trees nor a file
# at old/a.txt any more, so repair names what it cannot put back and exits 11.
$ hx sync repair laptop --now-ms 1796545000000 > /dev/null 2> repair.err; echo "exit $?"
exit 11
$ grep -o 'code: KC_SYNC_[A-Z_]*' repair.err
code: KC_SYNC_VERIFY_DAMAGED
