# The basics: version, usage errors as AppErrors with exit code 2.

$ hx version
hx 0.1.0 (store format 1)

$ hx --json version
{"format_version":1,"version":"0.1.0"}

# An unknown command is a usage error: code KC_SYNC_INPUT_INVALID, exit 2.
$ hx --json frobnicate
{"category":"invalid_input","code":"KC_SYNC_INPUT_INVALID","details":{},"message":"unknown command 'frobnicate'","retryable":false}
[exit 2]

$ hx frobnicate
error: unknown command 'frobnicate'
  code: KC_SYNC_INPUT_INVALID (invalid_input)
  next: Run 'hx --help' to see the commands.
[exit 2]

# Without a command, --json says so (bare hx prints the help: usage.t).
$ hx --json
{"category":"invalid_input","code":"KC_SYNC_INPUT_INVALID","details":{},"message":"A subcommand is required","retryable":false}
[exit 2]

# hx hash prints what b3sum prints.
$ printf 'abc' > abc.txt && hx hash abc.txt
6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85  abc.txt

# hx target check shows how a target URI is read.
$ hx target check s3+endpoint://my-bucket/photos/2024 --endpoint http://localhost:9000 --path-style
uri:    s3+endpoint://my-bucket/photos/2024
kind:   s3
bucket: my-bucket
prefix: photos/2024
endpoint: http://localhost:9000
region: us-east-1
path-style addressing

$ hx --json target check file:///srv/store
{"kind":"folder","path":"/srv/store","uri":"file:///srv/store"}

$ hx target check s3://Bad_Bucket/x
error: .* (re)
  code: KC_SYNC_TARGET_INVALID (invalid_input)
  uri: s3://Bad_Bucket/x
  next: Check the target URI: an absolute path, a valid bucket name, and no empty, '.' or '..' segments.
[exit 3]
