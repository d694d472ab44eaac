# Format-1 release manifests (docs/protocol.md): every field rule, checked after the signature
# (signature.py) and before anything from the manifest reaches the filesystem.
from micropython import const
from .compat import only, version

_MAX_SEQUENCE = 2**53 - 1
_MAX_SIZE = const(16 * 1024 * 1024)
_PATH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+=@~,/"
_HEX = "0123456789abcdef"


def parse(text):
    """The manifest as a dict after checking every rule of format 1; else ValueError(reason)."""
    import json

    try:
        m = json.loads(text)
    except ValueError:
        raise ValueError("manifest is not JSON")
    if not isinstance(m, dict) or m.get("format") != 1 or type(m.get("format")) is not int:
        raise ValueError("unsupported manifest format")
    v = m.get("version")
    if not isinstance(v, str) or not 0 < len(v) <= 64 or not only(v, _PATH_CHARS[:63] + "-+"):
        raise ValueError("bad version")
    _int(m.get("sequence"), 1, _MAX_SEQUENCE, "sequence")
    c = m.get("channel")
    if not isinstance(c, str) or not 0 < len(c) <= 32 or c[0] == "-" or not only(c, _PATH_CHARS[26:62] + "-"):
        raise ValueError("bad channel")
    t = m.get("created")
    if not _time(t):
        raise ValueError("bad created time")
    if "expires" in m or "trust" in m:  # rarely there: their rules load only then
        from . import optional

        optional.check(m, _time)
    compat = m.get("compat")
    boards = compat.get("boards") if isinstance(compat, dict) else None
    if not isinstance(boards, list) or not 0 < len(boards) <= 16 or not all(isinstance(b, str) for b in boards):
        raise ValueError("bad compat.boards")
    if "micropython" in compat and version(compat["micropython"], True) is None:
        raise ValueError("bad compat.micropython")
    files = m.get("files")
    if not isinstance(files, list) or not 0 < len(files) <= 256:
        raise ValueError("bad files list")
    prev = ""
    agent = 0  # files of the agent, and whether its __init__.py is one: all of it or none
    for f in files:
        p = f.get("path") if isinstance(f, dict) else None
        why = path_error(p)
        if why:
            raise ValueError("bad path %r: %s" % (p, why))
        if p.startswith("lib/aloft/"):
            agent |= 3 if p == "lib/aloft/__init__.py" else 1
        if p <= prev:
            raise ValueError("files not sorted by path or not unique at " + p)
        prev = p
        h = f.get("sha256")
        if not isinstance(h, str) or len(h) != 64 or not only(h, _HEX):
            raise ValueError("bad sha256 for " + p)
        _int(f.get("size"), 0, _MAX_SIZE, "size of " + p)
    # A path cannot be a file and a folder at once ("lib" and "lib/x.py").
    paths = set(f["path"] for f in files)
    if agent == 1:
        raise ValueError("a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing")
    for p in paths:
        i = p.find("/")
        while i > 0:
            if p[:i] in paths:
                raise ValueError("path %s is both a file and a folder" % p[:i])
            i = p.find("/", i + 1)
    return m


def path_error(p):
    """Why p is not a valid release path (docs/protocol.md, Paths), or None when it is."""
    if not isinstance(p, str) or not p:
        return "empty"
    if "\\" in p:
        return "backslash"
    if not only(p, _PATH_CHARS):
        return "character outside A-Z a-z 0-9 . _ - + = @ ~ ,"
    if len(p) > 128:
        return "longer than 128 bytes"
    segs = p.split("/")
    if len(segs) > 8:
        return "more than 8 segments"
    for s in segs:
        if not s:
            return "absolute, trailing slash or empty segment"
        if s == "." or s == "..":
            return "'.' or '..' segment"
        if len(s) > 64:
            return "segment longer than 64 bytes"
    if p == "boot.py" or segs[0] == ".aloft" or p == "lib/aloft":  # lib/aloft/...: the agent, updatable
        return "reserved for the agent"
    return None


def _time(t):
    # YYYY-MM-DDTHH:MM:SSZ, digits where digits go.
    return (
        isinstance(t, str)
        and len(t) == 20
        and t[4] + t[7] + t[10] + t[13] + t[16] + t[19] == "--T::Z"
        and only(t[:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16] + t[17:19], _HEX[:10])
    )


def _int(v, lo, hi, what):
    if type(v) is not int or not lo <= v <= hi:
        raise ValueError("bad " + what)
