# Merge policies: two devices change the same file; --auto-merge (or the
# vault's default) decides what happens. Every policy keeps both versions
# somewhere: under a conflict name, or in .hx/archive/.

$ mkdir laptop desktop && echo "v1" > laptop/report.txt
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null
$ HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1000 --auto-merge keep_both
joined vault [0-9a-f]{32} at file://.*/store \(encrypted\) (re)
this device: [0-9a-f]{32} (re)

# The default policy is a setting of this device's copy of the vault.
$ hx sync config desktop
unchanged: default merge policy keep_both; history cache (.hx/versions) at most 1073741824 bytes
$ hx sync config desktop --auto-merge none
set: default merge policy none; history cache (.hx/versions) at most 1073741824 bytes
$ hx sync config desktop --auto-merge bogus
error: unknown merge policy 'bogus'; use one of: none, conservative, conservative_plus_v2, conservative_plus_v3, conservative_plus_v4, keep_both, local_preferred, cloud_preferred, manual_per_item
  code: KC_SYNC_MERGE_POLICY_UNSUPPORTED (unsupported)
  policy: bogus
  next: Use one of: none, conservative, conservative_plus_v2, conservative_plus_v3, conservative_plus_v4, keep_both, local_preferred, cloud_preferred, manual_per_item.
[exit 8]

$ hx sync push laptop --now-ms 2000 > /dev/null && hx sync pull desktop --now-ms 3000 > /dev/null
$ echo "laptop" > laptop/report.txt && hx sync push laptop --now-ms 4000 > /dev/null
$ echo "desktop" > desktop/report.txt

# none (the default): nothing applied, a conflict artifact.
$ hx sync pull desktop --now-ms 5000
error: both this device and the store changed report.txt; nothing was applied. Resolve by hand, or pull with --auto-merge <policy>
  code: KC_SYNC_CONFLICT (conflict)
  artifact: conflicts/conflict_5000_[0-9a-f]{16}.json (re)
  local_artifact: .*/desktop/.hx/conflicts/conflict_5000_[0-9a-f]{16}.json (re)
  path_count: 1
  paths: report.txt
  next: Both sides changed; list the paths with 'hx sync conflicts', then pull with --auto-merge <policy> or resolve them by hand.
[exit 7]

# conservative merges only disjoint changes.
$ hx sync pull desktop --auto-merge conservative --now-ms 5500 2>&1 | head -2
error: conservative merge refused: 1 object\(s\) and 0 overlay\(s\) changed on both sides; .*; nothing was applied (re)
  code: KC_SYNC_MERGE_NOT_SAFE (conflict)

# manual_per_item applies nothing until every conflicting path has a decision.
$ hx sync pull desktop --auto-merge manual_per_item --now-ms 6000 2>&1 | head -1
error: manual_per_item needs a decision for report.txt; nothing was applied. Write a decisions file naming "local", "remote" or "both" for each path and pull again with --decisions <file>
$ echo '{"format_version":1,"decisions":{"other.txt":"local"}}' > wrong.json
$ hx sync pull desktop --auto-merge manual_per_item --decisions wrong.json --now-ms 6500 2>&1 | head -2
error: the decisions file does not match the conflicts: no decision for report.txt; not in conflict: other.txt; nothing was applied. Name exactly the conflicting paths and pull again
  code: KC_SYNC_MERGE_PRECONDITION_FAILED (invalid_input)
$ cat desktop/report.txt
desktop

# "remote" takes the store's version; this device's goes to the archive.
$ echo '{"format_version":1,"decisions":{"report.txt":"remote"}}' > decisions.json
$ hx sync pull desktop --auto-merge manual_per_item --decisions decisions.json --now-ms 7000
pulled head 2 [0-9a-f]{12}: 0 added, 1 modified, 0 deleted (re)
  manual_per_item: report.txt kept_remote, other version archived at .hx/archive/pull-[0-9a-f]{16}-local/report.txt (re)
$ cat desktop/report.txt desktop/.hx/archive/pull-*-local/report.txt
laptop
desktop

# keep_both on push: the store moved on, so the push merges first (both
# versions kept, the loser under a name built from ids), then publishes.
$ echo "laptop again" > laptop/report.txt && hx sync push laptop --now-ms 8000 > /dev/null
$ echo "desktop again" > desktop/report.txt
$ hx sync push desktop --now-ms 9000 2>&1 | head -1
error: the store has changes this device has not pulled (head 3); nothing was published. Run 'hx sync pull', then push again
$ hx --json sync push desktop --auto-merge keep_both --now-ms 10000 | python3 -c 'import json,sys; r=json.load(sys.stdin); m=r["merged"]; print(r["outcome"], r["policy"], [(x["path"], x["decision"], x["renamed_to"]) for x in m["resolutions"]])'
published keep_both \[\('report.txt', 'kept_both', 'report \(conflict [0-9a-f]{8} [0-9a-f]{8}\).txt'\)\] (re)
$ hx sync pull laptop --now-ms 11000 > /dev/null && ls laptop && cat laptop/report*.txt | sort
report \(conflict [0-9a-f]{8} [0-9a-f]{8}\)\.txt (re)
report.txt
desktop again
laptop again
