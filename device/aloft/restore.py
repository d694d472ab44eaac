# Taking an install back: the exact inverse of apply.py, for an undo (not committed, trial.undo) and a
# rollback (on trial, rollback.py). Loaded only then.
# pack: zlib
from . import fs, tree
from .journal import placed
from .ops import Ops


def restore(j):
    # The exact inverse of apply's ops, kind by kind in reverse (p, m, d): a new file goes (to path#new,
    # then) away, the old file comes back. A reset in the middle leaves a state either direction can finish (a
    # roll forward then finds new files missing and gives way to an undo).
    with Ops(j, "p") as ops:
        for path, src, old in ops:
            new = path + "#new"
            if placed(path, src, old):
                fs.rename(path, new)
            if old and fs.stat(old) is not None:
                fs.rename(old, path)
            fs.remove(new)
            tree.prune(path)  # folders the put created, even if the reset came before its rename
    # A folder set aside may hold another one set aside (apply did the inner first): repeat until none
    # comes back, at most once per level of a path.
    moved = True
    while moved:
        moved = False
        with Ops(j, "m") as ops:
            for path, _, old in ops:
                if fs.stat(old) is not None and fs.stat(path) is None:
                    fs.rename(old, path)
                    moved = True
    with Ops(j, "d") as ops:
        for path, _, old in ops:
            if fs.stat(old) is not None:
                tree.makedirs(path[: path.rfind("/")])
                fs.rename(old, path)
