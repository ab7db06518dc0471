# hx sync status --metrics (issue 13): this run's metrics, once, in the
# Prometheus text format (checked with the Prometheus project's parser from
# Debian's python3-prometheus-client); the agent serves the same registry.

$ mkdir v && echo hello > v/a.txt && HX_PASSPHRASE=pw hx sync init v store --now-ms 1000 > /dev/null && hx sync push v --now-ms 2000 > /dev/null
$ hx sync status v --metrics > metrics.txt && /usr/bin/python3 -c 'import sys; from prometheus_client.parser import text_string_to_metric_families as parse; fams = list(parse(open("metrics.txt").read())); print(sorted(f.name + ":" + f.type for f in fams)); print(all(s.value > 0 for f in fams for s in f.samples))'
['hx_store_bytes:counter', 'hx_store_requests:counter']
True
$ grep -E '^hx_store_requests_total' metrics.txt
hx_store_requests_total{op="get",outcome="ok"} \d+ (re)
hx_store_requests_total{op="get_versioned",outcome="ok"} \d+ (re)
