# hx explain: why one path is as it is, and what to do next. It changes nothing.
# Every command gets the passphrase from HX_PASSPHRASE; --now-ms pins the clock.

$ mkdir laptop desktop && echo "plan" > laptop/plan.md
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null
$ HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1000 > /dev/null
$ hx sync push laptop --now-ms 2000 > /dev/null && hx sync pull desktop --now-ms 3000 > /dev/null

$ hx explain desktop plan.md --now-ms 4000
plan.md
  on disk:  file (unchanged since the last sync)
  local:    file, 5 bytes, content [0-9a-f]{8} — last changed by device [0-9a-f]{8} \(counter 1\) (re)
  base:     file, 5 bytes, content [0-9a-f]{8} — last changed by device [0-9a-f]{8} \(counter 1\) (re)
  remote:   file, 5 bytes, content [0-9a-f]{8} — last changed by device [0-9a-f]{8} \(counter 1\) (re)
  versions: this device and the store hold the same version
  decision: in sync: nothing to do
  next:     nothing

# Both devices change it: the planner sees concurrent changes.
$ echo "laptop edit" > laptop/plan.md && hx sync push laptop --now-ms 5000 > /dev/null
$ echo "desktop edit" > desktop/plan.md
$ hx explain desktop plan.md --now-ms 6000
plan.md
  on disk:  file (modified since the last sync)
  local:    file, 13 bytes, content [0-9a-f]{8} — last changed by this device \([0-9a-f]{8}\) \(counter 2\); includes the changes of device [0-9a-f]{8} up to 1 (re)
  base:     file, 5 bytes, content [0-9a-f]{8} — last changed by device [0-9a-f]{8} \(counter 1\) (re)
  remote:   file, 12 bytes, content [0-9a-f]{8} — last changed by device [0-9a-f]{8} \(counter 2\) (re)
  versions: each side has a change the other has not seen: concurrent changes
  decision: concurrent changes: a pull with policy none stops (KC_SYNC_CONFLICT) and applies nothing
  blocked:  conflict: this device and another changed plan.md concurrently
  next:     hx sync merge-preview .*/desktop --policy keep_both \(see what a policy would do, changing nothing\) (re)
  next:     hx sync pull .*/desktop --auto-merge keep_both \(or local_preferred, cloud_preferred\) (re)

$ hx --json explain desktop plan.md --now-ms 6000 --auto-merge keep_both | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["decision"], r["plan_action"], r["policy"], r["resolution"], r["relation"])'
conflict conflict keep_both kept_both concurrent

# Explaining changed nothing: the pull still stops on the conflict.
$ hx sync pull desktop --now-ms 7000 > /dev/null 2>&1
[exit 7]

# An ignored path names the .hxignore line that ignores it.
$ printf '# scratch files\n*.tmp\n' > desktop/.hxignore && echo x > desktop/notes.tmp
$ hx explain desktop notes.tmp --now-ms 8000 | grep -E 'decision|next'
  decision: not synced from this device: .hxignore line 2 (*.tmp) ignores it
  next:     remove or negate line 2 of .hxignore \(\*\.tmp\) if it should sync, then hx sync push .*/desktop (re)

# Paths outside the vault, or into .hx/, are refused.
$ hx explain desktop ../elsewhere
error: invalid path: it has a "." or ".." component; give a path relative to the vault folder, like docs/plan.md
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: .* (re)
[exit 2]
