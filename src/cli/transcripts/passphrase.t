# Where the passphrase comes from: --passphrase-file wins over HX_PASSPHRASE
# (which wins over the prompt); the file's line ending (LF or CRLF) is no
# part of the passphrase; a file that cannot be read is named, at once.

$ mkdir first && HX_PASSPHRASE=right hx sync init first store --now-ms 1000 > /dev/null

# A file written on Windows: its CR is stripped; and it beats a wrong
# passphrase in the environment.
$ printf 'right\r\n' > crlf.txt && mkdir second
$ HX_PASSPHRASE=wrong hx sync init second store --passphrase-file crlf.txt --now-ms 1000
joined vault [0-9a-f]{32} at file://.*/store \(encrypted\) (re)
this device: [0-9a-f]{32} (re)

# A lone LF, and no line ending at all, work the same.
$ printf 'right\n' > lf.txt && mkdir third && hx sync init third store --passphrase-file lf.txt --now-ms 1000 > /dev/null
$ printf 'right' > bare.txt && mkdir fourth && hx sync init fourth store --passphrase-file bare.txt --now-ms 1000 > /dev/null

# A wrong file is not rescued by a right environment: the file is what the
# user named.
$ printf 'wrong\n' > wrong.txt && mkdir fifth
$ HX_PASSPHRASE=right hx sync init fifth store --passphrase-file wrong.txt
error: the passphrase does not open this vault
  code: KC_SYNC_KEY_MISMATCH (auth)
  next: The passphrase does not open this vault; try again with its current passphrase (the one given at 'hx sync init' or at the last 'hx key change-passphrase').
[exit 4]

# A missing file is named, even when HX_PASSPHRASE is set (it used to win
# silently) and even when a cached key makes a passphrase unnecessary.
$ HX_PASSPHRASE=right hx sync init fifth store --passphrase-file missing.txt
error: --passphrase-file: cannot read the passphrase file missing.txt: No such file or directory; give a readable file whose first line is the passphrase (or leave out --passphrase-file and set HX_PASSPHRASE)
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
$ hx sync push first --passphrase-file missing.txt
error: --passphrase-file: cannot read the passphrase file missing.txt: No such file or directory; give a readable file whose first line is the passphrase (or leave out --passphrase-file and set HX_PASSPHRASE)
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]
$ : > empty.txt && hx --json sync status first --passphrase-file empty.txt
{"category":"invalid_input","code":"KC_SYNC_INPUT_INVALID","details":{},"message":"--passphrase-file: cannot read the passphrase file empty.txt: it is empty; give a readable file whose first line is the passphrase (or leave out --passphrase-file and set HX_PASSPHRASE)","retryable":false}
[exit 2]
$ mkdir dir.txt && hx sync push first --passphrase-file dir.txt 2>&1 | head -1
error: --passphrase-file: cannot read the passphrase file dir.txt: it is a directory; give a readable file whose first line is the passphrase (or leave out --passphrase-file and set HX_PASSPHRASE)
