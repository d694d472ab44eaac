# After an install's commit: the release is on trial until it is confirmed or rolled back. Also
# what a boot does first: finish whatever a reset interrupted, from the journal and the flash alone.
#
# Phases, each entered by one atomic write (temp file + rename):
#   journal written                        installing: a reset rolls forward (journal.apply)
#   installed.json names the new release   committed, on trial; trial.json counts the boots
#   trial.json "state": "confirmed"        confirming: trust.json (a release's trust), then the old
#                                          files, journal, trial record go
#   trial.json "state": "rollback"         rolling back: the old files return, installed.json names
#                                          the previous release and rejects this one, same cleanup
import os
from . import config, fs, journal
from .journal import committed, placed, trial_state


def start():
    """What a boot does first: finish whatever a reset interrupted, and count the boot when a release
    is on trial (rolling it back after too many). True when this boot runs a release on trial."""
    try:
        limit = int(config.load().get("trial_boots", 3))
    except Exception:  # recovery must run even with a broken configuration
        limit = 3
    j = recover()
    return j is not None and count_boot(j, limit)


def recover():
    """Finish whatever a reset interrupted: an install is rolled forward (every staged file was
    verified before the journal was written; if that fails after all, it is undone), a confirmation
    or a rollback is finished, leftovers without a journal are removed. Returns the journal when
    the device is on trial afterwards, else None."""
    j = journal.read()
    if j is None:
        cleanup(True)  # the stage stays: its downloads resume at the next check
        return None
    t = trial_state(j)
    state = t.get("state") if t else None
    if state == "rollback":
        rollback(j, t.get("reason") or "interrupted rollback")
        return None
    if state == "confirmed":
        confirm(j)
        return None
    if committed(j):
        return j
    try:
        journal.apply(j)
        print("aloft: finished an interrupted install of %s" % j["version"])
        return j
    except Exception as e:
        print("aloft: cannot finish install of %s (%s), rolling back" % (j["version"], e))
        undo(j)
        return None


def restore(j):
    """The exact inverse of apply's ops, kind by kind in reverse (p, m, d): a new file goes (to
    path#new, then) away, the old file comes back. A reset in the middle leaves a state either direction
    can finish (a roll forward then finds new files missing and gives way to an undo)."""
    with journal.Ops(j, "p") as ops:
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
        with journal.Ops(j, "m") as ops:
            for path, _, old in ops:
                if fs.stat(old) is not None and fs.stat(path) is None:
                    os.rename(old, path)
                    moved = True
    with journal.Ops(j, "d") as ops:
        for path, _, old in ops:
            if fs.stat(old) is not None:
                fs.makedirs(path[: path.rfind("/")])
                os.rename(old, path)


def _drop_old(j):
    # The previous release's files, kept beside the new ones during the trial.
    for kind in "dmp":
        with journal.Ops(j, kind) as ops:
            for path, _, old in ops:
                if old:
                    fs.rmtree(old) if kind == "m" else fs.remove(old)
                    if kind != "p":
                        fs.prune(old)  # a folder the release no longer has


def undo(j):
    """Roll back an install that is not committed (an install that failed in the same run, or one
    recovery cannot finish). The verified downloads stay in the stage for the next attempt. A
    committed install is left alone: only rollback() takes a release on trial back."""
    if committed(j):
        return
    restore(j)
    cleanup(True)


def cleanup(keep_stage):
    # The journal goes first: once it is gone the files and installed.json agree, and whatever else
    # is left (a trial record, staged files, the ops, file lists no record names, temporary copies) is garbage.
    fs.remove(config.JOURNAL)
    fs.remove(config.LEGACY)
    fs.remove(config.OPS)
    fs.remove(config.TRIAL)
    if not keep_stage:
        fs.rmtree(config.STAGE)
    for path in (config.JOURNAL, config.LEGACY, config.INSTALLED, config.TRIAL, config.OUTBOX, config.TRUST):
        fs.remove(path + ".tmp")  # half-written by a reset in fs.write_json
    if fs.stat(config.LISTS) is not None:
        try:  # as written: a legacy record stays one (the agent before 0.3.0 may be back)
            keep = fs.read_json(config.INSTALLED).get("list")
        except Exception:
            keep = None
        for entry in list(os.ilistdir(config.LISTS)):
            if entry[0] != keep:
                fs.remove(config.LISTS + "/" + entry[0])
    for path in (config.PREVIOUS, config.PREVIOUS + ".tmp", config.PREVIOUS + ".del"):
        if fs.stat(path) is not None:  # the previous agent, once its install or trial is over
            from . import previous

            previous.drop()
            break


def count_boot(j, limit):
    """Count a boot of the release on trial (before anything else runs); roll back when it is boot
    limit + 1. True while the release stays on trial."""
    t = trial_state(j) or {"sequence": j["sequence"], "boots": 0, "state": "trial"}
    t["boots"] += 1
    fs.write_json(config.TRIAL, t)
    if t["boots"] > limit:
        rollback(j, "not confirmed after %d boots" % limit)
        return False
    print("aloft: %s on trial, boot %d of %d" % (j["version"], t["boots"], limit))
    return True


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
    cleanup(False)
    if j.get("agent"):  # the agent on flash is the previous one again, not the code running now
        from . import board

        board.reset()


def confirm(j=None):
    """Keep the release on trial (journal j, else the one on flash): drop the previous files and the
    trial record, queue a confirmed event. False when no release is on trial."""
    from . import outbox

    if j is None:
        j = journal.read()
        if j is None or not committed(j):
            return False
    t = trial_state(j) or {"sequence": j["sequence"], "boots": 0}
    if t.get("state") == "rollback":
        return False
    if t.get("state") != "confirmed":
        t["state"] = "confirmed"
        fs.write_json(config.TRIAL, t)
    n = j.get("trust")
    if n:  # the release's trust replaces the current one; again after a reset, until the journal goes
        fs.write_json(config.TRUST, {"keys": n["keys"], "threshold": n["threshold"], "sequence": j["sequence"]})
    _drop_old(j)
    outbox.add("confirmed", j["version"], j["sequence"])
    cleanup(False)
    print("aloft: %s confirmed" % j["version"])
    return True


def reject(reason):
    """The new agent failed its trial boot (aloft.reject): roll the release on trial back, unless it
    was confirmed meanwhile (then the confirmation is finished), and reset."""
    from . import board

    j = journal.read()
    t = trial_state(j) if j is not None and committed(j) else None
    if t is not None and t.get("state") == "trial":
        rollback(j, reason)
    else:
        recover()
    board.reset()
