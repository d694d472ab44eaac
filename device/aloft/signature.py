# Signed release envelopes: which manifest enough trusted keys signed. Checked before the manifest
# is even parsed; the bytes verified are the string as received, never a re-encoding. The stage after the
# offer (update.py), on its own so that Ed25519 loads with as little else in RAM as possible.


def run(job):
    # job.text, the manifest of the offered envelope job.release once it is signed under the current trust
    # (/.aloft/trust.json, else config.json's keys and threshold); else the check fails with the reason.
    from . import core, fs, where

    trust = where.TRUST
    where = None
    core.unload("where")  # the state files' names need not share the heap with Ed25519
    release, job.release = job.release, None
    try:
        try:
            t = fs.read_json(trust)
            keys, n = t["keys"], t["threshold"]
        except OSError:  # none adopted yet (an unreadable one is a refusal, never a fallback)
            keys, n = job.cfg["keys"], job.cfg.get("threshold", 1)
        t = None
        job.text = verify(release, keys, n)
    except Exception as e:  # ValueError: refused, the text says why; anything else: a bug or an exhausted heap
        job.fail(core.reason(e))


def verify(envelope, keys, threshold=1):
    # The manifest string of a signed envelope, once signatures by threshold distinct keys of keys
    # (64-hex Ed25519 public keys) verify over its UTF-8 bytes exactly as received; else ValueError.
    from binascii import a2b_base64, hexlify, unhexlify
    from hashlib import sha256

    try:
        from hashlib import sha512  # a few custom firmwares have it; stock MicroPython does not
    except ImportError:
        from .sha512 import sha512  # compiled (with compress.py) before ed25519.py and curve.py: less is live
    sha512 = None
    from . import ed25519

    text = envelope.get("manifest") if isinstance(envelope, dict) else None
    sigs = envelope.get("signatures") if text is not None else None
    if not isinstance(text, str) or not isinstance(sigs, list) or not 0 < len(sigs) <= 8:
        raise ValueError("malformed release envelope")  # more than 8: refused before any is verified
    if type(threshold) is not int or not 0 < threshold <= len(keys):
        raise ValueError("bad threshold %r for %d key(s)" % (threshold, len(keys)))
    trusted = {}
    for key in keys:
        try:
            raw = unhexlify(key)
        except (TypeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("config.json has a bad key %r: not 64 hex characters" % (key,))
        trusted[hexlify(sha256(raw).digest()[:8]).decode()] = raw
    good = set()
    for s in sigs:  # in the order sent; an untrusted key is skipped unverified, a key counts once
        kid = s.get("keyid") if isinstance(s, dict) else None
        raw = trusted.get(kid) if isinstance(kid, str) else None
        if raw is None or kid in good:
            continue
        try:
            sig = a2b_base64(s["sig"])
        except (KeyError, TypeError, ValueError):
            continue
        if ed25519.verify(raw, text, sig):
            good.add(kid)
            if len(good) >= threshold:
                return text
    raise ValueError("signed by %d trusted key(s), %d needed" % (len(good), threshold))
