# Taking an install back (docs/device.md, "Trial boots, confirmation and rollback"): the inverse of
# journal.apply, for an undo (not committed) and a rollback (on trial). Loaded only then.
import os
from . import config, fs, journal, trial
from .journal import committed, placed, trial_state
from .ops import Ops


def restore(j):
    """The exact inverse of apply's ops, kind by kind in reverse (p, m, d): a new file goes (to
    path#new, then) away, the old file comes back. A reset in the middle leaves a state either direction
    can finish (a roll forward then finds new files missing and gives way to an undo)."""
    with Ops(j, "p") as ops:
        for path, src, old in ops:
            new = path + "#new"
            if placed(path, src, old):
                os.rename(path, new)
            if old and fs.stat(old) is not None:
                os.rename(old, path)
            fs.remove(new)
            fs.prune(path)  # folders the put created, even if the reset came before its rename
    # A folder set aside may hold another one set aside (apply did the inner first): repeat until none
    # comes back, at most once per level of a path.
    moved = True
    while moved:
        moved = False
        with Ops(j, "m") as ops:
            for path, _, old in ops:
                if fs.stat(old) is not None and fs.stat(path) is None:
                    os.rename(old, path)
                    moved = True
    with Ops(j, "d") as ops:
        for path, _, old in ops:
            if fs.stat(old) is not None:
                fs.makedirs(path[: path.rfind("/")])
                os.rename(old, path)


def rollback(j, reason):
    """Take the release on trial back: the previous files return from path#old, installed.json
    names the previous release and records this sequence as rejected, a rolled_back event is
    queued. Each step can run again after a reset (recover() finishes it)."""
    from . import outbox

    t = trial_state(j) or {"sequence": j["sequence"], "boots": 0}
    if t.get("state") != "rollback":
        t["state"] = "rollback"
        t["reason"] = reason
        fs.write_json(config.TRIAL, t)
    print("aloft: rolling back %s: %s" % (j["version"], t["reason"]))
    restore(j)
    prev = j["previous"]
    fs.write_json(config.INSTALLED, journal.record(prev, max(prev.get("rejected", 0), j["sequence"])))
    outbox.add("rolled_back", j["version"], j["sequence"], t["reason"])
    import aloft

    stale = j.get("agent") and getattr(aloft, "__path__", None) != config.PREVIOUS + "/aloft"
    trial.cleanup(False)
    if stale:  # the agent on flash is the previous one again, and the code running now is not it
        from . import board

        board.reset()


def reject(reason):
    """The new agent failed its trial boot (aloft.reject): roll the release on trial back, unless it
    was confirmed meanwhile (then the confirmation is finished), and reset."""
    from . import board

    j = journal.read()
    t = trial_state(j) if j is not None and committed(j) else None
    if t is not None and t.get("state") == "trial":
        rollback(j, reason)
    else:
        trial.recover()
    board.reset()
