# hx sync link: the first sync of a folder used on its own into an existing
# vault (seed 003). Nothing local is deleted; differing items follow --policy.

$ mkdir laptop old && echo same > laptop/same.txt && echo cloud > laptop/notes.txt && echo remote > laptop/only_remote.txt
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null && hx sync push laptop --now-ms 2000 > /dev/null
$ echo same > old/same.txt && echo local > old/notes.txt && echo mine > old/only_local.txt

# The preview lists new, changed and unchanged items and changes nothing.
$ HX_PASSPHRASE=pw hx sync link old store --dry-run --now-ms 3000
link preview of .*/old with file://.*/store \(local_preferred; nothing was changed\) (re)
  updated  notes.txt  (changed, local kept)  archived: .hx/archive/link-3000/notes.txt.cloud
  created  only_local.txt  (new_local)
  created  only_remote.txt  (new_remote)
  skipped  same.txt  (unchanged)
created 2, updated 1, skipped 1, conflicted 0, failed 0
$ ls -A old
notes.txt
only_local.txt
same.txt

# manual_per_item without a decisions file applies nothing (exit 7, KC_SYNC_CONFLICT).
$ HX_PASSPHRASE=pw hx --json sync link old store --policy manual_per_item --now-ms 4000 > r.json; echo "exit $?"; python3 -c 'import json; r=json.load(open("r.json")); print(r["outcome"], r["summary"], r["error"]["code"])'
exit 7
needs_decisions {'conflicted': 1, 'created': 0, 'failed': 0, 'skipped': 3, 'updated': 0} KC_SYNC_CONFLICT
$ cat old/notes.txt
local

# With a decision for every differing item the link completes.
$ echo '{"decisions":{"notes.txt":"remote"},"format_version":1}' > decisions.json
$ hx sync link old store --policy manual_per_item --decisions decisions.json --now-ms 5000
link of .*/old with file://.*/store \(manual_per_item\): linked (re)
  updated  notes.txt  (changed, cloud kept)  archived: .hx/archive/link-5000/notes.txt.local
  created  only_local.txt  (new_local)
  created  only_remote.txt  (new_remote)
  skipped  same.txt  (unchanged)
created 2, updated 1, skipped 1, conflicted 0, failed 0
report: .hx/reports/link_5000.json
next: hx sync push publishes this folder's additions
$ cat old/notes.txt old/.hx/archive/link-5000/notes.txt.local old/only_remote.txt
cloud
local
remote

# Push publishes the local additions; the other device converges.
$ hx sync push old --now-ms 6000 > /dev/null && hx sync pull laptop --now-ms 7000 > /dev/null && cat laptop/only_local.txt
mine

# A folder that is already synced is not linked again.
$ hx sync link old store --now-ms 8000
error: .*/old is already a synced vault; link is for a folder's first sync: use hx sync pull \(with --auto-merge\) instead (re)
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  path: .*/old (re)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]

# A store without a vault: link joins, it does not create.
$ mkdir empty fresh && echo x > fresh/x.txt && hx sync link fresh empty
error: the store at file://.*/empty holds no vault; link joins an existing vault: create one with hx sync init (re)
  code: KC_SYNC_TARGET_INVALID (not_found)
  target: file://.*/empty (re)
  next: Check the target URI: an absolute path, a valid bucket name, and no empty, '.' or '..' segments.
[exit 3]
$ ls -A fresh
x.txt

# Only the three first-sync policies.
$ hx --json sync link fresh store --policy keep_both
{"category":"unsupported","code":"KC_SYNC_MERGE_POLICY_UNSUPPORTED","details":{"policy":"keep_both"},"message":"hx sync link takes --policy local_preferred, cloud_preferred or manual_per_item, not keep_both","retryable":false}
[exit 8]
