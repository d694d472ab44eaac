# Rolling an install forward (journal.py): every op of the journal, each of which may be done already, then
# the commit. install.py runs it after writing the journal, trial.recover after a reset cut it short.
from . import config, fs, tree, where
from .journal import placed, record, trial_state
from .ops import Ops


def apply(j):
    # Roll forward: perform every op (each one may already be done), then commit: the new file list
    # out of the stage, the trial record, then installed.json naming the new release. The old files
    # stay until it is confirmed.
    for kind in "dm":
        with Ops(j, kind) as ops:
            for path, _, old in ops:
                if fs.stat(path) is not None and fs.stat(old) is None:
                    fs.rename(path, old)
    with Ops(j, "p") as ops:
        for path, src, old in ops:
            new = path + "#new"
            if fs.stat(new) is None:
                if fs.stat(src) is None:
                    if placed(path, src, old):
                        continue  # done before the reset
                    raise OSError("staged file for %s is missing" % path)
                tree.makedirs(path[: path.rfind("/")])
                fs.rename(src, new)  # out of the stage: the one kind of rename between folders
            if old and fs.stat(path) is not None and fs.stat(old) is None:
                fs.rename(path, old)
            fs.rename(new, path)
    if j.get("list"):
        dst = where.LISTS + "/" + j["list"]
        if fs.stat(dst) is None:
            tree.makedirs(where.LISTS)
            fs.rename(config.staged_list(j["list"]), dst)
    if trial_state(j) is None:
        fs.write_json(where.TRIAL, {"sequence": j["sequence"], "boots": 0, "state": "trial"})
    fs.write_json(where.INSTALLED, record(j, j["previous"].get("rejected", 0)))
