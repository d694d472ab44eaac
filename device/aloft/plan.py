# Planning an install: the journal (install.py) for a verified manifest whose changed files are
# staged, written before the first rename. Loaded only for that, apart from install.py, which every
# boot of a release on trial needs.
import os
from . import config, fs

def journal(m, puts, installed, buf):
    """The journal for manifest m whose entries puts are staged as config.STAGE/<sha256>, over the
    installed record installed. Raises ValueError when a file cannot be placed (a folder is in the way)."""
    new = {}
    gone = []  # agent modules m's agent no longer has (the agent is what lib/aloft holds, not in the record)
    for f in m["files"]:
        if not f["path"].startswith(config.AGENT_FILES):
            new[f["path"]] = f["sha256"]
    if len(new) < len(m["files"]):  # m carries the agent
        names = set(f["path"] for f in m["files"])
        for entry in os.ilistdir(config.AGENT):
            p = config.AGENT_FILES + entry[0]
            if "#" not in p and entry[1] & 0x4000 == 0 and p not in names:
                gone.append(p)
    ops = []
    dropped = set()
    for path in sorted(gone + [p for p in installed["files"] if not p.startswith(config.AGENT_FILES)]):
        if path not in new and fs.stat("/" + path) is not None:
            ops.append(["del", "/" + path, "/" + path + "#old"])
            dropped.add(path)
            fs.remove("/" + path + "#old")  # not ours yet: apply would take it for the old file
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
            copy(src, "%s.%d" % (src, n), buf)
            src = "%s.%d" % (src, n)
        for side in ("#new", "#old"):  # not ours yet: apply would take them for its own
            fs.remove(path + side)
        ops.append(["put", path, src, path + "#new", path + "#old" if fs.stat(path) is not None else None])
    prev = {"version": installed["version"], "sequence": installed["sequence"], "files": installed["files"]}
    if installed.get("rejected"):
        prev["rejected"] = installed["rejected"]
    j = {"version": m["version"], "sequence": m["sequence"], "files": new, "ops": ops, "previous": prev}
    for op in ops:
        if op[1].startswith(config.AGENT + "/"):  # the previous agent is kept until the new one is confirmed
            j["agent"] = True
    if "trust" in m:  # adopted when the release is confirmed (trial.confirm), dropped with a rollback
        j["trust"] = m["trust"]
    return j


def copy(src, dst, buf):
    with open(src, "rb") as a:
        with open(dst, "wb") as b:
            while True:
                n = a.readinto(buf)
                if not n:
                    return
                b.write(buf if n == len(buf) else buf[:n])
