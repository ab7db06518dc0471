#!/usr/bin/env python3
"""Computes the golden bytes of the meta tests outside hx.

Independent of hx's code: BLAKE3 comes from the b3sum tool, XChaCha20-Poly1305
from libsodium through ctypes, canonical JSON from json.dumps(sort_keys=True,
separators=(',', ':')) (all keys and strings here are ASCII, where that equals
RFC 8785), and the zip from Python's zipfile with the fields set as
stored_zip.h documents. Run: python3 make_golden.py; paste into the tests.
"""
import ctypes
import ctypes.util
import io
import json
import struct
import subprocess
import tempfile
import zipfile

sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
assert sodium.sodium_init() >= 0


def b3(data, key=None, derive=None, length=32):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        args = ["b3sum", "--no-names", "--length", str(length)]
        if derive is not None:
            args += ["--derive-key", derive]
        if key is not None:
            args += ["--keyed"]
        out = subprocess.run(args + [f.name], input=key, capture_output=True, check=True)
        return bytes.fromhex(out.stdout.decode().strip())


def canon(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ad(*fields):
    return b"".join(struct.pack("<Q", len(f)) + f for f in fields)


def seal(key, nonce_key, ad_bytes, plaintext):
    nonce = b3(struct.pack("<Q", len(ad_bytes)) + ad_bytes + struct.pack("<Q", len(plaintext))
               + plaintext, key=nonce_key, length=24)
    out = ctypes.create_string_buffer(len(plaintext) + 16)
    out_len = ctypes.c_ulonglong()
    rc = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out, ctypes.byref(out_len), plaintext, ctypes.c_ulonglong(len(plaintext)), ad_bytes,
        ctypes.c_ulonglong(len(ad_bytes)), None, nonce, key)
    assert rc == 0
    return nonce + out.raw[:out_len.value]


def stored_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 0
            info.create_version = 10
            info.extract_version = 10
            z.writestr(info, data)
            # writestr sets Unix mode 0600 when external_attr is 0; hx
            # writes 0 (no attributes). The directory is written at close.
            info.external_attr = 0
    return buf.getvalue()


master = bytes(range(32))
sub = {p: b3(master, derive="hx 2026-11 subkey %s v1" % p)
       for p in ["content", "ids", "mac", "nonce", "manifest"]}
fingerprint = b3(master, derive="hx 2026-11 key fingerprint v1").hex()
vault = "00112233445566778899aabbccddeeff"
node_a = "a" * 32
root = bytes(range(0x20, 0x40))
ms = 1767225600000
snap_id = b3(b"kc.sync.snapshot.v2\n" + root.hex().encode() + b"\n" + str(ms).encode()).hex()
print("snapshot_id", snap_id)

head = {"format_version": 1, "seq": 7, "snapshot_id": snap_id, "vault_id": vault}
head["mac"] = b3(canon(head), key=sub["mac"]).hex()
print("head", canon(head).decode())

body = {
    "author": node_a,
    "blobs": [
        {"id": "a0" * 32, "objects": [["03" * 32, "chunk", 0, 41, 1]]},
        {"id": "b1" * 32, "objects": [["01" * 32, "chunk", 0, 100, 60],
                                       ["02" * 32, "tree", 100, 50, 30]]},
    ],
    "created_ms": ms, "key_fingerprint": fingerprint, "parents": ["ab" * 32],
    "root": root.hex(), "seq": 7,
    "summary": {"added": 3, "bytes": 12345, "deleted": 1, "files": 10, "modified": 2},
}
header = {"format_version": 1, "kind": "hx-snapshot", "snapshot_id": snap_id, "vault_id": vault}
sealed_body = seal(sub["content"], sub["nonce"],
                   ad(b"hx snapshot v1", vault.encode(), snap_id.encode()), canon(body))
snapshot_zip = stored_zip([("header.json", canon(header)), ("body.bin", sealed_body)])
print("key_fingerprint", fingerprint)
print("snapshot_zip_len", len(snapshot_zip))
print("snapshot_zip_b3", b3(snapshot_zip).hex())

manifest = {
    "device": {"capabilities": ["folder", "s3"], "hx_version": "0.1.0", "last_seen_ms": ms,
               "platform": "linux-x86_64"},
    "format_version": 1, "last_seen_head_seq": 7, "manifest_seq": 3, "node_id": node_a,
    "snapshots": [snap_id], "vault_id": vault,
}
sealed_manifest = seal(sub["manifest"], sub["nonce"],
                       ad(b"hx manifest v1", vault.encode(), node_a.encode()), canon(manifest))
print("manifest_len", len(sealed_manifest))
print("manifest_b3", b3(sealed_manifest).hex())

lock = {"acquired_ms": ms, "expires_ms": ms + 900000, "format_version": 1, "owner": node_a,
        "token": "0123456789abcdef0123456789abcdef"}
print("lock", canon(lock).decode())

paths = ["a.txt", "docs/b.txt"]
path_key = b3(sub["ids"], derive="hx 2026-11 conflict path id v1")
base = {
    "base_snapshot": "ab" * 32, "created_ms": ms, "decision": "refused", "format_version": 1,
    "kind": "push_diverged",
    "local": {"changes": {"added": 1, "deleted": 3, "modified": 2}, "node_id": node_a},
    "path_ids": sorted(b3(p.encode(), key=path_key).hex() for p in paths),
    "policy": "none", "remote": {"head_seq": 8, "snapshot_id": "ef" * 32}, "vault_id": vault,
}
store_copy = dict(base)
store_copy["paths_sealed"] = seal(sub["content"], sub["nonce"],
                                  ad(b"hx conflict paths v1", vault.encode(), canon(base)),
                                  canon(paths)).hex()
store_bytes = canon(store_copy)
name = "conflict_%d_%s.json" % (ms, b3(store_bytes).hex()[:16])
local_copy = dict(base)
local_copy["paths"] = paths
print("conflict_name", name)
print("conflict_store", store_bytes.decode())
print("conflict_local", canon(local_copy).decode())

prune = {
    "author": node_a, "condemned": [{"pack": "cd" * 32, "since_ms": ms}],
    "deleted": [{"epoch": 2, "pack": "ab" * 32}, {"epoch": 3, "pack": "ef" * 32}], "epoch": 3,
    "format_version": 1, "updated_ms": ms + 1000, "vault_id": vault,
}
prune["mac"] = b3(canon(prune), key=sub["mac"]).hex()
print("prune", canon(prune).decode())

# Format 2: the snapshot lists (prune_record.h).
prune2 = {k: v for k, v in prune.items() if k != "mac"}
prune2["format_version"] = 2
prune2["condemned_snapshots"] = [{"since_ms": ms, "snapshot": "12" * 32}]
prune2["deleted_snapshots"] = [{"epoch": 2, "snapshot": "34" * 32}]
prune2["mac"] = b3(canon(prune2), key=sub["mac"]).hex()
print("prune2", canon(prune2).decode())

# The fuzz target's seed corpus (meta_fuzz.cc: first byte selects the target).
import os
import sys

if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "head": b"\x00" + canon(head),
        "snapshot_zip": b"\x01" + snapshot_zip,
        "manifest": b"\x02" + sealed_manifest,
        "lock": b"\x03" + canon(lock),
        "conflict_store": b"\x04" + name.encode() + b"\n" + store_bytes,
        "conflict_local": b"\x05" + name.encode() + b"\n" + canon(local_copy),
        "snapshot_body": b"\x06" + canon(body),
        "manifest_plaintext": b"\x07" + canon(manifest),
        "conflict_paths": b"\x08" + canon(paths),
        "head_newer": b"\x00" + b'{"format_version":2}',
        "prune": b"\x09" + canon(prune),
        "prune_v2": b"\x09" + canon(prune2),
    }
    for seed_name, data in seeds.items():
        with open(os.path.join(out, seed_name), "wb") as f:
            f.write(data)
