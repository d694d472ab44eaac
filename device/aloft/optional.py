# The optional manifest fields expires, trust and firmware (docs/protocol.md, docs/firmware.md): their rules,
# loaded by manifest.parse only for a manifest that has one of them.
# pack: zlib


def check(m, is_time):
    # ValueError(reason) unless m's expires (when present) is a real time after created, and its
    # trust (when present) is 1-8 keys, 64 lowercase hex, sorted, distinct, with distinct key ids,
    # and a threshold of 1 up to their number. is_time: manifest.is_time (given: manifest.py loads this module).
    if "expires" in m:
        e = m["expires"]
        if not is_time(e) or not _real(e):
            raise ValueError("bad expires time")
        if e <= m["created"]:  # fixed width: comparing the strings compares the times
            raise ValueError("expires %s is not after created %s" % (e, m["created"]))
    if "trust" in m:
        _trust(m["trust"])
    if "firmware" in m:
        _firmware(m["firmware"])


def _real(t):
    # A time that exists: month 01-12, a day that month has, hour 00-23, minute and second 00-59.
    y, mo, d = int(t[:4]), int(t[5:7]), int(t[8:10])
    if not 0 < mo < 13:
        return False
    days = b"\x1f\x1c\x1f\x1e\x1f\x1e\x1f\x1f\x1e\x1f\x1e\x1f"[mo - 1] + (mo == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))
    return 0 < d <= days and int(t[11:13]) < 24 and int(t[14:16]) < 60 and int(t[17:19]) < 60


def _trust(t):
    from binascii import unhexlify
    from hashlib import sha256

    keys = t.get("keys") if isinstance(t, dict) and len(t) == 2 else None
    if not isinstance(keys, list) or not 0 < len(keys) <= 8:
        raise ValueError("bad trust")
    prev = ""
    ids = set()
    for k in keys:
        if not isinstance(k, str) or len(k) != 64 or k <= prev or k.strip("0123456789abcdef"):
            raise ValueError("bad trust.keys: not sorted, distinct, 64 lowercase hex")
        prev = k
        ids.add(sha256(unhexlify(k)).digest()[:8])
    if len(ids) != len(keys):
        raise ValueError("bad trust.keys: two share a key id")
    n = t.get("threshold")
    if type(n) is not int or not 0 < n <= len(keys):
        raise ValueError("bad trust.threshold")


def _firmware(f):
    # 1-8 images sorted by build, each {build, chip, micropython X.Y.Z, mpy, sha256, size}.
    if not isinstance(f, list) or not 0 < len(f) <= 8:
        raise ValueError("bad firmware")
    prev = ""
    for e in f:
        b = e.get("build") if isinstance(e, dict) and len(e) == 6 else None
        if not isinstance(b, str) or not 0 < len(b) <= 48 or b <= prev or b.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"):
            raise ValueError("bad firmware build (or not sorted, distinct)")
        prev = b
        v = e.get("micropython")
        h = e.get("sha256")
        if not isinstance(e.get("chip"), str) or not isinstance(v, str) or len(v.split(".")) != 3 or v.strip("0123456789."):
            raise ValueError("bad firmware " + b)
        if not isinstance(h, str) or len(h) != 64 or h.strip("0123456789abcdef"):
            raise ValueError("bad firmware %s sha256" % b)
        for k, lo, hi in (("mpy", 1, 255), ("size", 256, 16 * 1024 * 1024)):
            if type(e.get(k)) is not int or not lo <= e[k] <= hi:
                raise ValueError("bad firmware %s %s" % (b, k))
