# Signed release envelopes: which manifest a trusted key signed. Checked before the manifest is
# even parsed; the bytes verified are the string as received, never a re-encoding.


def verify(envelope, keys):
    """The manifest string of a signed envelope, if a signature by one of keys (64-hex Ed25519
    public keys) verifies over its UTF-8 bytes exactly as received; else ValueError."""
    from binascii import a2b_base64, hexlify, unhexlify
    from hashlib import sha256
    from . import ed25519

    text = envelope.get("manifest") if isinstance(envelope, dict) else None
    sigs = envelope.get("signatures") if text is not None else None
    if not isinstance(text, str) or not isinstance(sigs, list):
        raise ValueError("malformed release envelope")
    trusted = {}
    for key in keys:
        try:
            raw = unhexlify(key)
        except (TypeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("config.json has a bad key %r: not 64 hex characters" % (key,))
        trusted[hexlify(sha256(raw).digest()[:8]).decode()] = raw
    for s in sigs:
        raw = trusted.get(s.get("keyid")) if isinstance(s, dict) else None
        if raw is None:
            continue
        try:
            sig = a2b_base64(s["sig"])
        except (KeyError, TypeError, ValueError):
            continue
        if ed25519.verify(raw, text, sig):
            return text
    raise ValueError("no valid signature by a trusted key")
