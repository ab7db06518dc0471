# What hx does with a command line people type from habit: --version, bare
# hx, typos, and the global flags after the command.

$ hx --version
hx 0.1.0 (store format 1)

$ hx version
hx 0.1.0 (store format 1)

$ hx --json --version
{"format_version":1,"version":"0.1.0"}

# Bare hx prints the help (exit 0), as git and kubectl do.
$ hx | head -3
hx keeps one folder identical across devices through a store you own
(a folder or an S3 bucket), end-to-end encrypted.
Usage: hx [OPTIONS] SUBCOMMAND

$ hx | grep -c '^  sync '
1

# A group without its command prints the group's help.
$ hx sync | grep -E '^  (push|pull|status) '
  status                      Show local changes and the store's state
  push                        Publish this folder's changes to the store
  pull                        Apply the store's changes to this folder

# An unknown command names itself and the closest existing command, at the
# level typed or anywhere in the tree.
$ hx log
error: unknown command 'log'; did you mean 'hx sync log'?
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Run 'hx --help' to see the commands.
[exit 2]

$ hx sync stauts
error: unknown command 'stauts'; did you mean 'hx sync status'?
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Run 'hx sync --help' to see the commands.
[exit 2]

$ hx --json sync pul
{"category":"invalid_input","code":"KC_SYNC_INPUT_INVALID","details":{},"message":"unknown command 'pul'; did you mean 'hx sync pull'?","retryable":false}
[exit 2]

# Nothing close: no guess.
$ hx frobnicate
error: unknown command 'frobnicate'
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Run 'hx --help' to see the commands.
[exit 2]

# The global flags work before or after the command.
$ mkdir v && HX_PASSPHRASE=pw hx sync init v store --now-ms 1000 > /dev/null
$ hx sync status v --json --now-ms 2000 | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["base_head_seq"], s["local_changes"]["added"])'
None 0
$ hx --json sync status v --now-ms 2000 | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["base_head_seq"], s["local_changes"]["added"])'
None 0
$ hx sync status v --quiet --now-ms 2000
$ echo x > v/a.txt && hx sync push v --progress=none -q --now-ms 3000
$ hx sync status v --now-ms 4000 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_head_seq"])'
1
