# hx sync conflicts: the vault's conflict artifacts (the store's and this
# device's), with their paths and state; --prune removes the resolved ones.

$ mkdir laptop desktop && HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null && HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1000 > /dev/null
$ hx sync conflicts desktop
no conflict artifacts

# The desktop pushes on a store that moved on: refused, an artifact written.
$ echo 1 > laptop/a.txt && hx sync push laptop --now-ms 2000 > /dev/null
$ echo 2 > desktop/b.txt && hx sync push desktop --now-ms 3000 > /dev/null 2>&1
[exit 7]

$ hx sync conflicts desktop
conflict_3000_[0-9a-f]{16}.json  open  store\+local  push_diverged, none: refused, remote head 1, device [0-9a-f]{8} (re)
    b.txt
1 artifact(s), 1 open

# The laptop sees the desktop's artifact in the store; only the desktop can
# say whether it is dealt with.
$ hx sync conflicts laptop
conflict_3000_[0-9a-f]{16}.json  unknown  store  push_diverged, none: refused, remote head 1, device [0-9a-f]{8} (re)
    b.txt
1 artifact(s), 0 open

# Once the desktop has pulled that head, its artifact is resolved.
$ hx sync pull desktop --now-ms 4000 > /dev/null
$ hx --json sync conflicts desktop | python3 -c 'import json,sys; r=json.load(sys.stdin); print([(c["state"], c["in_store"], c["local"], c["paths"]) for c in r["conflicts"]])'
[('resolved', True, True, ['b.txt'])]

$ hx sync conflicts desktop --prune
conflict_3000_[0-9a-f]{16}.json  resolved \(pruned\)  store\+local  push_diverged, none: refused, remote head 1, device [0-9a-f]{8} (re)
    b.txt
1 artifact(s), 0 open, 1 pruned
$ hx sync conflicts desktop
no conflict artifacts
$ ls store/conflicts desktop/.hx/conflicts
desktop/.hx/conflicts:

store/conflicts:

# A damaged artifact is listed with its problem and never pruned.
$ echo 3 > laptop/c.txt && hx sync push laptop --now-ms 5000 > /dev/null && echo 4 > desktop/d.txt && hx sync push desktop --now-ms 6000 > /dev/null 2>&1
[exit 7]
$ for f in store/conflicts/*; do echo '{}' > $f; done && hx sync conflicts laptop --prune
conflict_6000_[0-9a-f]{16}.json  unreadable  store  unreadable: .* (re)
1 artifact(s), 0 open, 0 pruned
$ ls store/conflicts | wc -l
1
