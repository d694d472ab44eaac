# Format-2 release manifests (docs/protocol.md, "Release manifest (format 2)"): every field rule, checked
# after the signature (signature.py); compat's in compat.py, expires' and trust's in optional.py. The file
# list the manifest names is checked by listing.py.
from micropython import const

_MAX_SEQUENCE = 2**53 - 1
_MAX_FILES = const(4096)
_MAX_LIST = const(1024 * 1024)
_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-+"  # a version's; a channel's: [26:62] and "-"
_HEX = "0123456789abcdef"


def parse(text):
    # The manifest as a dict after checking every rule of format 2; else ValueError(reason).
    import json

    try:
        m = json.loads(text)
    except ValueError:
        raise ValueError("manifest is not JSON")
    if not isinstance(m, dict) or m.get("format") != 2 or type(m.get("format")) is not int:
        raise ValueError("unsupported manifest format")
    v = m.get("version")
    if not isinstance(v, str) or not 0 < len(v) <= 64 or v.strip(_CHARS):
        raise ValueError("bad version")
    _int(m.get("sequence"), 1, _MAX_SEQUENCE, "sequence")
    c = m.get("channel")
    if not isinstance(c, str) or not 0 < len(c) <= 32 or c[0] == "-" or c.strip(_CHARS[26:62] + "-"):
        raise ValueError("bad channel")
    if not is_time(m.get("created")):
        raise ValueError("bad created time")
    if "expires" in m or "trust" in m or "firmware" in m:  # rarely there: their rules load only then
        from . import optional

        optional.check(m, is_time)
    from . import compat

    compat.check(m.get("compat"))
    f = m.get("files")
    if not isinstance(f, dict):
        raise ValueError("bad files")
    _int(f.get("count"), 1, _MAX_FILES, "files.count")
    _int(f.get("size"), 1, _MAX_LIST, "files.size")
    h = f.get("sha256")
    if not isinstance(h, str) or len(h) != 64 or h.strip(_HEX):
        raise ValueError("bad files.sha256")
    return m


def is_time(t):
    # YYYY-MM-DDTHH:MM:SSZ, digits where digits go.
    return (
        isinstance(t, str)
        and len(t) == 20
        and t[4] + t[7] + t[10] + t[13] + t[16] + t[19] == "--T::Z"
        and not (t[:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16] + t[17:19]).strip(_HEX[:10])
    )


def _int(v, lo, hi, what):
    if type(v) is not int or not lo <= v <= hi:
        raise ValueError("bad " + what)
