# The rules of a release path (docs/protocol.md, "Paths"), for listing.py.

_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+=@~,/"


def error(p):
    """Why p is not a valid release path (docs/protocol.md, Paths), or None when it is."""
    if not isinstance(p, str) or not p:
        return "empty"
    if "\\" in p:
        return "backslash"
    for ch in p:
        if ch not in _CHARS:
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
