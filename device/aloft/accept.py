# Keeping the release on trial (docs/device.md, "Trial boots, confirmation and rollback"): its trust adopted,
# the previous release's files dropped, a confirmed event queued (aloft.confirm() sends it once this module
# and all it used are unloaded). Loaded only then.
# pack: zlib


def run():
    # aloft.confirm(): keep the release on trial, if there is one. Never raises; unloads every module it
    # loaded, this one too.
    from . import core

    was = core.tight()
    try:
        from . import fs, where

        if fs.stat(where.FWSTEP) is not None:  # a firmware on trial (docs/firmware.md): marked valid
            from .fwtrial import confirm as firmware

            if firmware():
                return True
        return confirm()
    except Exception as e:
        core.log("confirm failed: %r" % (e,))
        return False
    finally:
        core.unload()
        core.tight(was)


def confirm(j=None):
    # Keep the release on trial (journal j, else the one on flash): drop the previous files and the
    # trial record, queue a confirmed event. False when no release is on trial.
    import aloft
    from . import fs, journal, outbox, where
    from .cleanup import drop_previous, run

    if j is None:
        j = journal.read()
        if j is None or not journal.committed(j):
            return False
    t = journal.trial_state(j) or {"sequence": j["sequence"], "boots": 0}
    if t.get("state") == "rollback":
        return False
    if t.get("state") != "confirmed":
        t["state"] = "confirmed"
        fs.write_json(where.TRIAL, t)
    n = j.get("trust")
    if n:  # the release's trust replaces the current one; again after a reset, until the journal goes
        fs.write_json(where.TRUST, {"keys": n["keys"], "threshold": n["threshold"], "sequence": j["sequence"]})
    if j.get("agent") and getattr(aloft, "__path__", None) != where.PREVIOUS + "/aloft":
        # The previous agent's copy goes before the old files: a pack agent's copy reads agent.pk#old (previous.py).
        # Not when this is that copy's code in files: it imports them until the end (cleanup.run drops it).
        drop_previous()
    _drop_old(j)
    outbox.add("confirmed", j["version"], j["sequence"])
    run(False)
    print("aloft: %s confirmed" % j["version"])
    return True


def _drop_old(j):
    # The previous release's files, kept beside the new ones during the trial.
    from . import fs, tree
    from .ops import Ops

    for kind in "dmp":
        with Ops(j, kind) as ops:
            for path, _, old in ops:
                if old:
                    tree.rmtree(old) if kind == "m" else fs.remove(old)
                    if kind != "p":
                        tree.prune(old)  # a folder the release no longer has
