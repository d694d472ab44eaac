# What every part of the agent shares, and the one module besides the package that stays loaded: log
# lines, unloading parts that are done, retry jitter, failure reasons.
import sys
from micropython import const

keep = ()  # modules a check keeps loaded from stage to stage (update.py); between checks only this one stays
_GC_EVERY = const(4096)


def tight(was=None):
    # While the agent works (a check, a confirmation): a collection after every 4 KiB allocated, so what a step
    # frees is reused before the heap spreads (a spread heap refuses a block it has room for): 4-6K less heap for
    # an update (make bench). tight() sets it and returns the application's threshold; tight(was) gives that back.
    import gc

    if was is None:
        was = gc.threshold()
        gc.threshold(_GC_EVERY)
        return was
    gc.threshold(was)


def log(msg):
    print("aloft: " + msg)


def unload(*names):
    # Drop aloft modules from RAM: the ones named, or every one but this and those in keep. The package
    # holds a reference to each submodule it imported, so that goes too.
    import gc

    pkg = sys.modules.get("aloft")
    for name in names or [n[6:] for n in sys.modules if n.startswith("aloft.")]:
        if name != "core" and (names or name not in keep):
            sys.modules.pop("aloft." + name, None)
            if pkg:
                pkg.__dict__.pop(name, None)
    gc.collect()


def jitter(ms):
    # ms less a random part of up to half of it, so a fleet does not retry in step.
    try:
        from random import getrandbits

        r = getrandbits(16)
    except ImportError:
        import time

        r = time.ticks_us() & 0xFFFF
    return ms - ms * r // 131072


def reason(e):
    # The reason to report for an exception: a ValueError's or an OSError's text says it; anything else
    # is a bug or an exhausted heap rather than a refused release (its traceback is printed).
    if isinstance(e, (ValueError, OSError)) and e.args and isinstance(e.args[0], str):
        return e.args[0]
    sys.print_exception(e)
    return "%s: %s" % (type(e).__name__, e)
