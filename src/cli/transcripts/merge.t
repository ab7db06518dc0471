# Merge preview (seed 002) and hx rpc: what a pull would merge, shown before
# anything changes. Every command gets the passphrase from HX_PASSPHRASE.

$ mkdir laptop desktop && echo plan > laptop/plan.md && echo notes > laptop/notes.md
$ export HX_PASSPHRASE=pw && hx sync init laptop store --now-ms 1000 > /dev/null && hx sync init desktop store --now-ms 1000 > /dev/null
$ hx sync push laptop --now-ms 2000 > /dev/null && hx sync pull desktop --now-ms 3000 > /dev/null

# The laptop changes plan.md, the desktop notes.md: disjoint, safe.
$ echo "laptop edit" > laptop/plan.md && hx sync push laptop --now-ms 4000 > /dev/null && echo "desktop edit" > desktop/notes.md
$ hx sync merge-preview desktop --now-ms 5000
policy conservative: safe to merge
local:   1 objects, 0 overlays changed
remote:  1 objects, 0 overlays changed
overlap: 0 objects, 0 overlays
reasons: safe_disjoint

# Object hashes are the BLAKE3 of the paths: the report is the same bytes on every run and device.
$ hx --json sync merge-preview desktop --now-ms 5000
{"decision_trace":["policy=conservative","local objects=1 overlays=0","remote objects=1 overlays=0","overlap objects=0 overlays=0","decision=safe"],"generated_at_ms":5000,"local":{"object_hashes":["749b9e0af8aba6d0c86c1b0614a2d8eb0edeea678f66d48e69a03c0da0b33719"],"overlay_ids":[]},"overlap":{"object_hashes":[],"overlay_ids":[]},"policy":"conservative","reasons":["safe_disjoint"],"remote":{"object_hashes":["e37653cda06929dc381d33b9643c9489bea7051815197d2a65d988769ccc079d"],"overlay_ids":[]},"safe":true,"schema_version":1}

$ printf plan.md | hx hash /dev/stdin | cut -c1-64
e37653cda06929dc381d33b9643c9489bea7051815197d2a65d988769ccc079d

# Now both changed plan.md: not safe; keep_both says what it would keep.
$ echo "desktop edit" > desktop/plan.md && hx sync merge-preview desktop --policy keep_both --now-ms 5000
policy keep_both: NOT safe to merge
local:   2 objects, 0 overlays changed
remote:  1 objects, 0 overlays changed
overlap: 1 objects, 0 overlays
reasons: unsafe_overlap_object
  kept_both: plan.md \(other version at plan \(conflict [0-9a-f]{8} [0-9a-f]{8}\)\.md\) (re)

$ hx --json sync merge-preview desktop --policy conservative_plus_v4 --now-ms 5000 | grep -o '"reasons":[^]]*]'
"reasons":["unsafe_object_overlap_v4"]

# A preview changes nothing.
$ cat desktop/plan.md && ls desktop
desktop edit
notes.md
plan.md

$ hx sync merge-preview desktop --policy yolo --now-ms 5000
error: unknown merge policy 'yolo'; use one of: none, conservative, conservative_plus_v2, conservative_plus_v3, conservative_plus_v4, keep_both, local_preferred, cloud_preferred, manual_per_item
  code: KC_SYNC_MERGE_POLICY_UNSUPPORTED (unsupported)
  policy: yolo
  next: .* (re)
[exit 8]

# hx rpc: JSON-RPC 2.0, one message per line. Results are the --json reports;
# errors carry the AppError; a notification (no id) gets no answer.
$ printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"sync_merge_preview","params":{"vault_path":"desktop","now_ms":5000,"policy":"conservative_plus_v2"}}' | hx rpc | grep -o '"id":1,"jsonrpc":"2.0","result":{"decision_trace":\["policy=conservative_plus_v2"'
"id":1,"jsonrpc":"2.0","result":{"decision_trace":["policy=conservative_plus_v2"

$ printf '%s\n' 'garbage' '{"jsonrpc":"2.0","id":2,"method":"nope"}' '[]' '{"jsonrpc":"2.0","method":"sync_status","params":{"vault_path":"desktop","now_ms":5000}}' '{"jsonrpc":"2.0","id":3,"method":"sync_status","params":{"now_ms":1}}' | hx rpc | grep -o '"code":-[0-9]*,\|"id":[^,]*,"jsonrpc'
"code":-32700,
"id":null,"jsonrpc
"code":-32601,
"id":2,"jsonrpc
"code":-32600,
"id":null,"jsonrpc
"code":-32602,
"id":3,"jsonrpc

# An overlong line (2 MB) is refused and the next line is still served.
$ { head -c 2000000 /dev/zero | tr '\0' 'x'; echo; echo '{"jsonrpc":"2.0","id":9,"method":"nope"}'; } | hx rpc | grep -o '"code":-[0-9]*'
"code":-32700
"code":-32601
