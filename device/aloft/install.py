# Installing a staged release through a journal. The journal lists every rename before the first
# one happens and holds the new installed record, so after a reset at any point the install can be
# finished (roll forward) or undone (roll back) from the journal and the flash alone.
#
# ops, applied in order (dels first, so a new folder may take the place of a dropped file):
#   ["del", path, backup]        path -> backup
#   ["put", path, src, backup]   path -> backup (backup is None when path did not exist), src -> path
# Each op checks what is already done, so running apply or undo again after a reset is safe.
# Writing installed.json is the commit point. The journal is removed once the files and
# installed.json agree again (after the commit, or after an undo), then backups and stage.
import os
from . import config, fs


def _parent(path):
    return path[: path.rfind("/")]


def plan(m, puts, installed, buf):
    """The journal for manifest m whose entries puts are staged as config.STAGE/<sha256>.
    Raises ValueError when a file cannot be placed (a folder is in the way)."""
    new = {}
    for f in m["files"]:
        new[f["path"]] = f["sha256"]
    ops = []
    dropped = set()
    for path in sorted(installed["files"]):
        if path not in new and fs.stat("/" + path) is not None:
            ops.append(["del", "/" + path, "%s/%d" % (config.BACKUP, len(ops))])
            dropped.add(path)
    used = {}
    for f in puts:
        path = "/" + f["path"]
        if fs.is_dir(path):
            raise ValueError("a folder is in the way of " + f["path"])
        i = path.find("/", 1)
        while i > 0:
            if fs.stat(path[:i]) is not None and not fs.is_dir(path[:i]) and path[1:i] not in dropped:
                raise ValueError("file %s is in the way of %s" % (path[:i], f["path"]))
            i = path.find("/", i + 1)
        src = config.STAGE + "/" + f["sha256"]
        n = used.get(src, 0)
        used[src] = n + 1
        if n:  # the same bytes at several paths: each rename needs its own copy
            _copy(src, "%s.%d" % (src, n), buf)
            src = "%s.%d" % (src, n)
        backup = "%s/%d" % (config.BACKUP, len(ops)) if fs.stat(path) is not None else None
        ops.append(["put", path, src, backup])
    return {"version": m["version"], "sequence": m["sequence"], "files": new, "ops": ops}


def _copy(src, dst, buf):
    with open(src, "rb") as a:
        with open(dst, "wb") as b:
            while True:
                n = a.readinto(buf)
                if not n:
                    return
                b.write(buf if n == len(buf) else buf[:n])


def _placed(op):
    # Whether the new file of a put is at its path: its staged copy is gone, something is at the
    # path, and the file it replaced (if any) is in its backup. Anything else is not ours.
    if fs.stat(op[2]) is not None or fs.stat(op[1]) is None:
        return False
    return op[3] is None or fs.stat(op[3]) is not None


def apply(j):
    """Roll forward: perform every op (each one may already be done), commit, clean up."""
    fs.makedirs(config.BACKUP)
    for op in j["ops"]:
        path = op[1]
        if op[0] == "del":
            if fs.stat(path) is not None and fs.stat(op[2]) is None:
                os.rename(path, op[2])
            fs.prune(path)
            continue
        src, backup = op[2], op[3]
        if fs.stat(src) is None:
            if _placed(op):
                continue  # done before the reset
            raise OSError("staged file for %s is missing" % path)
        if backup and fs.stat(path) is not None and fs.stat(backup) is None:
            os.rename(path, backup)
        fs.makedirs(_parent(path))
        os.rename(src, path)
    fs.write_json(config.INSTALLED, {"version": j["version"], "sequence": j["sequence"], "files": j["files"]})
    try:
        cleanup()
    except OSError as e:  # installed all the same; recover() removes the rest at the next boot
        print("aloft: cleanup after install failed: %s" % e)


def undo(j):
    """Roll back: the exact inverse of apply, step by step (new files go back to the stage), so
    a reset during an undo leaves a state that either direction can still finish. Cleans up.
    Once installed.json names the journal's release it is committed and nothing is undone."""
    if config.installed()["sequence"] == j["sequence"]:
        cleanup()
        return
    for op in reversed(j["ops"]):
        path = op[1]
        if op[0] == "put":
            if _placed(op):
                os.rename(path, op[2])
            backup = op[3]
        else:
            backup = op[2]
        if backup and fs.stat(backup) is not None:
            fs.makedirs(_parent(path))
            os.rename(backup, path)
        fs.prune(path)  # folders a put created, even if the reset came before its rename
    cleanup()


def cleanup():
    # The journal goes first: once it is gone the files and installed.json agree, and leftover
    # backups or staged files are only garbage. (Removing the stage first would make a later
    # roll forward take restored old files for installed new ones.)
    fs.remove(config.JOURNAL)
    fs.rmtree(config.BACKUP)
    fs.rmtree(config.STAGE)
    fs.remove(config.JOURNAL + ".tmp")  # half-written by a reset in fs.write_json
    fs.remove(config.INSTALLED + ".tmp")


def recover():
    """Finish an install a reset interrupted, and remove what an interrupted one left behind.
    Returns the journal found, None if there was none. An install is rolled forward (every staged
    file was verified before the journal was written) unless that fails; then it is undone."""
    try:
        j = fs.read_json(config.JOURNAL)
    except OSError:
        j = None
    except ValueError:
        print("aloft: unreadable install journal removed")
        j = None
    if j and config.installed()["sequence"] != j["sequence"]:
        try:
            apply(j)
        except Exception as e:
            print("aloft: cannot finish install of %s (%s), rolling back" % (j["version"], e))
            undo(j)
    cleanup()
    return j
