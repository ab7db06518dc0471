# The basics: version, usage errors as AppErrors with exit code 2.

$ hx version
hx 0.1.0 (store format 1)

$ hx --json version
{"format_version":1,"version":"0.1.0"}

# An unknown command is a usage error: code KC_SYNC_INPUT_INVALID, exit 2.
$ hx --json frobnicate
{"category":"invalid_input","code":"KC_SYNC_INPUT_INVALID","details":{},"message":"unknown command or argument 'frobnicate'","retryable":false}
[exit 2]

$ hx frobnicate
error: unknown command or argument 'frobnicate'
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Fix the argument or input file named in the message; see 'hx --help'.
[exit 2]

# Without a command, hx says so.
$ hx --json
{"category":"invalid_input","code":"KC_SYNC_INPUT_INVALID","details":{},"message":"A subcommand is required","retryable":false}
[exit 2]
