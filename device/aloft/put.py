# A new file in the plan (merge.py): its "p" op, what must go aside first for it ("m"), and the flash it
# needs, added up in the walk w (folders.Walk).
from micropython import const
from . import config, fs
from .folders import blocks

_INWAY = const(8)  # folders in the way of new files, waiting for their verdict
_INLINE = const(64)  # LittleFS keeps a file this small in its folder's metadata (its limit is 128 bytes or more)
# Bytes of folder metadata per entry beyond its name (tags, the place of the file, commit padding, "#new"), and a
# staged copy's entry (config.staged names are 33 characters). LittleFS splits a folder's metadata pair when it is
# half full, so a pair may hold only 1 KiB of entries (plan.py): measured, 300 files of a block each in one folder
# took 358 blocks at the install's peak beyond what was on flash, 46 more than their own and the fixed ones.
_ENTRY = const(32)
_STAGED = const(61)  # 33 characters + _ENTRY, less the "#new" a staged name does not have


def write(w, e, st, out):
    # A new file: its folders must be folders, or files the release drops; a folder where it goes is
    # set aside whole, if only release files are in it (folders.Walk.enter judges that when the folder closes).
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
        fs.rmtree(full + "#old")
        out.write("m %s\n" % full)
        w.inway.append(full)
        st = None
    for side in ("#new", "#old"):  # not ours yet: apply would take them for its own
        fs.rmtree(full + side)
    out.write("p %s %d %d %s\n" % (e[0], e[1], st is not None, full))
    w.touched = w.touched or p.startswith(config.AGENT_FILES)
    # Folder metadata: the staged copy's entry in the stage, the entry at the path (path#new, then the
    # path) and path#old beside it when it replaces a file; a small file's bytes are in each of them.
    w.meta += _STAGED + (len(full) - full.rfind("/") + _ENTRY) * (1 + (st is not None))
    if e[1] <= _INLINE:
        w.meta += 3 * e[1]
        return
    s = fs.stat(config.staged(e[0], full))
    if s is None:  # downloaded already: on flash now
        s = fs.stat(config.staged(e[0], full) + ".part")
        w.blocks += blocks(e[1]) - (s[6] // 4096 if s else 0)
