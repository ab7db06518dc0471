# hx diag bundle: a support bundle without keys, passphrases, contents or file names.
# The bundle is a standard .tar.zst: zstd and tar open it.

$ mkdir v && echo "SECRET-CONTENT-77" > v/private-marker.txt && echo "pass-word-xyzzy" > pw.txt
$ hx sync init v store --passphrase-file pw.txt --now-ms 1000 > /dev/null
$ hx sync push v --now-ms 2000 > /dev/null && echo "more" > v/unpushed-marker.txt
$ hx --log-file hx.log sync status v --now-ms 2500 > /dev/null 2>&1; echo '{"level":"debug","msg":"scan","path":"private-marker.txt"}' >> hx.log

$ HX_PASSPHRASE=pass-word-xyzzy hx diag bundle v -o bundle.tar.zst --log hx.log --now-ms 3000
wrote .*/bundle.tar.zst \(\d+ bytes, 7 members; file names hashed\) (re)

$ zstd -dc bundle.tar.zst | tar -tf -
hx-diag/manifest.json
hx-diag/versions.json
hx-diag/config.json
hx-diag/status.json
hx-diag/store.json
hx-diag/index.json
hx-diag/logs/log-1.jsonl

# Neither the passphrase, the cached key, a file's contents nor its name is inside.
$ zstd -dc bundle.tar.zst > bundle.tar && grep -c -a -e pass-word-xyzzy -e SECRET-CONTENT -e marker bundle.tar
0
[exit 1]
$ python3 -c 'import sys; k=open("v/.hx/key","rb").read(); t=open("bundle.tar","rb").read(); print(len(k), k in t, k.hex().encode() in t)'
32 False False

# The index's health and the hashed names.
$ tar -xOf bundle.tar hx-diag/index.json | python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["integrity_check"], i["row_counts"]["base"])'
['ok'] 1
$ tar -xOf bundle.tar hx-diag/status.json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["local_changes"]["paths"][0][:5])'
name:

# --include-names keeps names (never contents).
$ hx diag bundle v -o named.tar.zst --include-names --now-ms 4000 > /dev/null && zstd -dc named.tar.zst | grep -c -a -e unpushed-marker
1
$ zstd -dc named.tar.zst | grep -c -a -e SECRET-CONTENT
0
[exit 1]

# Not a vault.
$ mkdir plain && hx diag bundle plain -o x.tar.zst
error: .*plain is not a vault \(no readable .hx/config.json\); run hx sync init, or give the vault folder (re)
  code: KC_SYNC_STATE_FAILED (not_found)
  path: .*plain/.hx/config.json (re)
  next: .* (re)
[exit 10]
