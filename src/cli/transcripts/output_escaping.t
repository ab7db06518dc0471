# Names that another device chose are printed escaped in human output
# (docs/ERRORS.md): a file name cannot retitle or clear the terminal, move
# the cursor, or forge a line of a report or an error. --json prints names
# exactly: JSON escapes every control character.

$ mkdir laptop desktop
$ HX_PASSPHRASE=pw hx sync init laptop store --now-ms 1000 > /dev/null
$ HX_PASSPHRASE=pw hx sync init desktop store --now-ms 1000 > /dev/null

# The laptop names a file with a window-title escape (OSC ... BEL), then a
# newline and what looks like a line of a pull report.
$ printf 'v1' > "laptop/$(printf 'evil\033]0;pwned\007\n  applied: fake.txt')"
$ hx sync push laptop --now-ms 2000 > /dev/null && hx sync pull desktop --now-ms 3000 > /dev/null
$ printf 'laptop' > laptop/evil* && hx sync push laptop --now-ms 4000 > /dev/null
$ printf 'desktop' > desktop/evil*

# Both changed it. The error names it, escaped, on one line each.
$ hx sync pull desktop --now-ms 5000
error: both this device and the store changed evil\e]0;pwned\x07\n  applied: fake.txt; nothing was applied. Resolve by hand, or pull with --auto-merge <policy>
  code: KC_SYNC_CONFLICT (conflict)
  artifact: conflicts/conflict_5000_[0-9a-f]{16}.json (re)
  local_artifact: .*/desktop/.hx/conflicts/conflict_5000_[0-9a-f]{16}.json (re)
  path_count: 1
  paths: evil\e]0;pwned\x07\n  applied: fake.txt
  next: Both sides changed; list the paths with 'hx sync conflicts', then pull with --auto-merge <policy> or resolve them by hand.
[exit 7]

# Machines get the name byte for byte.
$ hx --json sync pull desktop --now-ms 5500 | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["details"]["paths"] == "evil\x1b]0;pwned\x07\n  applied: fake.txt")'
True

# The pull report's resolution names both versions, escaped.
$ hx sync pull desktop --auto-merge keep_both --now-ms 6000
pulled head 2 [0-9a-f]{12}: 0 added, 1 modified, 0 deleted (re)
  keep_both: evil\\e\]0;pwned\\x07\\n  applied: fake\.txt kept_both, other version at evil\\e\]0;pwned\\x07\\n  applied: fake \(conflict [0-9a-f]{8} [0-9a-f]{8}\)\.txt (re)

# Path locks, file hashes and skipped local names too; a backslash is shown
# doubled, so that an escape in the output always means a control character.
$ hx lock add desktop "$(printf 'docs/\033[2Jplan\r.txt')" --now-ms 8000
locked docs/\e[2Jplan\r.txt until 1970-01-01T08:00:08Z
$ hx lock list desktop --now-ms 8000
docs/\e[2Jplan\r.txt  this device  until 1970-01-01T08:00:08Z
$ hx hash laptop/evil*
ea2506b80431c316f395798ddafcae941c816f7cf438505751a8dd532e6fca73  laptop/evil\e]0;pwned\x07\n  applied: fake.txt
$ printf x > "laptop/$(printf 'back\\slash\342\200\256txt.exe')" && hx hash laptop/back*
3ae7d805f6789a6402acb70ad4096a85a56bf6804eaf25c0493ac697548d30b5  laptop/back\\slash\u{202e}txt.exe
$ printf x > "laptop/$(printf 'bad\377\033[31mname')" && hx sync push laptop --now-ms 10000
pushed 1 added, 0 modified, 0 deleted as head 3 [0-9a-f]{12} \(\d+ objects in 1 blobs, \d+ bytes\) (re)
skipped: bad\\xff\e[31mname: skipped (invalid_name)
