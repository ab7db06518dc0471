# Governance: path locks and device roles, shared through the store.
# Every command gets the passphrase from HX_PASSPHRASE; --now-ms pins the clock.

$ mkdir laptop desktop && echo "plan" > laptop/plan.md
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null
$ HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1000 > /dev/null
$ hx sync push laptop --now-ms 2000 > /dev/null && hx sync pull desktop --now-ms 3000 > /dev/null

# A lock reserves a path (a directory: everything beneath it) for a while.
$ hx lock add laptop docs/ --ttl-ms 3600000 --now-ms 10000
locked docs until 1970-01-01T01:00:10Z

$ hx lock list desktop --now-ms 20000
docs  [0-9a-f]{32}  until 1970-01-01T01:00:10Z (re)

$ hx --json lock list laptop --now-ms 20000 | sed 's/[0-9a-f]\{32\}/NODE/g'
{"damaged":[],"locks":[{"active":true,"created_ms":10000,"expires_ms":3610000,"mine":true,"owner":"NODE","path":"docs"}],"node_id":"NODE"}

# The store never sees the path: the lock is named by a keyed hash.
$ ls store/locks/paths | grep -c '^[0-9a-f]\{64\}\.hxlock$' && ! grep -rl docs store
1

# Another device cannot take it, nor remove it without --force.
$ hx lock add desktop docs/readme.md --now-ms 20000 > /dev/null && hx lock add desktop docs --now-ms 20000
error: path docs is locked by device [0-9a-f]{32} until 1970-01-01T01:00:10Z; ask that device to remove it, or wait until it expires (re)
  code: KC_SYNC_LOCKED (locked)
  expires_ms: 3610000
  key: locks/paths/[0-9a-f]{64}.hxlock (re)
  owner: [0-9a-f]{32} (re)
  path: docs
  next: .* (re)
[exit 6]

$ hx lock remove desktop docs --now-ms 20000 2>&1 | head -1
error: path docs is locked by device [0-9a-f]{32} until 1970-01-01T01:00:10Z; ask that device to remove it, or remove it anyway with --force (re)

$ hx lock remove desktop docs --force --now-ms 20000
unlocked docs \(held by [0-9a-f]{32}\) (re)

$ hx lock remove desktop docs/readme.md --now-ms 20000 && hx lock list laptop --now-ms 20000
unlocked docs/readme.md
no path locks

# Paths outside the vault, or into .hx/, cannot be locked.
$ hx lock add laptop ../elsewhere --now-ms 20000
error: invalid lock path: it has a "." or ".." component; give a path relative to the vault folder, like docs/plan.md
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: .* (re)
[exit 2]

# Every device is a writer until a writer says otherwise.
$ hx --json member list laptop | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["seq"], sorted((m["role"], m["listed"], m["this_device"]) for m in r["members"]))'
0 [('writer', False, False), ('writer', False, True)]

# The laptop makes the desktop a reader (a unique prefix of its id is enough).
$ for d in laptop desktop; do hx --json sync status $d | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_id"])' > $d.id; done
$ hx member set-role laptop $(cut -c1-8 desktop.id) reader --now-ms 30000 | grep "^$(cat desktop.id)"
[0-9a-f]{32}  reader (re)

# A reader cannot push, and is told who can change that.
$ echo "idea" > desktop/idea.md && hx sync push desktop --now-ms 40000
error: this device \([0-9a-f]{32}\) is a reader of this vault and cannot push; a writer device can make it a writer with `hx member set-role <vault> [0-9a-f]{32} writer` (re)
  code: KC_SYNC_AUTH_FAILED (auth)
  node_id: [0-9a-f]{32} (re)
  role: reader
  next: .* (re)
[exit 4]

# Nor lock paths or promote itself.
$ hx lock add desktop idea.md --now-ms 40000 > /dev/null 2>&1; echo $?
4
$ hx member set-role desktop $(cut -c1-8 desktop.id) writer --now-ms 40000 > /dev/null 2>&1; echo $?
4

# A writer can make it a writer again; then it pushes.
$ hx member set-role laptop $(cut -c1-8 desktop.id) writer --now-ms 50000 > /dev/null && hx sync push desktop --now-ms 60000
pushed 1 added, 0 modified, 0 deleted as head 2 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)

# The last writer cannot demote itself: nobody could undo it.
$ hx member set-role desktop $(cut -c1-8 desktop.id) reader --now-ms 70000 > /dev/null && hx member set-role laptop $(cat laptop.id) reader --now-ms 70000
error: this change would leave the vault without a writer, and only a writer can change roles; make another device a writer first
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: .* (re)
[exit 2]

# Locks matter to the conservative_plus policies: the laptop holds docs/, the
# desktop wrote beneath it; a pull that would auto-merge refuses and applies nothing.
$ hx lock add laptop docs --now-ms 80000 > /dev/null && echo "x" > laptop/other.txt && hx sync pull laptop --now-ms 80000 > /dev/null && hx sync push laptop --now-ms 81000 > /dev/null
$ mkdir -p desktop/docs && echo "n" > desktop/docs/notes.md && hx sync pull desktop --auto-merge conservative_plus_v2 --now-ms 82000
error: conservative_plus_v2 merge refused: 1 locally changed path\(s\) are locked by another device; wait for the lock to expire or ask its owner to remove it \(`hx lock list`\); nothing was applied (re)
  code: KC_SYNC_MERGE_LOCK_CONFLICT (conflict)
  artifact: conflicts/conflict_82000_[0-9a-f]{16}.json (re)
  first_object_hash: [0-9a-f]{64} (re)
  local_artifact: .*/desktop/.hx/conflicts/conflict_82000_[0-9a-f]{16}.json (re)
  lock_conflicts: 1
  path_count: 2
  paths: docs, docs/notes.md
  policy: conservative_plus_v2
  next: .* (re)
[exit 8]

# other.txt was not pulled.
$ ls desktop
docs
idea.md
plan.md
