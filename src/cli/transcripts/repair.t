# hx sync repair: a store that lost vault.json or head.json is repaired by any
# device that holds the vault's key; 'init' is never the answer.

$ mkdir laptop phone && echo "milk" > laptop/todo.txt
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null
$ HX_PASSPHRASE=pw hx sync init phone store --now-ms 1000 > /dev/null
$ hx sync push laptop --now-ms 2000 > /dev/null && hx sync pull phone --now-ms 3000 > /dev/null

# The store loses vault.json: every device says how to repair it.
$ cp store/vault.json saved.json && rm store/vault.json
$ hx sync pull phone --now-ms 4000
error: vault.json is missing from file://.*/store, the store of this vault \([0-9a-f]{32}\). Nothing was changed. Run 'hx sync repair' to write it back from this device's copy \(never 'hx sync init', which would create a new vault over the old data\) (re)
  code: KC_SYNC_STATE_FAILED (not_found)
  key: vault.json
  next: .* (re)
[exit 10]

# A new device cannot create a vault over the old data either.
$ HX_PASSPHRASE=pw hx sync init tablet store --now-ms 4000
error: the store at file://.*/store holds a vault's data \(head.json\) but no vault.json: it lost it. Run 'hx sync repair' on a device of that vault to write it back, then init here to join; nothing was created (re)
  code: KC_SYNC_STATE_FAILED (aborted)
  key: vault.json
  next: .* (re)
[exit 10]

# A device with the key writes back the very same bytes.
$ hx sync repair laptop --now-ms 5000
vault.json: written back from this device's copy
head.json: present \(seq 1, snapshot [0-9a-f]{16}\) (re)
objects: no damage found (1 chunk(s), 1 tree(s))
$ cmp store/vault.json saved.json && echo same
same
$ hx sync repair laptop --now-ms 5000
vault.json: present
head.json: present \(seq 1, snapshot [0-9a-f]{16}\) (re)
nothing to repair at file://.*/store (re)
objects: no damage found (1 chunk(s), 1 tree(s))

# The store loses head.json: an error with the repair hint, never "up to date".
$ rm store/head.json
$ hx sync push phone --now-ms 5500
error: the store at file://.*/store has no head.json, but this device synced snapshot [0-9a-f]{64} \(seq 1\) from it: the store lost its head \(deleted, or restored from an older backup\). Nothing was changed. Run 'hx sync repair' to publish this device's last synced snapshot as the head again (re)
  code: KC_SYNC_STATE_FAILED (not_found)
  base_head_seq: 1
  base_snapshot_id: [0-9a-f]{64} (re)
  key: head.json
  next: .* (re)
[exit 10]
$ hx sync repair phone --now-ms 6000
vault.json: present
head.json: published this device's last synced head again \(seq 1, snapshot [0-9a-f]{16}\) (re)
objects: no damage found (1 chunk(s), 1 tree(s))
$ hx --json sync repair phone --now-ms 6000
{"head":"ok","head_seq":1,"objects":{"error":null,"found":{.*"ok":true,.*},"objects_repaired":0,"packs_written":0,.*},"snapshot_id":"[0-9a-f]{64}","target":"file://.*/store","vault_json":"ok"} (re)

# Syncing goes on.
$ echo "eggs" >> laptop/todo.txt && hx sync push laptop --now-ms 8000 > /dev/null
$ hx sync pull phone --now-ms 9000 > /dev/null && cat phone/todo.txt
milk
eggs
