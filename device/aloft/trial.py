# After an install's commit: the release is on trial until it is confirmed or rolled back. Also what a boot
# does first: finish whatever a reset interrupted, from the journal and the flash alone.
#
# Phases, each entered by one atomic write (temp file + rename):
#   journal written                        installing: a reset rolls forward (apply.py)
#   installed.json names the new release   committed, on trial; trial.json counts the boots
#   trial.json "state": "confirmed"        confirming (accept.py): trust.json (a release's trust), then the
#                                          old files, journal, trial record go
#   trial.json "state": "rollback"         rolling back (rollback.py): the old files return, installed.json
#                                          names the previous release and rejects this one, same cleanup
# pack: zlib
from . import config, fs, journal, where
from .journal import committed, trial_state


def start():
    # What a boot does first: finish whatever a reset interrupted, and count the boot when a release
    # is on trial (rolling it back after too many). True when this boot runs a release on trial.
    try:
        limit = int(config.load().get("trial_boots", 3))
    except Exception:  # recovery must run even with a broken configuration
        limit = 3
    j = recover()
    return j is not None and count_boot(j, limit)


def recover():
    # Finish whatever a reset interrupted: an install is rolled forward (every staged file was
    # verified before the journal was written; if that fails after all, it is undone), a confirmation
    # or a rollback is finished, leftovers without a journal are removed. Returns the journal when
    # the device is on trial afterwards, else None.
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
        from .apply import apply

        apply(j)
        print("aloft: finished an interrupted install of %s" % j["version"])
        return j
    except Exception as e:
        print("aloft: cannot finish install of %s (%s), rolling back" % (j["version"], e))
        undo(j)
        return None


def undo(j):
    # Roll back an install that is not committed (an install that failed in the same run, or one
    # recovery cannot finish). The verified downloads stay in the stage for the next attempt. A
    # committed install is left alone: only rollback() takes a release on trial back.
    if committed(j):
        return
    from .restore import restore

    restore(j)
    cleanup(True)


def count_boot(j, limit):
    # Count a boot of the release on trial (before anything else runs); roll back when it is boot
    # limit + 1. True while the release stays on trial.
    t = trial_state(j) or {"sequence": j["sequence"], "boots": 0, "state": "trial"}
    t["boots"] += 1
    fs.write_json(where.TRIAL, t)
    if t["boots"] > limit:
        rollback(j, "not confirmed after %d boots" % limit)
        return False
    print("aloft: %s on trial, boot %d of %d" % (j["version"], t["boots"], limit))
    return True


# Cleaning up, rolling back and confirming load only when they happen.
def cleanup(keep_stage):
    from .cleanup import run

    run(keep_stage)


def rollback(j, reason):
    from .rollback import rollback

    rollback(j, reason)


def confirm(j=None):
    from .accept import confirm

    return confirm(j)


def reject(reason):
    # The new agent failed its trial boot (aloft.reject): roll the release on trial back, unless it was
    # confirmed meanwhile (then the confirmation is finished), and reset.
    from . import board

    j = journal.read()
    t = trial_state(j) if j is not None and committed(j) else None
    if t is not None and t.get("state") == "trial":
        rollback(j, reason)
    else:
        recover()
    board.reset()
