# hx sync status: how far behind this device is, its last push and pull as
# local times with how long ago, and a last error that is never stale.
# TZ pins the local time zone; --now-ms the clock.

$ mkdir laptop desktop && HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1800000000000 > /dev/null && HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1800000000000 > /dev/null
$ echo a > laptop/a.txt && echo b > laptop/b.txt && hx sync push laptop --now-ms 1800000060000 > /dev/null
$ echo c > laptop/c.txt && rm laptop/a.txt && hx sync push laptop --now-ms 1800000120000 > /dev/null

# The desktop has not pulled: two snapshots with four file changes wait.
$ TZ=UTC hx sync status desktop --now-ms 1800000300000
vault:   .*/desktop \(device [0-9a-f]{8}\) (re)
target:  file://.*/store (re)
remote:  head 2 [0-9a-f]{12} (re)
base:    head - none
behind:  2 snapshots, 4 files (hx sync pull brings them in)
local:   0 added, 0 modified, 0 deleted
last push: never
last pull: never
agent: not running

$ hx --json sync status desktop --now-ms 1800000300000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["behind"])'
{'complete': True, 'files': 4, 'snapshots': 2}

# The laptop is up to date: no "behind" line; times are local, with "ago".
$ TZ=UTC hx sync status laptop --now-ms 1800000300000 | grep -E '^(behind|last)'
last push: 2027-01-15 08:02 (3 min ago)
last pull: never
$ TZ=Asia/Tokyo hx sync status laptop --now-ms 1800010920000 | grep '^last push'
last push: 2027-01-15 17:02 (3 h ago)
$ hx --json sync status laptop --now-ms 1800000300000 | python3 -c 'import json,sys; s=json.load(sys.stdin); print("behind" in s, s["last_push_ms"])'
False 1800000120000

# After the pull, nothing waits.
$ hx sync pull desktop --now-ms 1800000400000 > /dev/null && hx sync status desktop --now-ms 1800000400000 | grep -c '^behind'
0
[exit 1]

# An error before the store could be reached (the store moved) is recorded:
# status shows it as the last error, not an older one.
$ mv store store-moved && hx sync push laptop --now-ms 1800000500000 2>&1 | head -2
error: .*store.* (re)
  code: KC_SYNC_TARGET_INVALID (not_found)
$ mv store-moved store && hx sync status laptop --now-ms 1800000600000 | grep '^last error'
last error: KC_SYNC_TARGET_INVALID \(not_found\): .* (re)

# The next successful sync clears it.
$ hx sync push laptop --now-ms 1800000700000 > /dev/null && hx sync status laptop --now-ms 1800000700000 | grep -c '^last error'
0
[exit 1]

# Far behind: status reads at most 20 snapshots to count the files, and says
# when more are waiting.
$ for i in $(seq 1 22); do echo $i > laptop/n.txt; hx sync push laptop --now-ms $((1800001000000 + i * 1000)) > /dev/null || exit 1; done
$ hx sync status desktop --now-ms 1800002000000 | grep '^behind'
behind:  22 snapshots, at least 20 files (hx sync pull brings them in)
$ hx --json sync status desktop --now-ms 1800002000000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["behind"])'
{'complete': False, 'files': 20, 'snapshots': 22}
