# The folders of the paths the merge (merge.py) walks in order: opened as a path enters them, closed when it
# leaves; what closes with none of the new release's files goes aside whole, or must (folders.Walk).
import os
from . import fs, tree


def count(path):
    # How many files the tree at path holds (a file: 1; nothing there: 0).
    st = fs.stat(path)
    if st is None:
        return 0
    if not st[0] & 0x4000:
        return 1
    n = 0
    for entry in os.ilistdir(path):
        n += count(path + "/" + entry[0])
    return n


def enter(w, p, out):
    # Close the open folders that are not folders of path p ("": all), then open p's own. A folder
    # that closes with none of the new release's files goes aside whole ("m") when it holds only files
    # the installed release has (so a package replaced by a module of its name does not shadow it);
    # one in the way of a new file must, or the release cannot be installed.
    dirs = w.dirs
    while dirs and not p.startswith(dirs[-1][0] + "/"):
        d = dirs.pop()
        if dirs:
            dirs[-1][1] = dirs[-1][1] or d[1]
            dirs[-1][2] += d[2]
        full = "/" + d[0]
        if d[1] or not tree.is_dir(full):
            continue
        mine = count(full) == d[2]
        if full in w.inway:
            w.inway.remove(full)
            if not mine:
                raise ValueError("folder %s holds files no release installed; it is in the way of the file %s" % (d[0], d[0]))
        elif mine:
            tree.rmtree(full + "#old")
            out.write("m %s\n" % full)
    if not p:
        for full in w.inway:  # folders no release file was ever in: only an empty one may go
            if count(full):
                raise ValueError("folder %s holds files no release installed; it is in the way of a new file" % full[1:])
        return
    i = len(dirs[-1][0]) + 1 if dirs else 0
    while True:
        i = p.find("/", i)
        if i < 0:
            return
        dirs.append([p[:i], False, 0])
        i += 1
