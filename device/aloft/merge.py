# The merge at the heart of planning an install (plan.py): two sorted file lists on flash, the installed
# release's and the new one's, walked together a line of each at a time, so RAM holds neither. Every
# path is dropped (only in the installed list), kept (same bytes on flash) or put; folders.py and put.py
# judge what is in the way of a put and which folders go aside whole.
from . import config, core, fs


def _line(f, skip_agent):
    # The next (sha256, size, path) of a file list, None at its end. The lists were checked (listing.py),
    # or written by this agent.
    while True:
        line = f.readline()
        if not line:
            return None
        sp = line.find(" ", 65)
        e = (line[:64], int(line[65:sp]), line[sp + 1 : -1])
        if not (skip_agent and e[2].startswith(config.AGENT_FILES)):  # the agent is not the installed release's
            return e


def _digest(path):
    from binascii import hexlify
    from hashlib import sha256

    h = sha256()
    fs.feed(path, h, bytearray(256))
    return hexlify(h.digest()).decode()


def write(out, have, new_list, w):
    """Write to out the ops that turn the installed release (record have) into the one whose checked
    file list is at new_list; w (folders.Walk) keeps what the walk knows and adds up the flash needed.
    ValueError when a file or folder no release installed is in the way."""
    from . import put

    old = have.get("list")
    if old:  # the installed release's file list, once it hashes to what installed.json says; else every file is judged by its bytes
        if _digest(config.LISTS + "/" + old) == old:
            old = open(config.LISTS + "/" + old)
        else:
            core.log("the installed file list is damaged; judging files by their bytes")
            old = None
    new = open(new_list)
    try:
        a = _line(old, True) if old else None
        b = _line(new, False)
        while a or b:
            if b is None or a is not None and a[2] < b[2]:
                e, kind = a, 1  # only in the installed release
                a = _line(old, True)
            elif a is None or b[2] < a[2]:
                e, kind = b, 2  # only in the new one
                b = _line(new, False)
            else:
                e, kind = b, 3 if a[0] == b[0] else 4  # in both: the same bytes, or new ones
                a, b = _line(old, True), _line(new, False)
            p = e[2]
            w.enter(p, out)
            w.count(p, kind)
            full = "/" + p
            st = fs.stat(full)
            if kind == 1:  # dropped: aside until the release is confirmed
                if st is not None and not st[0] & 0x4000:
                    fs.rmtree(full + "#old")
                    out.write("d %s\n" % full)
                    w.dropped.append(p)
                    w.touched = w.touched or p.startswith(config.AGENT_FILES)
                continue
            if p.startswith(config.AGENT_FILES):
                w.agent_file(p)
            if st is not None and not st[0] & 0x4000 and st[6] == e[1]:
                if kind == 3:
                    continue  # unchanged
                if kind == 2 and _digest(full) == e[0]:
                    continue  # there, but no release's (or the agent): kept, it has the bytes already
            put.write(w, e, st, out)
        w.enter("", out)
    finally:
        new.close()
        if old:
            old.close()
