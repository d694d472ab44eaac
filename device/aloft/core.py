# What every part of the agent shares, always loaded: the Job that one check hands from stage to
# stage, log lines, unloading parts that are done, retry jitter, and failure reasons.
import sys

# Modules that stay loaded; every other aloft.* module is loaded for a moment and unloaded again.
_RESIDENT = ("core", "config", "fs", "board")


class Job:
    """One check, as it goes through the stages of update.py. A stage that stops the check sets
    result; one that has something to report sets event (and reason)."""

    result = None  # "none", "error", "failed", "deferred", "updated": the check is over
    event = None  # an event type to report after the stage: "downloading", "installed", "failed", "deferred"
    reason = None
    poll = None  # seconds until the next check, from the server
    cfg = None
    have = None  # the installed record (config.installed())
    device = None  # the check-in body: board, micropython, ...
    release = None  # the offered envelope, until verify.py has checked it
    claimed = (None, 0)  # (version, sequence) the offered manifest says, before it is verified
    m = None  # the verified manifest (format 2: the file list is named, not listed)
    planned = False  # plan.py wrote stage/plan
    agent = False  # whether the install changes the agent's files (plan.py)
    reset = False  # the board must reset after the check (an install, or an undo left to recovery)

    def fail(self, reason, event="failed", result="failed"):
        log("update %s: %s" % ("deferred" if result == "deferred" else "failed", reason))
        self.result, self.event, self.reason = result, event, reason


def log(msg):
    print("aloft: " + msg)


def unload(*names):
    """Drop aloft modules from RAM: the ones named, or every one but the resident ones. The
    package keeps a reference to each submodule it imported, so that goes too."""
    import gc

    pkg = sys.modules.get("aloft")
    for name in names or [n[6:] for n in sys.modules if n.startswith("aloft.")]:
        if name not in _RESIDENT:
            sys.modules.pop("aloft." + name, None)
            if pkg is not None:
                pkg.__dict__.pop(name, None)
    gc.collect()


def jitter(ms):
    """ms less a random part of up to half of it, so a fleet does not retry in step."""
    try:
        from random import getrandbits

        r = getrandbits(16)
    except ImportError:
        import time

        r = time.ticks_us() & 0xFFFF
    return ms - ms * r // 131072


def reason(e):
    """The reason to report for an exception: a ValueError's or an OSError's text says it; anything
    else is a bug or an exhausted heap rather than a refused release (its traceback is printed)."""
    if isinstance(e, (ValueError, OSError)) and e.args and isinstance(e.args[0], str):
        return e.args[0]
    sys.print_exception(e)
    return "%s: %s" % (type(e).__name__, e)
