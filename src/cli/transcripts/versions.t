# The local history cache: each pull keeps the versions it replaces or
# deletes in <vault>/.hx/versions/ (never synced); hx sync versions lists
# them and hx sync restore --local brings one back — without the store.

$ mkdir laptop desktop && echo "plan v1" > laptop/plan.txt && echo "old" > laptop/gone.txt
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1796544000000 > /dev/null
$ HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1796544000000 > /dev/null
$ hx sync push laptop --now-ms 1796544060000 > /dev/null && hx sync pull desktop --now-ms 1796544120000 > /dev/null
$ echo "plan v2" > laptop/plan.txt && rm laptop/gone.txt
$ hx sync push laptop --now-ms 1796547600000 > /dev/null && hx sync pull desktop --now-ms 1796551200000 > /dev/null
$ cat desktop/plan.txt
plan v2

# What the pull replaced and deleted is in the cache; it is never pushed.
$ hx sync versions desktop
2026-12-06T10:00:00Z  gone.txt  4 bytes  .hx/versions/gone~20261206-100000.txt
2026-12-06T10:00:00Z  plan.txt  8 bytes  .hx/versions/plan~20261206-100000.txt
2 version(s), 12 bytes in this device's history cache (at most 1073741824 bytes)
restore one beside the current file with: hx sync restore <vault> PATH --local [--at TIME]
$ hx sync push desktop --now-ms 1796551260000
.*up to date.* (re)

# Offline (the store is gone): the old plan comes back beside the current one.
$ mv store store.away
$ hx sync restore desktop plan.txt --local
restored plan.txt (file) from this device's history cache: the version a pull replaced at 2026-12-06T10:00:00Z (.hx/versions/plan~20261206-100000.txt)
  to plan.txt (restored 2026-12-06 10.00.00): 8 bytes
  the next push publishes it like any new file
$ cat "desktop/plan.txt (restored 2026-12-06 10.00.00)" desktop/plan.txt
plan v1
plan v2
$ hx --json sync versions desktop plan.txt | python3 -c "import json,sys; r = json.load(sys.stdin); print(len(r['versions']), r['versions'][0]['path'], r['max_bytes'])"
1 plan.txt 1073741824

# The cap is a setting of this device (0: pulls keep nothing).
$ hx sync config desktop --versions-max-bytes 0
set: default merge policy none; history cache (.hx/versions) off
