#!/usr/bin/env python3
"""A fault-injecting, request-counting HTTP/1.1 proxy for S3 tests (test code, stdlib only).

It sits between an S3 client (hx, rclone, restic) and an S3 server (moto_server) on loopback:

    client --HTTP--> fault_proxy (127.0.0.1:PORT) --HTTP--> upstream (e.g. moto_server)

Every request is forwarded unchanged (the Host header too, so SigV4 signatures stay valid) on a
fresh upstream connection, and the whole response is relayed back with an exact Content-Length on
a client connection that stays alive. Each request is logged (method, path, query, status, fault,
bytes) for counting.

Faults. Which requests that match the filter (methods, path regex, `skip` first matches, at most
`max_faults` faults) fault is decided by one of two schedules:

  every = k > 0  (deterministic; what tests use) every k-th matching request faults: a counter of
                 matching requests since the last fault reaches k, and the next request that may
                 fault (see max_streak) does. So N matching requests give at least N // k faults
                 whatever the object keys, which differ from run to run. The counter starts at
                 seed % k (the seed shifts the phase) when a configuration is set, and a reset of
                 the log does not restart it, so a test that resets the log between its steps
                 still gets a fault every k requests across them. The kind of each fault
                 cycles through the kinds with a nonzero rate in proportion to their rates
                 (smooth weighted round robin: rates 0.03 and 0.01 give 3 of one per 1 of the
                 other, in a fixed order).
  every = 0      (rates) each matching request draws one number in [0, 1) from BLAKE2b(seed,
                 identity, n): the identity is the method, the path, the query without uploadId
                 and the Range header, and n counts earlier requests with the same identity. The
                 same seed and the same requests give the same faults, but requests that name
                 random keys draw differently every run, so a test that needs a fault to fire must
                 not rely on a rate.

`max_streak` (if not -1) makes faults transient: a request whose identity has just faulted that
many times in a row is passed through, so a client that tries one more time than that always
gets through. With rates, the rates of the fault kinds below are cumulative slices of [0, 1):

    500            not forwarded; 500 InternalError (S3 XML error body)
    503            not forwarded; 503 ServiceUnavailable
    slowdown       not forwarded; 503 SlowDown (what S3 sends to throttle)
    429            not forwarded; 429 TooManyRequests (some S3-compatible servers throttle so)
    stall          not forwarded; no answer for `stall_seconds` (past the client's timeout), or
                   until the client gives up, then the connection is closed
    reset          not forwarded; the connection is reset (RST) at once: the request was lost
    drop           forwarded (the server acted on it), then the connection is closed with no
                   response: the reply was lost
    drop_mid_body  forwarded; the status line, the headers and half the body are sent, then the
                   connection is reset
    truncate       forwarded; the headers announce the full Content-Length (at least 1 byte),
                   fewer bytes are sent, then the connection is closed cleanly
    trickle        forwarded; the status line and the headers (the full Content-Length) are sent,
                   then the body one byte every `trickle_seconds`
    silent         not forwarded; no answer at all, the connection held open until the client
                   closes it (at most an hour)
    endless_error  not forwarded; 503 SlowDown with a Content-Length of 1 TiB and a body sent as
                   fast as the client reads it, until the client closes (at most 1 GiB)
    cycle_list     a ListObjectsV2 request (query with list-type) is not forwarded: the reply is a
                   truncated page of `list_page_entries` made-up keys under the request's prefix
                   whose NextContinuationToken cycles through `list_cycle` tokens (2: A, B, A, ...;
                   a large number: a listing that never ends). Other requests pass (no fault)
    cut_headers    forwarded; the status line and half of the header bytes are sent, then the
                   connection is closed cleanly: the reply ends inside its headers
    redirect       not forwarded; 301 PermanentRedirect (S3's answer for a bucket in another region:
                   x-amz-bucket-region: eu-west-3, an <Endpoint> in the body)
    redirect_307   not forwarded; 307 TemporaryRedirect with a Location on another endpoint

Shaping (S3 at a distance; off unless set): `latency_ms` delays each message by that much one
way (a request before it is forwarded, a reply before its first byte reaches the client), plus
`jitter_ms` times a draw in [0, 1) from BLAKE2b(seed, "shape", n, direction), n counting the
shaped requests in arrival order since the configuration was set, so the same seed and the same order give the same delays. The
first request on a new client connection also waits one round trip (2 x latency: the TCP
handshake), so a client that reuses connections pays it once. `rate_mbit` is a link of that
many Mbit/s (10^6 bits) in each direction, shared by every connection: each message (headers
and body) occupies its direction of the link for bytes * 8 / rate in turn, after the messages
before it (first come, first served); replies are sent in 64 KiB pieces at the times the link
sets, so a client sees a body arrive at the link's pace (a proxy that wakes up late sends the
pieces already due at once, so a loaded machine does not slow the link down). Faults that cut or trickle a reply (drop_mid_body, truncate,
cut_headers, trickle, endless_error) send it unpaced; their requests are still delayed. Each
log entry says what it was charged ("latency_ms_up", "latency_ms_down" with the handshake in
"latency_ms_up", "link_ms_up", "link_ms_down": its own serialization, "queued_ms": time it
waited for the link behind others, which depends on timing and is not reproducible; also
"upstream_ms", the server's time to answer, "reply_ms", the time from the reply's latency to
its last byte taken by the client (its link time, plus the client's back-pressure), and
"client_idle_ms", the time a kept-alive connection stayed idle between the end of the previous
reply and this request: all three measured, for telling the server's time from the client's in a
benchmark), and
/__hxproxy/counts sums them under "shaping". The command line sets them with --latency-ms,
--jitter-ms and --rate-mbit (merged into --config); POST /__hxproxy/config replaces them too.

Control: requests to /__hxproxy/... are answered by the proxy itself (bucket names cannot contain
'_', so no S3 request collides) and are neither forwarded nor logged:

    GET  /__hxproxy/log                  every request since the last reset, as a JSON list
    GET  /__hxproxy/counts?base=/b/pfx/  {"total", "by_method", "by_prefix", "faults"}; by_prefix
                                         counts "METHOD first-key-segment/" under `base`, and
                                         "METHOD /path?first-query-name" elsewhere
    POST /__hxproxy/config   {json}      replaces the fault configuration (keys as --config)
    POST /__hxproxy/reset                clears the log and the per-identity counters

Usage:
    fault_proxy.py --upstream http://127.0.0.1:5000 [--port 0] [--port-file F]
                   [--config '{"seed": 1, "rates": {"503": 0.1}}'] [--exit-on-stdin-eof]
                   [--latency-ms 30] [--jitter-ms 0] [--rate-mbit 100]

It binds 127.0.0.1 (port 0: a free one), prints "PORT <n>" on stdout (and writes the number to
--port-file), and serves until SIGTERM/SIGINT, or until its stdin closes with --exit-on-stdin-eof
(a test launcher holds the pipe, so the proxy never outlives a crashed test).
"""

import argparse
import asyncio
import hashlib
import json
import os
import re
import signal
import socket
import struct
import sys
import urllib.parse

FAULT_KINDS = ("500", "503", "slowdown", "429", "stall", "reset", "drop", "drop_mid_body",
               "truncate", "trickle", "silent", "endless_error", "cycle_list", "cut_headers",
               "redirect", "redirect_307")
REDIRECT_REGION = "eu-west-3"
REDIRECT_LOCATION_HOST = "127.0.0.1:1"
SILENT_SECONDS = 3600
ENDLESS_ERROR_CAP = 1 << 30
MAX_HEADER_BYTES = 1 << 20
CONTROL_PREFIX = "/__hxproxy/"
SHAPE_CHUNK = 64 * 1024

ERROR_BODIES = {
    "500": (500, "Internal Server Error", "InternalError",
            "We encountered an internal error. Please try again."),
    "503": (503, "Service Unavailable", "ServiceUnavailable", "Please reduce your request rate."),
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "429": (429, "Too Many Requests", "TooManyRequests", "Please reduce your request rate."),
}

DEFAULT_CONFIG = {
    "seed": 1,
    "rates": {},           # fault kind -> probability; the sum must be at most 1
    "methods": [],         # only these methods can fault (empty: all)
    "path_regex": "",      # only requests whose "path?query" matches (re.search) can fault
    "skip": 0,             # the first `skip` matching requests never fault
    "max_faults": -1,      # at most this many faults (-1: no limit)
    "max_streak": -1,      # at most this many faults in a row per identity (-1: no limit)
    "every": 0,            # > 0: every k-th matching request faults (deterministic)
    "stall_seconds": 60.0,
    "trickle_seconds": 0.5,  # trickle: the pause between two body bytes
    "list_cycle": 2,         # cycle_list: how many distinct continuation tokens
    "list_page_entries": 3,  # cycle_list: entries per page
    "latency_ms": 0.0,       # shaping: one-way delay of every message
    "jitter_ms": 0.0,        # shaping: up to this much more, seeded per request and direction
    "rate_mbit": 0.0,        # shaping: link rate each way, shared by all connections (0: none)
}


class ConfigError(ValueError):
    pass


def validate_config(raw):
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    unknown = set(raw) - set(DEFAULT_CONFIG)
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    config = dict(DEFAULT_CONFIG)
    config.update(raw)
    rates = config["rates"]
    if not isinstance(rates, dict) or set(rates) - set(FAULT_KINDS):
        raise ConfigError(f"rates: a map from fault kinds {FAULT_KINDS} to probabilities")
    if any(not isinstance(v, (int, float)) or v < 0 for v in rates.values()):
        raise ConfigError("rates must be non-negative numbers")
    if sum(rates.values()) > 1.0 + 1e-9:
        raise ConfigError("the rates add up to more than 1")
    for key in ("every", "list_cycle", "list_page_entries"):
        if not isinstance(config[key], int) or config[key] < 0:
            raise ConfigError(f"{key} must be a non-negative integer")
    if config["list_cycle"] < 1:
        raise ConfigError("list_cycle must be at least 1")
    for key in ("trickle_seconds", "latency_ms", "jitter_ms", "rate_mbit"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
            raise ConfigError(f"{key} must be a non-negative number")
    config["methods"] = [m.upper() for m in config["methods"]]
    config["compiled_regex"] = re.compile(config["path_regex"]) if config["path_regex"] else None
    return config


def public_config(config):
    return {k: v for k, v in config.items() if k in DEFAULT_CONFIG}


class Proxy:
    def __init__(self, upstream_host, upstream_port, config):
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.config = config
        self.log = []
        self.seen = {}          # request identity -> how many times seen
        self.streak = {}        # request identity -> faults in a row, up to now
        self.matched = 0        # requests that passed the filter
        self.faults = 0         # faults injected
        # every: matching requests since the last fault (the seed shifts the phase)
        self.since_fault = config["seed"] % config["every"] if config["every"] > 0 else 0
        self.credit = {}        # every: smooth weighted round robin state per kind
        self.shaped = 0         # shaping: requests shaped so far (the jitter draws' counter)
        self.link_free = {"up": 0.0, "down": 0.0}  # shaping: when each direction is free

    # ---------------------------------------------------------------- shaping
    def shaping_on(self):
        c = self.config
        return c["latency_ms"] > 0 or c["jitter_ms"] > 0 or c["rate_mbit"] > 0

    def one_way_latency(self, n, direction):
        """Seconds a message takes one way on top of its transmission: latency plus jitter."""
        c = self.config
        jitter = 0.0
        if c["jitter_ms"] > 0:
            digest = hashlib.blake2b(f"{c['seed']}\0shape\0{n}\0{direction}".encode(),
                                     digest_size=8).digest()
            jitter = c["jitter_ms"] * (struct.unpack(">Q", digest)[0] / 2.0**64)
        return (c["latency_ms"] + jitter) / 1000.0

    def occupy_link(self, direction, nbytes, entry):
        """Books nbytes on one direction of the link; returns when their last bit has left."""
        rate = self.config["rate_mbit"]
        now = asyncio.get_running_loop().time()
        if rate <= 0:
            return now
        start = max(now, self.link_free[direction])
        seconds = nbytes * 8 / (rate * 1e6)
        self.link_free[direction] = start + seconds
        entry[f"link_ms_{direction}"] += seconds * 1000
        entry["queued_ms"] += (start - now) * 1000
        return start + seconds

    async def shape_request(self, entry, nbytes, new_connection):
        """Delays a request as a distant link would before the server sees it."""
        if not self.shaping_on():
            return
        entry["shape_n"] = self.shaped
        self.shaped += 1
        latency = self.one_way_latency(entry["shape_n"], "up")
        if new_connection:
            latency += 2 * self.config["latency_ms"] / 1000.0
            entry["handshake"] = True
        entry["latency_ms_up"] += latency * 1000
        arrive = self.occupy_link("up", nbytes, entry) + latency
        await asyncio.sleep(max(0.0, arrive - asyncio.get_running_loop().time()))

    async def send(self, writer, entry, status, reason, headers, body, announced_length,
                   head=False):
        """send_response, paced by the link and delayed by the latency when shaping is on."""
        data = response_head(status, reason, headers, body, announced_length, head) + body
        if not self.shaping_on() or "shape_n" not in entry:
            writer.write(data)
            await writer.drain()
            return
        latency = self.one_way_latency(entry["shape_n"], "down")
        entry["latency_ms_down"] += latency * 1000
        loop = asyncio.get_running_loop()
        started = loop.time()
        # The whole reply is booked on the link at once (a FIFO link), and each piece is due when
        # the link has carried it: a proxy that wakes up late (a loaded machine) sends the pieces
        # that are due back to back and catches up, instead of slowing the link down.
        end = self.occupy_link("down", len(data), entry)
        rate = self.config["rate_mbit"]
        first = end - (len(data) * 8 / (rate * 1e6) if rate > 0 else 0.0)
        for pos in range(0, len(data), SHAPE_CHUNK):
            piece = data[pos:pos + SHAPE_CHUNK]
            carried = pos + len(piece)
            due = first + (carried * 8 / (rate * 1e6) if rate > 0 else 0.0) + latency
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(piece)
            await writer.drain()
        entry["reply_ms"] = (loop.time() - started) * 1000

    # ---------------------------------------------------------------- fault choice
    def choose_fault(self, method, path, query, byte_range=""):
        fault = self.draw_fault(method, path, query, byte_range)
        identity = self.last_identity
        self.streak[identity] = self.streak.get(identity, 0) + 1 if fault else 0
        return fault

    def draw_fault(self, method, path, query, byte_range):
        config = self.config
        # uploadId is chosen by the server, so it would make runs differ; it is left out.
        stable_query = "&".join(sorted(p for p in query.split("&") if p and
                                       not p.startswith("uploadId=")))
        identity = f"{method} {path}?{stable_query} {byte_range}"
        self.last_identity = identity
        n = self.seen.get(identity, 0)
        self.seen[identity] = n + 1
        if config["methods"] and method not in config["methods"]:
            return None
        regex = config["compiled_regex"]
        if regex is not None and not regex.search(f"{path}?{query}"):
            return None
        self.matched += 1
        if self.matched <= config["skip"]:
            return None
        if 0 <= config["max_faults"] <= self.faults:
            return None
        if config["every"] > 0:
            self.since_fault += 1
        if 0 <= config["max_streak"] <= self.streak.get(identity, 0):
            return None
        if config["every"] > 0:
            if self.since_fault < config["every"]:
                return None
            self.since_fault = 0
            self.faults += 1
            return self.next_kind()
        digest = hashlib.blake2b(f"{config['seed']}\0{identity}\0{n}".encode(),
                                 digest_size=8).digest()
        draw = struct.unpack(">Q", digest)[0] / 2.0**64
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += config["rates"].get(kind, 0.0)
            if draw < edge:
                self.faults += 1
                return kind
        return None

    def next_kind(self):
        """The kind of the next scheduled fault: smooth weighted round robin over the rates."""
        weights = [(kind, self.config["rates"].get(kind, 0.0)) for kind in FAULT_KINDS]
        weights = [(kind, w) for kind, w in weights if w > 0]
        if not weights:
            return None
        total = sum(w for _, w in weights)
        for kind, w in weights:
            self.credit[kind] = self.credit.get(kind, 0.0) + w
        best = max(weights, key=lambda kw: (self.credit[kw[0]], -FAULT_KINDS.index(kw[0])))[0]
        self.credit[best] -= total
        return best

    def counts(self, base):
        by_method, by_prefix, faults = {}, {}, {}
        shaping = {"requests": 0, "handshakes": 0, "bytes_up": 0, "bytes_down": 0,
                   "latency_s": 0.0, "link_s_up": 0.0, "link_s_down": 0.0, "queued_s": 0.0,
                   "upstream_s": 0.0, "client_idle_s": 0.0, "reply_s": 0.0}
        for entry in self.log:
            if "shape_n" in entry:
                shaping["requests"] += 1
                shaping["handshakes"] += 1 if entry.get("handshake") else 0
                shaping["bytes_up"] += entry["bytes_up"]
                shaping["bytes_down"] += entry["bytes_down"]
                shaping["latency_s"] += (entry["latency_ms_up"] + entry["latency_ms_down"]) / 1e3
                shaping["link_s_up"] += entry["link_ms_up"] / 1e3
                shaping["link_s_down"] += entry["link_ms_down"] / 1e3
                shaping["queued_s"] += entry["queued_ms"] / 1e3
                shaping["upstream_s"] += entry["upstream_ms"] / 1e3
                shaping["client_idle_s"] += entry["client_idle_ms"] / 1e3
                shaping["reply_s"] += entry["reply_ms"] / 1e3
            method = entry["method"]
            by_method[method] = by_method.get(method, 0) + 1
            path = entry["path"]
            if base and path.startswith(base):
                head, sep, _ = path[len(base):].partition("/")
                key = f"{method} {head}{sep}"
            else:
                # Outside `base` (a bucket-level call such as ListObjectsV2): the path and the
                # name of the first query parameter ("GET /bucket?list-type").
                first = entry["query"].split("&")[0].split("=")[0]
                key = f"{method} {path}" + (f"?{first}" if first else "")
            by_prefix[key] = by_prefix.get(key, 0) + 1
            if entry["fault"]:
                faults[entry["fault"]] = faults.get(entry["fault"], 0) + 1
        return {"total": len(self.log), "by_method": by_method, "by_prefix": by_prefix,
                "faults": faults, "shaping": shaping}

    # ---------------------------------------------------------------- connections
    async def handle_client(self, reader, writer):
        try:
            new_connection = True
            loop = asyncio.get_running_loop()
            replied = None
            while True:
                request = await read_request(reader, writer)
                if request is None:
                    break
                idle_ms = (loop.time() - replied) * 1000 if replied is not None else 0.0
                keep_alive = await self.serve(request, reader, writer, new_connection, idle_ms)
                replied = loop.time()
                new_connection = False
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, OSError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def serve(self, request, reader, writer, new_connection=False, idle_ms=0.0):
        method, target, version, headers, body = request
        parsed = urllib.parse.urlsplit(target)
        path, query = parsed.path, parsed.query
        client_keep_alive = version == "HTTP/1.1" and \
            header_value(headers, "connection").lower() != "close"
        if path.startswith(CONTROL_PREFIX):
            await self.control(method, path, query, body, writer)
            return client_keep_alive
        fault = self.choose_fault(method, path, query, header_value(headers, "range"))
        is_list = method == "GET" and "list-type=" in query
        if fault == "cycle_list" and not is_list:
            fault = None
            self.faults -= 1
        entry = {"method": method, "path": path, "query": query, "status": None, "fault": fault,
                 "bytes_up": len(body), "bytes_down": 0, "latency_ms_up": 0.0,
                 "latency_ms_down": 0.0, "link_ms_up": 0.0, "link_ms_down": 0.0,
                 "queued_ms": 0.0, "upstream_ms": 0.0, "client_idle_ms": idle_ms,
                 "reply_ms": 0.0}
        self.log.append(entry)
        head_bytes = len(method) + len(target) + len(version) + 4 + \
            sum(len(k) + len(v) + 4 for k, v in headers) + 2
        await self.shape_request(entry, head_bytes + len(body), new_connection)

        if fault in ERROR_BODIES:
            status, reason, code, message = ERROR_BODIES[fault]
            payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                       f'<Message>{message}</Message><Resource>{path}</Resource>'
                       f'<RequestId>hxproxy</RequestId></Error>').encode()
            entry["status"] = status
            entry["bytes_down"] = len(payload)
            await self.send(writer, entry, status, reason,
                                [("Content-Type", "application/xml")], payload, None)
            return client_keep_alive
        if fault == "stall":
            try:
                # Returns early if the client gives up (EOF) before the stall ends.
                await asyncio.wait_for(reader.read(1), self.config["stall_seconds"])
            except asyncio.TimeoutError:
                pass
            return False
        if fault == "reset":
            abort(writer)
            return False
        if fault == "silent":
            try:
                # Returns when the client gives up (EOF).
                await asyncio.wait_for(reader.read(1), SILENT_SECONDS)
            except asyncio.TimeoutError:
                pass
            return False
        if fault == "endless_error":
            await self.send_endless_error(writer, entry)
            return False
        if fault == "cycle_list":
            payload = self.cycle_list_page(query)
            entry["status"] = 200
            entry["bytes_down"] = len(payload)
            await self.send(writer, entry, 200, "OK", [("Content-Type", "application/xml")],
                                payload, None)
            return client_keep_alive
        if fault in ("redirect", "redirect_307"):
            status, reason, resp_headers, payload = redirect_reply(fault, path, query)
            entry["status"] = status
            entry["bytes_down"] = len(payload)
            await self.send(writer, entry, status, reason, resp_headers,
                                b"" if method == "HEAD" else payload, None,
                                head=(method == "HEAD"))
            return client_keep_alive

        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            status, reason, resp_headers, resp_body = await self.forward(
                method, target, headers, body)
            entry["upstream_ms"] = (loop.time() - started) * 1000
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            # The server is down or broke off: answer as a gateway would.
            payload = f"fault_proxy: upstream failed: {e}".encode()
            entry["status"] = 502
            await self.send(writer, entry, 502, "Bad Gateway", [("Content-Type", "text/plain")],
                                payload, None)
            return False
        entry["status"] = status
        if fault == "drop":
            abort(writer)
            return False
        if fault in ("drop_mid_body", "truncate"):
            announced = max(len(resp_body), 1)
            sent = resp_body[: len(resp_body) // 2]
            entry["bytes_down"] = len(sent)
            await send_response(writer, status, reason, resp_headers, sent, announced,
                                head=(method == "HEAD"))
            if fault == "drop_mid_body":
                abort(writer)
            else:
                writer.close()
            return False
        if fault == "cut_headers":
            head = response_head(status, reason, resp_headers, resp_body, None,
                                 head=(method == "HEAD"))
            # Past the status line, before the blank line that ends the headers.
            cut = max(head.index(b"\r\n") + 2, (len(head) - 4) // 2)
            writer.write(head[:cut])
            await writer.drain()
            writer.close()
            return False
        if fault == "trickle":
            writer.write(response_head(status, reason, resp_headers, resp_body, None,
                                       head=(method == "HEAD")))
            await writer.drain()
            body = b"" if method == "HEAD" else resp_body
            for i in range(len(body)):
                await asyncio.sleep(self.config["trickle_seconds"])
                writer.write(body[i:i + 1])
                await writer.drain()
                entry["bytes_down"] = i + 1
            return client_keep_alive
        entry["bytes_down"] = len(resp_body)
        await self.send(writer, entry, status, reason, resp_headers, resp_body, None,
                            head=(method == "HEAD"))
        return client_keep_alive

    async def send_endless_error(self, writer, entry):
        entry["status"] = 503
        head = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                b"Content-Length: 1099511627776\r\n\r\n"
                b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message><Padding>")
        writer.write(head)
        await writer.drain()
        chunk = b" " * 65536
        while entry["bytes_down"] < ENDLESS_ERROR_CAP:
            writer.write(chunk)
            await writer.drain()  # raises once the client has closed
            entry["bytes_down"] += len(chunk)
        writer.close()

    def cycle_list_page(self, query):
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        prefix = params.get("prefix", [""])[0]
        token = params.get("continuation-token", [""])[0]
        cycle = self.config["list_cycle"]
        index = 0
        if token.startswith("hxcycle-") and token[8:].isdigit():
            index = (int(token[8:]) + 1) % cycle
        base = index * self.config["list_page_entries"]
        contents = "".join(
            f"<Contents><Key>{xml_escape(prefix)}blobs/cy/{base + i:012d}</Key><Size>1</Size>"
            f"</Contents>" for i in range(self.config["list_page_entries"]))
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>'
                f"<Prefix>{xml_escape(prefix)}</Prefix><IsTruncated>true</IsTruncated>{contents}"
                f"<NextContinuationToken>hxcycle-{index}</NextContinuationToken>"
                f"</ListBucketResult>").encode()

    async def forward(self, method, target, headers, body):
        up_reader, up_writer = await asyncio.open_connection(
            self.upstream_host, self.upstream_port, limit=MAX_HEADER_BYTES)
        try:
            lines = [f"{method} {target} HTTP/1.1"]
            for name, value in headers:
                if name.lower() in ("connection", "keep-alive", "expect", "transfer-encoding",
                                    "content-length", "proxy-connection"):
                    continue
                lines.append(f"{name}: {value}")
            if body or method in ("PUT", "POST"):
                lines.append(f"Content-Length: {len(body)}")
            lines.append("Connection: close")
            up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await up_writer.drain()
            head = await up_reader.readuntil(b"\r\n\r\n")
            status_line, resp_headers = parse_head(head)
            parts = status_line.split(" ", 2)
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                resp_body = b""
            elif header_value(resp_headers, "transfer-encoding").lower() == "chunked":
                resp_body = await read_chunked(up_reader)
            elif header_value(resp_headers, "content-length"):
                resp_body = await up_reader.readexactly(
                    int(header_value(resp_headers, "content-length")))
            else:
                resp_body = await up_reader.read(-1)
            return status, reason, resp_headers, resp_body
        finally:
            up_writer.close()

    async def control(self, method, path, query, body, writer):
        params = urllib.parse.parse_qs(query)
        status, payload = 200, None
        try:
            if method == "GET" and path == CONTROL_PREFIX + "log":
                payload = self.log
            elif method == "GET" and path == CONTROL_PREFIX + "counts":
                payload = self.counts(params.get("base", [""])[0])
            elif method == "POST" and path == CONTROL_PREFIX + "config":
                self.config = validate_config(json.loads(body or b"{}"))
                every = self.config["every"]
                self.since_fault = self.config["seed"] % every if every > 0 else 0
                self.credit = {}
                self.shaped = 0
                payload = public_config(self.config)
            elif method == "GET" and path == CONTROL_PREFIX + "config":
                payload = public_config(self.config)
            elif method == "POST" and path == CONTROL_PREFIX + "reset":
                self.log, self.seen, self.streak = [], {}, {}
                self.matched, self.faults = 0, 0
                payload = {"reset": True}
            else:
                status, payload = 404, {"error": f"no control endpoint {method} {path}"}
        except (ConfigError, json.JSONDecodeError, re.error) as e:
            status, payload = 400, {"error": str(e)}
        data = json.dumps(payload, sort_keys=True).encode()
        await send_response(writer, status, "OK" if status == 200 else "Error",
                            [("Content-Type", "application/json")], data, None)


# -------------------------------------------------------------------- HTTP helpers
def parse_head(head):
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def header_value(headers, name):
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


async def read_chunked(reader):
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def read_request(reader, writer):
    """(method, target, version, headers, body), or None at a clean end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise
        return None
    request_line, headers = parse_head(head)
    method, target, version = request_line.split(" ", 2)
    if header_value(headers, "expect").lower() == "100-continue":
        # Answered here: the body is read whole before anything is forwarded.
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if header_value(headers, "transfer-encoding").lower() == "chunked":
        body = await read_chunked(reader)
    else:
        body = await reader.readexactly(int(header_value(headers, "content-length") or 0))
    return method, target, version, headers, body


def xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def redirect_reply(kind, path, query):
    """(status, reason, headers, body) of a redirect fault."""
    bucket = path.lstrip("/").split("/")[0]
    if kind == "redirect":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code>'
                f"<Message>The bucket you are attempting to access must be addressed using the "
                f"specified endpoint.</Message><Endpoint>{bucket}.s3.{REDIRECT_REGION}"
                f".amazonaws.com</Endpoint><Bucket>{bucket}</Bucket></Error>").encode()
        return 301, "Moved Permanently", [("Content-Type", "application/xml"),
                                          ("x-amz-bucket-region", REDIRECT_REGION)], body
    location = f"http://{REDIRECT_LOCATION_HOST}{path}" + (f"?{query}" if query else "")
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>TemporaryRedirect</Code>'
            f"<Message>Please re-send this request to the specified temporary endpoint."
            f"</Message><Endpoint>{REDIRECT_LOCATION_HOST}</Endpoint></Error>").encode()
    return 307, "Temporary Redirect", [("Content-Type", "application/xml"),
                                       ("Location", location)], body


def response_head(status, reason, headers, body, announced_length, head=False):
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in headers:
        lower = name.lower()
        if lower in ("connection", "keep-alive", "transfer-encoding"):
            continue
        # A HEAD response keeps the server's Content-Length: it is the object's size.
        if lower == "content-length" and not head:
            continue
        lines.append(f"{name}: {value}")
    if not head:
        length = len(body) if announced_length is None else announced_length
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send_response(writer, status, reason, headers, body, announced_length, head=False):
    writer.write(response_head(status, reason, headers, body, announced_length, head) + body)
    await writer.drain()


def abort(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger 0: close() sends RST instead of FIN, as a crashed peer or a middlebox would.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, help="http://host:port of the S3 server")
    parser.add_argument("--port", type=int, default=0, help="listen port (0: a free one)")
    parser.add_argument("--port-file", help="write the port number here once listening")
    parser.add_argument("--config", default="{}", help="initial fault configuration (JSON)")
    parser.add_argument("--latency-ms", type=float, help="shaping: one-way delay of each message")
    parser.add_argument("--jitter-ms", type=float, help="shaping: up to this much more, seeded")
    parser.add_argument("--rate-mbit", type=float, help="shaping: link rate each way, Mbit/s")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes (the launching test died or is done)")
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        parser.error("--upstream must be http://host:port")
    try:
        raw = json.loads(args.config)
        for key in ("latency_ms", "jitter_ms", "rate_mbit"):
            if getattr(args, key) is not None and isinstance(raw, dict):
                raw[key] = getattr(args, key)
        config = validate_config(raw)
    except (ConfigError, json.JSONDecodeError, re.error) as e:
        parser.error(f"--config: {e}")

    proxy = Proxy(upstream.hostname, upstream.port, config)
    server = await asyncio.start_server(proxy.handle_client, "127.0.0.1", args.port,
                                        limit=MAX_HEADER_BYTES, backlog=256)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"PORT {port}", flush=True)

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if args.exit_on_stdin_eof:
        def on_stdin():
            if not sys.stdin.buffer.raw.read(4096) and not stop.done():
                stop.set_result(None)
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
