# --now-ms is a time from 0 to the end of the year 9999: anything else is a
# usage error (KC_SYNC_INPUT_INVALID, exit 2) on every command, before
# anything runs.

$ mkdir v && HX_PASSPHRASE=pw hx sync init v store --now-ms 1000 > /dev/null

$ hx sync status v --now-ms=-5
error: --now-ms: '-5' is not a time: give ms since the epoch, from 0 to 253402300799999 (the end of the year 9999), or leave out --now-ms to use the clock
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]

$ hx --json sync push v --now-ms 9223372036854775807 | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])'; echo "exit ${PIPESTATUS[0]}"
KC_SYNC_INPUT_INVALID
exit 2
$ hx --json sync pull v --now-ms 253402300800000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])'; echo "exit ${PIPESTATUS[0]}"
KC_SYNC_INPUT_INVALID
exit 2
$ hx --json lock add v docs --now-ms=-1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])'; echo "exit ${PIPESTATUS[0]}"
KC_SYNC_INPUT_INVALID
exit 2
$ hx --json envelope export v --now-ms=-1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])'; echo "exit ${PIPESTATUS[0]}"
KC_SYNC_INPUT_INVALID
exit 2
$ hx --json sync status v --now-ms soon | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])'; echo "exit ${PIPESTATUS[0]}"
KC_SYNC_INPUT_INVALID
exit 2

# The largest time accepted works.
$ hx sync status v --now-ms 253402300799999 > /dev/null

# A failed init leaves no folder it created behind: neither the store's nor
# the vault's (no passphrase: nothing can be created).
$ hx sync init new/vault new/store < /dev/null
error: a passphrase is needed: .* (re)
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Give the vault's passphrase: set HX_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked for it.
[exit 2]
$ ls -A
store
v

# Folders that were there before stay, even empty.
$ mkdir kept kept-store && hx sync init kept kept-store < /dev/null 2> /dev/null
[exit 2]
$ ls -A kept kept-store
kept:

kept-store:
