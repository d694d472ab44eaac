# Rolling back the release on trial (docs/device.md, "Trial boots, confirmation and rollback"): after too many
# boots (trial.py), when main.py raises on its trial boot (watch.py), when the new agent fails (boot.py).
# Loaded only then.
# pack: zlib
from . import fs, journal, where
from .journal import committed, trial_state


def rollback(j, reason):
    # Take the release on trial back: the previous files return from path#old, installed.json names the
    # previous release and records this sequence as rejected, a rolled_back event is queued. Each step can run
    # again after a reset (trial.recover finishes it).
    from . import core

    t = trial_state(j) or {"sequence": j["sequence"], "boots": 0}
    if t.get("state") != "rollback":
        t["state"] = "rollback"
        t["reason"] = reason
        fs.write_json(where.TRIAL, t)
    print("aloft: rolling back %s: %s" % (j["version"], t["reason"]))
    core.unload()  # and a collection: on a trial boot the application's exception, and its RAM, are what is in use
    from .restore import restore

    restore(j)
    restore = None
    core.unload("restore", "ops", "tree")  # a module at a time: on a trial boot the application's RAM is in use too
    prev = j["previous"]
    fs.write_json(where.INSTALLED, journal.record(prev, max(prev.get("rejected", 0), j["sequence"])))
    from . import outbox

    outbox.add("rolled_back", j["version"], j["sequence"], t["reason"])
    outbox = None
    core.unload("outbox")
    import aloft

    stale = j.get("agent") and getattr(aloft, "__path__", None) not in (where.PREVIOUS + "/aloft", "/_p")
    from .cleanup import run

    run(False)
    if stale:  # the agent on flash is the previous one again, and the code running now is not it
        from . import board

        board.reset()


def on_trial(reason):
    # main.py raised before the release (or the firmware, docs/firmware.md) on trial was confirmed (watch.py).
    if fs.stat(where.FWSTEP) is not None:
        from .fwtrial import fail

        if fail(reason):  # it resets
            return
    j = journal.read()
    if j is not None and committed(j):
        rollback(j, reason)
