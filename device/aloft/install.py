# An install as a transaction. The journal (written by plan.py) lists every rename before the first one happens and
# holds both the new and the previous installed record, so after a reset at any point the install
# can be finished (roll forward) or undone (roll back) from the journal and the flash alone, until
# the new release is confirmed or rolled back (trial.py).
#
# ops, applied in order (dels first, so a new folder may take the place of a dropped file):
#   ["del", path, old]             path -> old
#   ["put", path, src, new, old]   src -> new; path -> old (old is None when path did not exist); new -> path
# src is the verified download in the stage; new and old are path#new and path#old, beside path
# ("#" never occurs in a release path). Each op checks what is already done, so running apply (or
# trial.restore, its inverse) again after a reset is safe. Writing installed.json is the commit
# point; the old files stay until the release is confirmed.
#
# Why beside: LittleFS commits a rename within one folder at once, but one between folders in two
# steps, and after a power cut between them it may not find the other files of the folder the file
# came from until its next write repairs that (boot.py makes one first thing). So the only renames
# between folders start in the stage, which holds nothing a boot needs.
import os
from . import config, fs

def trial_state(j):
    """The trial record of journal j's release, None when there is none for it."""
    try:
        t = fs.read_json(config.TRIAL)
    except (OSError, ValueError):
        return None
    return t if isinstance(t, dict) and t.get("sequence") == j["sequence"] else None


def committed(j):
    """Whether installed.json names journal j's release: it is on trial (or being confirmed or rolled back)."""
    return config.installed()["sequence"] == j["sequence"]


def _parent(path):
    return path[: path.rfind("/")]


def placed(op):
    """Whether the new file of a put is at its path: neither its staged copy nor path#new is left,
    something is at the path, and the file it replaced (if any) is in path#old. Anything else is not ours."""
    if fs.stat(op[2]) is not None or fs.stat(op[3]) is not None or fs.stat(op[1]) is None:
        return False
    return op[4] is None or fs.stat(op[4]) is not None


def record(r, rejected):
    rec = {"version": r["version"], "sequence": r["sequence"], "files": r["files"]}
    if rejected:
        rec["rejected"] = rejected
    return rec


def apply(j):
    """Roll forward: perform every op (each one may already be done), then commit: the trial
    record, then installed.json naming the new release. The old files stay until it is confirmed."""
    for op in j["ops"]:
        path = op[1]
        if op[0] == "del":
            if fs.stat(path) is not None and fs.stat(op[2]) is None:
                os.rename(path, op[2])
            continue
        src, new, old = op[2], op[3], op[4]
        if fs.stat(new) is None:
            if fs.stat(src) is None:
                if placed(op):
                    continue  # done before the reset
                raise OSError("staged file for %s is missing" % path)
            fs.makedirs(_parent(path))
            os.rename(src, new)  # out of the stage: the one kind of rename between folders
        if old and fs.stat(path) is not None and fs.stat(old) is None:
            os.rename(path, old)
        os.rename(new, path)
    if trial_state(j) is None:
        fs.write_json(config.TRIAL, {"sequence": j["sequence"], "boots": 0, "state": "trial"})
    fs.write_json(config.INSTALLED, record(j, j["previous"].get("rejected", 0)))
