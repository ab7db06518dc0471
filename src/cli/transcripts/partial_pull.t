# A pull that applies some items but not all prints its report, then its
# error block once, with a next step that names commands that exist.

$ mkdir laptop desktop && export HX_PASSPHRASE=pw && hx sync init laptop store --now-ms 1000 > /dev/null && hx sync init desktop store --now-ms 1000 > /dev/null
$ echo x > laptop/f.txt && echo y > laptop/g.txt && HX_PASSPHRASE=pw hx sync push laptop --now-ms 2000 > /dev/null

# Damage the one pack that holds both files.
$ for f in store/blobs/*/*/*; do printf 'garbage' | dd of=$f bs=1 seek=40 conv=notrunc 2>/dev/null; done

$ HX_PASSPHRASE=pw hx sync pull desktop --now-ms 3000
pulled head 1 [0-9a-f]{12}: 0 added, 0 modified, 0 deleted (re)
  failed: f.txt \(.*authentication failed.*\) (re)
  failed: g.txt \(.*authentication failed.*\) (re)
error: 2 item\(s\) could not be applied \(first: f.txt: .*\); the others were. .* (re)
  code: KC_SYNC_APPLY_FAILED (corrupt)
  failed: 2
  first_path: f.txt
  next: Run 'hx sync pull <vault>' again later for the items left; if a store object is damaged, 'hx sync verify <vault> --read-data' names it and 'hx sync repair <vault> --read-data' puts back what a device still has.
[exit 9]

# Once: one error line, one next line, stdout and stderr together.
$ HX_PASSPHRASE=pw hx sync pull desktop --now-ms 4000 2>&1 | grep -c -E '^error:|^  next:'
2

# --json: one document, the error inside it.
$ HX_PASSPHRASE=pw hx --json sync pull desktop --now-ms 5000 | python3 -c 'import json,sys; docs=sys.stdin.read().strip().splitlines(); print(len(docs), json.loads(docs[0])["error"]["code"])'
1 KC_SYNC_APPLY_FAILED
