# Whether a release fits a device: board globs and MicroPython versions (docs/protocol.md, "compat"): the
# shape of a manifest's compat (manifest.py), and what it says about this device (verify.py).


def check(compat):
    # ValueError unless compat is a manifest's valid "compat": 1-16 board globs, a minimum MicroPython X.Y[.Z].
    boards = compat.get("boards") if isinstance(compat, dict) else None
    if not isinstance(boards, list) or not 0 < len(boards) <= 16 or not all(isinstance(b, str) for b in boards):
        raise ValueError("bad compat.boards")
    if "micropython" in compat and version(compat["micropython"], True) is None:
        raise ValueError("bad compat.micropython")
    if "mpy" in compat and (type(compat["mpy"]) is not int or not 0 < compat["mpy"] < 256):
        raise ValueError("bad compat.mpy")


def glob_match(pattern, name):
    # fnmatch with only '*' (any run) and '?' (one character), case-sensitive.
    p = i = 0
    star = -1
    mark = 0
    while i < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[i]):
            p += 1
            i += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p
            mark = i
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            i = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def version(s, strict=False):
    # (major, minor, patch) of "X.Y" or "X.Y.Z"; unless strict, a "-pre" or "+build" suffix is
    # dropped. None when s is not such a version.
    if not isinstance(s, str):
        return None
    if not strict:
        s = s.split("+")[0].split("-")[0]
    parts = s.split(".")
    if not 2 <= len(parts) <= 3 or not all(x and not x.strip("0123456789") for x in parts):
        return None
    v = [int(x) for x in parts]
    return (v[0], v[1], v[2] if len(v) == 3 else 0)


def incompatibility(m, board, micropython, mpy=None):
    # Why a parsed manifest does not fit this device (or this device on the firmware it is about to take), or None when
    # it does. mpy: sys.implementation._mpy (its low byte is the .mpy version the firmware loads), None when unknown.
    compat = m["compat"]
    if not any(glob_match(g, board) for g in compat["boards"]):
        return "board %s not in %s" % (board, ",".join(compat["boards"]))
    need = version(compat.get("micropython"))
    if need and (version(micropython) or (0, 0, 0)) < need:
        return "needs MicroPython %s, device has %s" % (compat["micropython"], micropython)
    if compat.get("mpy") and mpy is not None and mpy & 0xFF != compat["mpy"]:
        return "needs .mpy version %d, the firmware loads %d" % (compat["mpy"], mpy & 0xFF)
    return None
