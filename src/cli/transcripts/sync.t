# hx sync: two devices keep one folder in sync through a folder store.
# Every command gets the passphrase from HX_PASSPHRASE; --now-ms pins the clock.

$ mkdir laptop desktop && echo "milk, eggs" > laptop/todo.txt
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000
created vault [0-9a-f]{32} at file://.*/store \(encrypted\) (re)
this device: [0-9a-f]{32} (re)

$ HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1000
joined vault [0-9a-f]{32} at file://.*/store \(encrypted\) (re)
this device: [0-9a-f]{32} (re)

# Initializing again with the same target is harmless.
$ hx sync init laptop store
.*/laptop is already a vault of file://.*/store (re)

$ hx sync push laptop --now-ms 2000
pushed 1 added, 0 modified, 0 deleted as head 1 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)

$ hx sync pull desktop --now-ms 3000
pulled head 1 [0-9a-f]{12}: 1 added, 0 modified, 0 deleted (re)
$ cat desktop/todo.txt
milk, eggs

# Nothing new: both commands say so.
$ hx sync push desktop --now-ms 4000
up to date (head 1)
$ hx sync pull desktop --now-ms 4000
up to date (head 1)

# The store moved on: a push from a device that has not pulled is refused.
$ echo "milk, eggs, bread" > laptop/todo.txt && hx sync push laptop --now-ms 5000 > /dev/null
$ echo "tea" > desktop/tea.txt && hx sync push desktop --now-ms 6000
error: the store has changes this device has not pulled (head 2); nothing was published. Run 'hx sync pull', then push again
  code: KC_SYNC_CONFLICT (conflict)
  artifact: conflicts/conflict_6000_[0-9a-f]{16}.json (re)
  local_artifact: .*/desktop/.hx/conflicts/conflict_6000_[0-9a-f]{16}.json (re)
  path_count: 1
  paths: tea.txt
  next: Run 'hx sync pull <vault>' to bring in the other devices' changes, then push again.
[exit 7]

$ hx sync pull desktop --now-ms 7000 && hx sync push desktop --now-ms 8000
pulled head 2 [0-9a-f]{12}: 0 added, 1 modified, 0 deleted (re)
pushed 1 added, 0 modified, 0 deleted as head 3 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)

# Machines read JSON: status of the laptop, which is one head behind.
$ hx --json sync status laptop | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["base_head_seq"], s["remote_head_seq"], s["local_changes"]["modified"], s["last_push_ms"])'
2 3 0 5000

# A target other than the one given at init is refused.
$ hx sync push laptop /elsewhere
error: this vault syncs with file://.*/store, not file:///elsewhere; omit the target or pass the one given at init (re)
  code: KC_SYNC_TARGET_INVALID (invalid_input)
  expected: file://.*/store (re)
  given: file:///elsewhere
  next: Leave out the target (the vault remembers its own), or give the one shown as 'expected'.
[exit 3]

# Unknown schemes are unsupported.
$ HX_PASSPHRASE=pw hx --json sync init other ftp://host/x
{"category":"unsupported","code":"KC_SYNC_TARGET_UNSUPPORTED",.*} (re)
[exit 3]

# A wrong passphrase opens nothing and creates nothing.
$ mkdir third && HX_PASSPHRASE=wrong hx sync init third store
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]
$ ls -A third

# A folder that is not a vault yet.
$ mkdir fresh && hx sync push fresh
error: .*/fresh is not an hx vault yet: run hx sync init .*/fresh <target> (re)
  code: KC_SYNC_STATE_FAILED (not_found)
  path: .*/fresh (re)
  next: Make the folder a vault first: 'hx sync init <vault> <target>' (a new or empty folder), or 'hx sync link <vault> <target>' (a folder whose files should join an existing vault).
[exit 10]
