# The rules of a release path (docs/protocol.md, "Paths") and of a file list's line (listing.py).
# pack: zlib
from micropython import const

_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+=@~,/"
_MAX_LINE = const(203)  # 64 hex, a space, 8 digits, a space, 128 bytes of path, a newline
_MAX_SIZE = const(16 * 1024 * 1024)


def entry(line, n):
    # The path of line n of a file list (bytes, with its newline) once it is <sha256> <size> <path> by every
    # rule; else ValueError(reason).
    from binascii import unhexlify

    where = "file list line %d" % n
    if len(line) > _MAX_LINE or line[-1] != 10 or line[64:65] != b" ":
        raise ValueError(where + ": not <sha256> <size> <path>")
    sha = line[:64].decode()
    try:
        if len(unhexlify(sha)) != 32 or sha != sha.lower():
            raise ValueError
    except ValueError:
        raise ValueError(where + ": bad sha256")
    sp = line.find(b" ", 65)
    size = line[65:sp].decode() if sp > 65 else ""
    if not size.isdigit() or len(size) > 8 or size[0] == "0" and len(size) > 1 or int(size) > _MAX_SIZE:
        raise ValueError(where + ": bad size")
    p = line[sp + 1 : -1].decode()
    why = error(p)
    if why:
        raise ValueError("bad path %r: %s" % (p, why))
    return p


def error(p):
    # Why p is not a valid release path (docs/protocol.md, Paths), or None when it is.
    if not isinstance(p, str) or not p:
        return "empty"
    if "\\" in p:
        return "backslash"
    if p.strip(_CHARS):
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
