# The merge at the heart of planning an install (plan.py): two sorted file lists on flash, the installed
# release's and the new one's, walked together a line of each at a time, so RAM holds neither. Every
# path is dropped (only in the installed list), kept (same bytes on flash) or put; dirs.py and put.py judge
# what is in the way of a put and which folders go aside whole, folders.Walk keeps what they know.
from . import config, fs, tree


def write(out, have, new_list, w):
    # Write to out the ops that turn the installed release (record have) into the one whose checked
    # file list is at new_list; w (folders.Walk) keeps what the walk knows and adds up the flash needed.
    # ValueError when a file or folder no release installed is in the way.
    from . import dirs, put
    from .lists import digest, entry, installed

    old = installed(have)
    new = open(new_list)
    try:
        a = entry(old, True) if old else None
        b = entry(new, False)
        while a or b:
            if b is None or a is not None and a[2] < b[2]:
                e, kind = a, 1  # only in the installed release
                a = entry(old, True)
            elif a is None or b[2] < a[2]:
                e, kind = b, 2  # only in the new one
                b = entry(new, False)
            else:
                e, kind = b, 3 if a[0] == b[0] else 4  # in both: the same bytes, or new ones
                a, b = entry(old, True), entry(new, False)
            p = e[2]
            dirs.enter(w, p, out)
            w.count(p, kind)
            full = "/" + p
            st = fs.stat(full)
            if kind == 1:  # dropped: aside until the release is confirmed
                if st is not None and not st[0] & 0x4000:
                    tree.rmtree(full + "#old")
                    out.write("d %s\n" % full)
                    w.dropped.append(p)
                    w.touched = w.touched or p.startswith(config.AGENT_FILES)
                continue
            if p.startswith(config.AGENT_FILES):
                w.agent_file(p)
            if st is not None and not st[0] & 0x4000 and st[6] == e[1]:
                if kind == 3:
                    continue  # unchanged
                if kind == 2 and digest(full) == e[0]:
                    continue  # there, but no release's (or the agent): kept, it has the bytes already
            put.write(w, e, st, out)
        dirs.enter(w, "", out)
    finally:
        new.close()
        if old:
            old.close()
