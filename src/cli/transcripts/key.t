# The passphrase at the prompt, hx key change-passphrase, and a device with a
# cached key given a passphrase that does not open the vault (issue 13).
# $PTY runs hx on a pseudo-terminal and types the answers at its prompts
# (transcript_test.py); hx turns echo off before it shows a prompt, so no
# answer appears on the screen.

# Creating a vault at the prompt asks twice; two that differ create nothing.
$ mkdir v && $PTY right wrong -- hx sync init v store --now-ms 1000
new passphrase:
new passphrase again:
error: the two passphrases typed differ; nothing was written. Run the command again and type the same passphrase twice
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
$ test ! -e store/vault.json && test ! -e v/.hx && echo no vault
no vault
$ $PTY right right -- hx sync init v store --now-ms 1000
new passphrase:
new passphrase again:
created vault [0-9a-f]{32} at file://.*/store \(encrypted\) (re)
this device: [0-9a-f]{32} (re)
$ mkdir e && $PTY '' -- hx sync init e other --now-ms 1000
new passphrase:
error: the passphrase typed is empty; nothing was written. Run the command again and type one
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]

# Joining at the prompt: a wrong passphrase may be retried, three tries in
# all (a fourth answer is never asked for).
$ mkdir w && $PTY wrong right -- hx sync init w store --now-ms 1000
passphrase:
that passphrase does not open this vault; try again (2 of 3)
passphrase:
joined vault [0-9a-f]{32} at file://.*/store \(encrypted\) (re)
this device: [0-9a-f]{32} (re)
$ mkdir x && $PTY a b c right -- hx sync init x store --now-ms 1000
passphrase:
that passphrase does not open this vault; try again (2 of 3)
passphrase:
that passphrase does not open this vault; try again (3 of 3)
passphrase:
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]
# Ctrl-D at the second try ends it with the first one's error.
$ $PTY a -- hx sync init x store --now-ms 1000
passphrase:
that passphrase does not open this vault; try again (2 of 3)
passphrase:
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]
# HX_PASSPHRASE holds one value: no prompt and no retry, even on a terminal.
$ HX_PASSPHRASE=wrong $PTY -- hx sync init x store --now-ms 1000
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]

# hx key change-passphrase: the current passphrase (from the usual sources;
# here the prompt, even though v has its cached key), then the new one
# twice. The master key stays: nothing is re-encrypted.
$ echo hello > v/a.txt && hx sync push v --now-ms 2000 > /dev/null
$ $PTY right new new -- hx key change-passphrase v --now-ms 3000
passphrase:
new passphrase:
new passphrase again:
changed the passphrase of vault [0-9a-f]{32} at file://.*/store (re)
the master key is the same: devices with a cached key keep working; a new device needs the new passphrase

# w has its cached key and keeps working. Given the old passphrase, it says
# that it did not use it (a warning, the pull goes on); the new one or none:
# nothing said.
$ HX_PASSPHRASE=right hx sync pull w --now-ms 4000
warning: the passphrase given (HX_PASSPHRASE or --passphrase-file) does not open the store's vault.json, so it was not used: this device went on with its cached key. If the passphrase was changed on another device ('hx key change-passphrase'), give the new one or none; a new device will need the new one
pulled head 1 [0-9a-f]{12}: 1 added, 0 modified, 0 deleted (re)
$ HX_PASSPHRASE=new hx sync status w --now-ms 4000 > /dev/null
$ hx sync status w --now-ms 4000 > /dev/null
$ printf 'right\n' > old.txt && hx sync status w --passphrase-file old.txt --now-ms 4000 > /dev/null
warning: the passphrase given (HX_PASSPHRASE or --passphrase-file) does not open the store's vault.json, so it was not used: this device went on with its cached key. If the passphrase was changed on another device ('hx key change-passphrase'), give the new one or none; a new device will need the new one

# A new device needs the new passphrase; the old one is refused.
$ mkdir y && HX_PASSPHRASE=right hx sync init y store --now-ms 5000
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]
$ HX_PASSPHRASE=new hx sync init y store --now-ms 5000 > /dev/null && hx sync pull y --now-ms 5000 > /dev/null && cat y/a.txt
hello

# Without a terminal the new passphrase comes from --new-passphrase-file,
# never from HX_PASSPHRASE (which holds the current one).
$ HX_PASSPHRASE=new hx key change-passphrase w < /dev/null
error: a new passphrase is needed: use --new-passphrase-file or run on a terminal. Nothing was changed
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
$ printf 'newer\n' > newer.txt && HX_PASSPHRASE=new hx --json key change-passphrase w --new-passphrase-file newer.txt --now-ms 6000
{"kdf":{"algorithm":"argon2id13","memlimit":67108864,"opslimit":3},"key_fingerprint":"[0-9a-f]{64}","target":"file://.*/store","vault_id":"[0-9a-f]{32}","vault_path":".*/w"} (re)
$ HX_PASSPHRASE=newer hx key change-passphrase w --new-passphrase-file newer.txt --now-ms 7000
error: the new passphrase is the current one; choose another. Nothing was changed
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
$ HX_PASSPHRASE=new hx key change-passphrase w --new-passphrase-file old.txt --now-ms 7000
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]
$ HX_PASSPHRASE=newer hx key change-passphrase w --new-passphrase-file missing.txt
error: --new-passphrase-file: cannot read the passphrase file missing.txt: No such file or directory; give a readable file whose first line is the passphrase (or leave out --new-passphrase-file and type it twice on a terminal)
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
