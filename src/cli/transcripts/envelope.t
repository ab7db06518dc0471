# hx envelope: a folder's items as the versioned JSON envelope of seed 003.
# export is canonical (the same folder gives the same bytes); diff is a dry
# run; apply follows a policy and archives every losing version.

$ mkdir src dst && printf 'hello' > src/a.txt && mkdir src/docs && printf 'envelope version' > src/docs/n.txt
$ touch -d '2026-02-12 07:55:00Z' src/a.txt src/docs/n.txt src/docs
$ mkdir dst/docs && printf 'local version' > dst/docs/n.txt && printf 'mine' > dst/mine.txt

$ hx envelope export src --now-ms 1770883200000
{"exported_utc":"2026-02-12T08:00:00Z","items":[{"content":{"data":"aGVsbG8=","executable":false},"content_hash":"sha256:c092ceecea44a6dee82b233c4eee3144a282302564395063877abf19ba9823e2","item_id":"a.txt","item_type":"file","updated_utc":"2026-02-12T07:55:00Z"},{"content":{},"content_hash":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","item_id":"docs","item_type":"directory","updated_utc":"2026-02-12T07:55:00Z"},{"content":{"data":"ZW52ZWxvcGUgdmVyc2lvbg==","executable":false},"content_hash":"sha256:0bdc3db1e69c63cbd50030d75347e1d2b3b365fd65153d457b366aa30b0a7c50","item_id":"docs/n.txt","item_type":"file","updated_utc":"2026-02-12T07:55:00Z"}],"schema_version":"1.0.0","source":{"app_version":"0.1.0","device_id":"unlinked","kind":"hx"}}

$ hx envelope export src --now-ms 1770883200000 --out e.json && hx envelope export src --now-ms 1770883200000 --out again.json && cmp e.json again.json && echo identical
exported 3 item\(s\), 773 bytes, to .*/e.json (re)
exported 3 item\(s\), 773 bytes, to .*/again.json (re)
identical

# The diff writes nothing.
$ hx envelope diff dst e.json
envelope from hx unlinked \(2026-02-12T08:00:00Z\) against .*/dst \(nothing was changed\) (re)
  new  a.txt (file)
  conflict  docs/n.txt (file)
new 1, changed 0, conflicts 1, unchanged 1, only here 1
$ ls -A dst
docs
mine.txt

# manual_per_item applies nothing until every conflict has a decision (exit 7).
$ hx envelope apply dst e.json --policy manual_per_item --now-ms 8000
envelope apply to .*/dst \(manual_per_item\): needs_decisions (re)
  skipped  a.txt  (new)
  skipped  docs  (unchanged)
  conflicted  docs/n.txt  (conflict)
created 0, updated 0, skipped 2, conflicted 1, failed 0
report: .hx/reports/envelope_apply_8000.json
error: 1 item(s) differ between the envelope and the folder and have no decision; nothing was applied. Name a choice for each in a decisions file and apply again with --decisions FILE
  code: KC_SYNC_CONFLICT (conflict)
  conflicted: 1
  next: .* (re)
[exit 7]

# cloud_preferred: the envelope's version wins, the folder's is archived.
$ hx envelope apply dst e.json --policy cloud_preferred --now-ms 9000
envelope apply to .*/dst \(cloud_preferred\): applied (re)
  created  a.txt  (new)
  skipped  docs  (unchanged)
  updated  docs/n.txt  (conflict, cloud kept)  archived: .hx/archive/envelope-9000/docs/n.txt.local
created 1, updated 1, skipped 1, conflicted 0, failed 0
report: .hx/reports/envelope_apply_9000.json
$ cat dst/docs/n.txt && echo && cat dst/.hx/archive/envelope-9000/docs/n.txt.local && echo && cat dst/mine.txt
envelope version
local version
mine

# An unknown schema_version is refused with a migration hint.
$ sed 's/"schema_version":"1.0.0"/"schema_version":"2.0.0"/' e.json > newer.json && hx envelope diff dst newer.json
error: newer.json: envelope schema_version "2.0.0" is not supported (this hx reads 1.0.0); it was written by a newer tool: upgrade hx to a version that reads schema 2.0.0, or export it again as schema 1.0.0
  code: KC_SYNC_INPUT_INVALID (unsupported)
  path: newer.json
  schema_version: 2.0.0
  supported: 1.0.0
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]

# A content_hash that does not match its content fails that item; it is never written.
$ sed 's/"data":"aGVsbG8="/"data":"aGVsbG9v"/' e.json > tampered.json && mkdir clean && hx --json envelope apply clean tampered.json --policy local_preferred --now-ms 9500 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["outcome"], r["summary"], [(i["item_id"], i["status"]) for i in r["items"]])'
partial {'conflicted': 0, 'created': 2, 'failed': 1, 'skipped': 0, 'updated': 0} [('a.txt', 'failed'), ('docs', 'created'), ('docs/n.txt', 'created')]
$ ls -A clean
.hx
docs
