#!/usr/bin/env python3
"""A stand-in Aloft server for the device agent tests (CPython, needs `cryptography`).

Speaks the device half of docs/protocol.md (check-in, events, raw and zlib blobs) for a few
fixed, signed releases, and injects faults on request. Test-only endpoints:

  POST /_ctl  {"release": "r1"|"r2"|...|null, "variant": null|"badsig"|..., "fault": null|FAULT, "hang": false,
              "step": null|"firmware"|"files" (what every offer asks for; null: firmware_step's rule)}
  POST /_ctl  {"device": id, "release": ...}: what that device is offered, whatever the above says
  POST /_publish  {"name", "version", "sequence", "files": {path: base64}, "boards"?, "micropython"?,
                   "firmware"?: [{"build", "chip", "micropython", "mpy", "image": base64}],
                   "extra"?: {manifest fields, e.g. "expires"; "trust": {"keys": [key names], "threshold"}},
                   "sign"?: [{"key": name, "kid"?: name, "bad"?: true}]}  (names: A, B, C, X)
  GET  /_keys  {name: 64-hex public key}; A is the key devices are provisioned with
  GET  /_log  {"checkins": [...], "events": [...], "downloads": [{"sha256", "encoding", "range", "status"}]}
  GET  /_log?id=ID  {"checkins": [the last 20 of that device], "events": [...]}; &type=T: only its events of type T
  GET  /_releases  {"r1": {path: sha256}, ...}; /_releases?name=N: only N
  POST /_quit

Enrollment: POST /api/v1/device/enroll with "Authorization: Bearer aloft_enr_test" and {"id": ID}
gives 201 {"id", "channel", "token": "aloft_dev_<n>"} (then that token checks in as ID), 409 for an id
enrolled before (or "dev-1"), 401 for any other secret; every attempt goes to /_log "enrollments".

FAULT is {"blob": path in the offered release ("<list>": its file list, "<firmware>": its image), "kind": K, "times": N (optional: only the first N
requests for that blob)}; K is "500", "404", "truncate" (half the body, then close), "corrupt"
(one bit flipped), "long" (Content-Length one too many), "packed" (the zlib form even when not asked
for), "stall" (half the body, then 4 s silence), "hang" (no answer at all for 30 s), "trickle" (64
bytes every 0.3 s) or "norange"
(Range ignored: 200 and the whole body). "hang": true makes every device request hang.
Blobs honour "Range: bytes=A-" (206, or 416 past the end); check-ins ignore "rejected" so
the device's own refusal is tested.

    python3 fake_server.py --state STATE.json [--lifetime SECONDS]

writes {"url", "token", "pubkey"} to STATE.json once it listens, and exits after --lifetime
seconds in any case so a failed test never leaves it behind.

    python3 fake_server.py --state STATE.json --tls

serves HTTPS instead, with a certificate for 127.0.0.1 (IP subjectAltName) from a CA made at start;
STATE.json then also holds "ca" (that CA, PEM) and "other_ca" (an unrelated CA, PEM).

    python3 fake_server.py --vectors OUT.json

writes signing fixtures for test_manifest.py instead (key, envelopes, tampered envelopes).
"""

import argparse
import base64
import hashlib
import json
import os
import random
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

TOKEN = "test-token"
ENROLL_SECRET = "aloft_enr_test"
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"aloft test key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"aloft other key").digest())
THIRD_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"aloft third key").digest())
UNTRUSTED_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"aloft untrusted key").digest())
KEYS = {"A": KEY, "B": OTHER_KEY, "C": THIRD_KEY, "X": UNTRUSTED_KEY}  # by name, for /_publish "sign"


def raw_public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def keyid(key):
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def canonical(value):
    # ASCII-only fixtures, so Python's key order equals UTF-8 byte order.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def file_list(files, extra_lines=()):
    """The file list (docs/protocol.md, "File list") of files {path: bytes}, as bytes; extra_lines are
    (sha256, size, path) put in sorted order with the rest, unchecked (for refused lists)."""
    rows = [(p, hashlib.sha256(b).hexdigest(), len(b)) for p, b in files.items()]
    rows += [(p, h, n) for h, n, p in extra_lines]
    return "".join("%s %s %s\n" % (h, n, p) for p, h, n in sorted(rows)).encode()


def manifest(version, sequence, files, boards=("*",), micropython="1.21", listing=None):
    """The format-2 manifest of files {path: bytes}; listing: the file list bytes to name instead."""
    listing = file_list(files) if listing is None else listing
    return {
        "channel": "stable",
        "compat": {"boards": list(boards), "micropython": micropython},
        "created": "2026-11-29T02:33:34Z",
        "files": {"count": listing.count(b"\n"), "sha256": hashlib.sha256(listing).hexdigest(), "size": len(listing)},
        "format": 2,
        "sequence": sequence,
        "version": version,
    }


def legacy_manifest(version, sequence, files, boards=("*",), micropython="1.21"):
    """The format-1 manifest of the same release, for agents before 0.3.0."""
    m = manifest(version, sequence, files, boards, micropython)
    m["format"] = 1
    m["files"] = [{"path": p, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for p, b in sorted(files.items())]
    return m


def envelope(m, key=KEY, kid=None):
    text = canonical(m)
    sig = key.sign(text.encode())
    return {"manifest": text, "signatures": [{"keyid": kid or keyid(key), "sig": base64.b64encode(sig).decode()}]}


def signed(m, sign):
    """The envelope of manifest m signed as sign says: [{"key": name, "kid": name (a forged keyid),
    "bad": true (a flipped bit)}, ...] with names of KEYS."""
    text = canonical(m)
    sigs = []
    for s in sign:
        sig = bytearray(KEYS[s["key"]].sign(text.encode()))
        if s.get("bad"):
            sig[10] ^= 1
        sigs.append({"keyid": keyid(KEYS[s.get("kid", s["key"])]), "sig": base64.b64encode(bytes(sig)).decode()})
    return {"manifest": text, "signatures": sigs}


def _text(n):
    lines = []
    i = 0
    while sum(map(len, lines)) < n:
        lines.append("line %06d: the quick brown fox jumps over the lazy dog\n" % i)
        i += 1
    return "".join(lines).encode()[:n]


def _noise(n):
    return random.Random(7).randbytes(n)


V1 = {"main.py": b'print("app 1.0.0")\n', "lib/util.py": b"X = 1\n", "lib/keep.py": b"KEEP = True\n"}
V2 = {
    "main.py": b'import aloft\nprint("app 2.0.0", aloft.last_result())\n',
    "lib/keep.py": V1["lib/keep.py"],
    "data/big.txt": _text(200 * 1024),  # compresses well: fetched through /zlib
    "data/noise.bin": _noise(40 * 1024),  # does not: fetched raw
    "data/dup.py": b'import aloft\nprint("app 2.0.0", aloft.last_result())\n',  # same blob as main.py
}
V3 = {"main.py": b'print("app 3.0.0")\n', "lib/keep.py": V1["lib/keep.py"]}  # drops the data/ folder
RELEASES = {"r1": ("1.0.0", 1, V1), "r2": ("2.0.0", 2, V2), "r3": ("3.0.0", 3, V3)}
COMPAT = {}  # name -> (boards, micropython) for published releases
EXTRA = {}  # name -> (manifest fields to add, signers) for published releases
FIRMWARE = {}  # name -> [image bytes] of a published release's firmware


# Variants whose file list breaks a rule: the list the manifest names (and signs) is this one.
BAD_LISTS = {
    "reserved": lambda files: file_list(dict(files, **{".aloft/trust.json": b"evil\n"})),
    "partialagent": lambda files: file_list(dict(files, **{"lib/aloft/update.py": b"evil\n"})),  # all of the agent or none
    "traversal": lambda files: file_list(files, [("0" * 64, 1, "../boot.py")]),
    "fileandfolder": lambda files: file_list(dict(files, **{"lib": b"x\n", "lib/y.py": b"y\n"})),
    "unsorted": lambda files: b"".join(sorted(file_list(files).splitlines(True), reverse=True)),
    "badline": lambda files: file_list(files).replace(b" ", b"  ", 1),
    "leadingzero": lambda files: file_list(files, [("1" * 64, "07", "z.py")]),
}


def release_envelope(name, variant, legacy=False):
    """The envelope the server offers for release name: format 2, or (legacy) format 1."""
    version, sequence, files = RELEASES[name]
    make = legacy_manifest if legacy else manifest
    if name in COMPAT and variant is None:
        boards, micropython = COMPAT[name]
        m = make(version, sequence, files, boards=boards, micropython=micropython)
        extra, sign = EXTRA.get(name, ({}, None))
        m.update(extra)
        return signed(m, sign) if sign else envelope(m)
    if variant == "board":
        return envelope(make(version, sequence, files, boards=("esp32*", "rp2-?")))
    if variant == "micropython":
        return envelope(make(version, sequence, files, micropython="9.1"))
    if variant in BAD_LISTS:
        return envelope(manifest(version, sequence, files, listing=BAD_LISTS[variant](files)))
    if variant == "countoff":  # files.count one more than the list has
        m = manifest(version, sequence, files)
        m["files"]["count"] += 1
        return envelope(m)
    if variant == "wrongkey":
        return envelope(manifest(version, sequence, files), key=OTHER_KEY)
    if variant == "forgedkeyid":
        return envelope(manifest(version, sequence, files), key=OTHER_KEY, kid=keyid(KEY))
    env = envelope(make(version, sequence, files))
    if variant == "badsig":
        sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
        sig[10] ^= 1
        env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    elif variant == "tampered":  # bytes changed after signing
        env["manifest"] = env["manifest"].replace('"version":"', '"version":"9')
    return env


def firmware_step(name, checkin, forced=None):
    """The step a device is offered of release name (docs/firmware.md, a stand-in for the server's rule): "firmware"
    when the release has an image for its build and it runs another, "wait" while its firmware is on trial, else None
    (the files); forced ("firmware" or "files") wins over the rule."""
    if forced:
        return None if forced == "files" else forced
    if checkin.get("fw_state") == "trial":
        return "wait"
    for f in EXTRA.get(name, ({}, None))[0].get("firmware", ()):
        if checkin.get("ota") and f["build"] == checkin.get("build") and f["sha256"] != checkin.get("fw_sha256"):
            return "firmware"
    return None


def add_blob(out, data):
    c = zlib.compressobj(9, zlib.DEFLATED, 10)
    out[hashlib.sha256(data).hexdigest()] = (data, c.compress(data) + c.flush())


def add_blobs(out, files):
    """Every file of a release and its file lists (the good one and every refused variant) as blobs."""
    for data in files.values():
        add_blob(out, data)
    add_blob(out, file_list(files))
    for bad in BAD_LISTS.values():
        add_blob(out, bad(files))


def blobs():
    out = {}
    for _, _, files in RELEASES.values():
        add_blobs(out, files)
    return out


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.release = None
        self.step = None  # "firmware" or "files": what every offer asks for, whatever the device runs
        self.variant = None
        self.fault = None
        self.hang = False
        self.offers = {}  # device id -> release name, for tests running several devices at once
        self.served = {}  # sha256 -> requests so far, for faults limited to the first N
        self.checkins = []
        self.events = []
        self.downloads = []
        self.enrollments = []  # {"id", "status"} per enrollment attempt
        self.tokens = {}  # device token -> id, issued by enrollment
        self.blobs = blobs()
        self.files = set(hashlib.sha256(b).hexdigest() for _, _, files in RELEASES.values() for b in files.values())  # blobs that are files, not lists


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_server: " + fmt % args + "\n")

    def _json(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null")

    def _authorized(self):
        auth = self.headers.get("Authorization") or ""
        if auth == "Bearer " + TOKEN or auth[7:] in self.state.tokens:
            return True
        self._json(401, {"error": "unauthorized", "message": "bad token"})
        return False

    def do_POST(self):
        s = self.state
        if self.path == "/_quit":
            self._json(200, {})
            threading.Thread(target=lambda: (time.sleep(0.1), os._exit(0))).start()
            return
        if self.path == "/_ctl":
            body = self._body()
            with s.lock:
                if "device" in body:
                    s.offers[body["device"]] = body.get("release")
                else:
                    s.release, s.variant, s.fault = body.get("release"), body.get("variant"), body.get("fault")
                    s.hang = bool(body.get("hang"))
                    s.step = body.get("step")
                    s.served = {}
            self._json(200, {})
            return
        if self.path == "/_publish":
            body = self._body()
            files = {p: base64.b64decode(b) for p, b in body["files"].items()}
            with s.lock:
                RELEASES[body["name"]] = (body["version"], body["sequence"], files)
                COMPAT[body["name"]] = (tuple(body.get("boards", ["*"])), body.get("micropython", "1.21"))
                extra = dict(body.get("extra") or {})
                if "trust" in extra:  # key names -> sorted hex keys
                    t = extra["trust"]
                    extra["trust"] = {"keys": sorted(raw_public(KEYS[k]).hex() for k in t["keys"]), "threshold": t.get("threshold", 1)}
                if body.get("firmware"):  # [{"build", "chip", "micropython", "mpy", "image": base64}]: the manifest's firmware
                    images = []
                    for f in body["firmware"]:
                        data = base64.b64decode(f["image"])
                        add_blob(s.blobs, data)
                        FIRMWARE.setdefault(body["name"], []).append(data)
                        entry = {k: f[k] for k in ("build", "chip", "micropython", "mpy")}
                        entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
                        images.append(entry)
                    extra["firmware"] = sorted(images, key=lambda e: e["build"])
                EXTRA[body["name"]] = (extra, body.get("sign"))
                add_blobs(s.blobs, files)
                s.files.update(hashlib.sha256(b).hexdigest() for b in files.values())
            self._json(200, {})
            return
        if self.path == "/api/v1/device/enroll":
            self._enroll()
            return
        if not self._authorized() or self._hang():
            return
        if self.path == "/api/v1/device/checkin":
            body = self._body()
            with s.lock:
                s.checkins.append(body)
                name, variant = s.offers.get(body["id"], s.release), s.variant
            if name is None or (RELEASES[name][1] <= body["sequence"] and variant != "replay"):
                self._json(200, {"action": "none", "poll": 300})
                return
            if body.get("format", 1) >= 2:  # format 2: the envelope alone; blobs compressed by Accept-Encoding
                answer = {"action": "update", "poll": 300, "release": release_envelope(name, variant)}
                step = firmware_step(name, body, s.step)
                if step == "wait":
                    self._json(200, {"action": "none", "poll": 300})
                    return
                if step:
                    answer["step"] = step
                self._json(200, answer)
                return
            zmap = {}
            for data in RELEASES[name][2].values():
                sha = hashlib.sha256(data).hexdigest()
                raw, packed = s.blobs[sha]
                if len(packed) < len(raw):
                    zmap[sha] = len(packed)
            self._json(200, {"action": "update", "poll": 300, "release": release_envelope(name, variant, True), "zlib": zmap})
        elif self.path == "/api/v1/device/events":
            body = self._body()
            with s.lock:
                s.events.append(body)
            self.send_response(204)
            self.send_header("Connection", "close")
            self.end_headers()
        else:
            self._json(404, {"error": "not_found", "message": self.path})

    def _enroll(self):
        s = self.state
        body = self._body()
        dev = body.get("id") if isinstance(body, dict) else None
        with s.lock:
            if self.headers.get("Authorization") != "Bearer " + ENROLL_SECRET:
                status, answer = 401, {"error": "unauthorized", "message": "unknown or revoked enrollment secret"}
            elif not isinstance(dev, str) or not dev:
                status, answer = 400, {"error": "bad_request", "message": "no id"}
            elif dev == "dev-1" or dev in s.tokens.values():
                status, answer = 409, {"error": "conflict", "message": "device %s exists" % dev}
            else:
                token = "aloft_dev_%d" % (len(s.tokens) + 1)
                s.tokens[token] = dev
                status, answer = 201, {"id": dev, "channel": "stable", "token": token}
            s.enrollments.append({"id": dev, "status": status})
        self._json(status, answer)

    def _hang(self):
        with self.state.lock:
            hang = self.state.hang
        if hang:
            time.sleep(30)
            self.close_connection = True
        return hang

    def do_GET(self):
        s = self.state
        if self.path == "/_log":
            with s.lock:
                self._json(200, {"checkins": s.checkins, "events": s.events, "downloads": s.downloads, "enrollments": s.enrollments})
            return
        if self.path.startswith("/_log?id="):  # one device's check-ins and events (&type=T: its events of that type)
            who, _, kind = self.path[9:].partition("&type=")
            mine = lambda items: [x for x in items if x.get("id") == who]
            with s.lock:
                self._json(200, {"checkins": mine(s.checkins)[-20:], "events": [e for e in mine(s.events) if not kind or e.get("type") == kind]})
            return
        if self.path == "/_keys":
            self._json(200, {name: raw_public(k).hex() for name, k in KEYS.items()})
            return
        if self.path.split("?")[0] == "/_releases":  # ?name=N: that release only
            files = lambda r: {p: hashlib.sha256(b).hexdigest() for p, b in r[2].items()}
            want = self.path.partition("?name=")[2]
            self._json(200, {name: files(r) for name, r in RELEASES.items() if not want or name == want})
            return
        if not self._authorized() or self._hang():
            return
        parts = self.path.split("/")  # ["", "api", "v1", "blobs", sha, ("zlib")]
        if len(parts) not in (5, 6) or parts[1:4] != ["api", "v1", "blobs"] or parts[4] not in s.blobs:
            self._json(404, {"error": "not_found", "message": self.path})
            return
        rng = self.headers.get("Range") if len(parts) == 5 else None
        raw, zform = s.blobs[parts[4]]
        kind = None
        with s.lock:
            fault = s.fault
            n = s.served[parts[4]] = s.served.get(parts[4], 0) + 1
            offered = RELEASES[s.release][2] if s.release else {}
        if fault and fault.get("times", n) >= n:
            if fault["blob"] == "<list>":  # the offered release's file list
                data = file_list(offered)
            elif fault["blob"] == "<firmware>":  # the offered release's (first) firmware image
                data = FIRMWARE.get(s.release, [b""])[0]
            else:
                data = offered.get(fault["blob"], RELEASES["r2"][2].get(fault["blob"], b""))
            if hashlib.sha256(data).hexdigest() == parts[4]:
                kind = fault["kind"]
        # /zlib (agents before 0.3.0), or Accept-Encoding: deflate without a Range when it is smaller ("packed": asked or not)
        asked = "deflate" in (self.headers.get("Accept-Encoding") or "") or kind == "packed"
        packed = len(parts) == 6 or (not rng and asked and len(zform) < len(raw))
        body = zform if packed else raw
        status = 200
        start = 0
        if rng and kind != "norange" and rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            start = int(rng[6:-1])
            status = 206 if start < len(body) else 416
        if kind in ("500", "404"):
            status = int(kind)
        with s.lock:
            s.downloads.append({"sha256": parts[4], "encoding": "zlib" if packed else "raw", "range": rng, "status": status, "fault": kind, "list": parts[4] not in s.files})
        if kind == "hang":
            time.sleep(30)
            self.close_connection = True
            return
        if status in (500, 404):
            self._json(status, {"error": "internal" if status == 500 else "not_found", "message": "injected"})
            return
        if status == 416:
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(body))
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        total = len(body)
        body = body[start:]
        if kind == "corrupt":
            body = bytearray(body)
            body[len(body) // 2] ^= 0x20
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        if packed and len(parts) == 5:
            self.send_header("Content-Encoding", "deflate")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, total - 1, total))
        self.send_header("Content-Length", str(len(body) + (1 if kind == "long" else 0)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if kind == "truncate":
                self.wfile.write(body[: len(body) // 2])
            elif kind == "stall":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                time.sleep(4)
            elif kind == "trickle":
                for i in range(0, len(body), 64):
                    self.wfile.write(body[i : i + 64])
                    self.wfile.flush()
                    time.sleep(0.3)
            else:
                self.wfile.write(body)
        except OSError:  # the device gave up on us
            pass
        self.close_connection = True


def write_vectors(path):
    m = manifest("1.0.0", 1, V1)
    good = envelope(m)
    tampered = dict(good, manifest=good["manifest"].replace("1.0.0", "1.0.1"))
    out = {
        "key": raw_public(KEY).hex(),
        "other_key": raw_public(OTHER_KEY).hex(),
        "good": good,
        "tampered": tampered,
        "wrongkey": envelope(m, key=OTHER_KEY),
        "forgedkeyid": envelope(m, key=OTHER_KEY, kid=keyid(KEY)),
        "two_signatures": {
            "manifest": good["manifest"],
            "signatures": envelope(m, key=OTHER_KEY)["signatures"] + good["signatures"],
        },
        "third_key": raw_public(THIRD_KEY).hex(),
        # for a device trusting A (key), B (other_key) and C (third_key) with threshold 2
        "signed_ab": signed(m, [{"key": "A"}, {"key": "B"}]),
        "signed_xcb": signed(m, [{"key": "X"}, {"key": "C"}, {"key": "B"}]),
        "signed_badb_a_c": signed(m, [{"key": "B", "bad": True}, {"key": "A"}, {"key": "C"}]),
        "signed_aa": signed(m, [{"key": "A"}, {"key": "A"}]),
        "signed_ax": signed(m, [{"key": "A"}, {"key": "X"}]),
        "signed_a_forged_b": signed(m, [{"key": "A"}, {"key": "X", "kid": "B"}]),
        "signed_a_badb": signed(m, [{"key": "A"}, {"key": "B", "bad": True}]),
        "signed_9": signed(m, [{"key": "A"}] * 9),
    }
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


def tls_context():
    """An ssl context serving a certificate for 127.0.0.1 signed by a new CA; (context, CA PEM, other CA PEM)."""
    import datetime
    import ipaddress
    import ssl
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(name, key, issuer, issuer_key, ca):
        b = x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        b = b.issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
        b = b.not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def new_ca(name):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return key, cert(name, key, subject, key, True)

    ca_key, ca = new_ca("aloft test CA")
    _, other = new_ca("aloft other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert("127.0.0.1", key, ca.subject, ca_key, False)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/cert.pem", "w") as f:
            f.write(pem(leaf))
        with open(d + "/key.pem", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
    return ctx, pem(ca), pem(other)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--vectors")
    ap.add_argument("--tls", action="store_true")
    a = ap.parse_args()
    if a.vectors:
        write_vectors(a.vectors)
        return
    Handler.state = State()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    info = {"url": "http://127.0.0.1:%d" % httpd.server_address[1], "token": TOKEN, "pubkey": raw_public(KEY).hex(), "enroll": ENROLL_SECRET}
    if a.tls:
        ctx, info["ca"], info["other_ca"] = tls_context()
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        info["url"] = "https" + info["url"][4:]
    threading.Thread(target=lambda: (time.sleep(a.lifetime), os._exit(3)), daemon=True).start()
    tmp = a.state + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.rename(tmp, a.state)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
