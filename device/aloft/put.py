# A new file in the plan (merge.py): its "p" op and what must go aside first for it ("m"); the walk w
# (folders.Walk) adds up the flash it needs.
from micropython import const
from . import config, fs, tree

_INWAY = const(8)  # folders in the way of new files, waiting for their verdict


def write(w, e, st, out):
    # A new file: its folders must be folders, or files the release drops; a folder where it goes is
    # set aside whole, if only release files are in it (dirs.enter judges that when the folder closes).
    p, last = e[2], w.last
    c = 0
    while c < len(last) and c < len(p) and last[c] == p[c]:
        c += 1
    i = p.rfind("/", 0, c + 1) + 1  # the folders p shares with the previous put were checked then
    while True:
        i = p.find("/", i)
        if i < 0:
            break
        f = fs.stat("/" + p[:i])
        if f is None or not f[0] & 0x4000:
            if f is not None and p[:i] not in w.dropped:
                raise ValueError("file %s is in the way of %s" % (p[:i], p))
            w.blocks += 2 * p.count("/", i)  # this folder and the ones below it are new
            break
        i += 1
    w.last = p
    full = "/" + p
    if st is not None and st[0] & 0x4000:
        if len(w.inway) == _INWAY:
            raise ValueError("more than %d folders are in the way of new files" % _INWAY)
        tree.rmtree(full + "#old")
        out.write("m %s\n" % full)
        w.inway.append(full)
        st = None
    for side in ("#new", "#old"):  # not ours yet: apply would take them for its own
        tree.rmtree(full + side)
    out.write("p %s %d %d %s\n" % (e[0], e[1], st is not None, full))
    w.touched = w.touched or p.startswith(config.AGENT_FILES)
    w.add(e, full, st is not None)
