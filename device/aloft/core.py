# What every part of the agent shares: log lines, unloading parts that are done, the GC threshold while the
# agent works, failure reasons. Loaded with the agent's first work and kept.
import sys
from micropython import const

keep = ()  # modules a check keeps loaded from stage to stage (update.py); between checks only this one stays
_GC_EVERY = const(4096)


def tight(was=None):
    # While the agent works (a check, a boot's recovery, a confirmation): a collection after every 4 KiB
    # allocated, so what a step frees is reused before the heap spreads (a spread heap refuses a block it has
    # room for). tight() sets it and returns the application's threshold; tight(was) gives that back.
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


def reason(e):
    # The reason to report for an exception: a ValueError's or an OSError's text says it; anything else
    # is a bug or an exhausted heap rather than a refused release (its traceback is printed).
    if isinstance(e, (ValueError, OSError)) and e.args and isinstance(e.args[0], str):
        return e.args[0]
    sys.print_exception(e)
    return "%s: %s" % (type(e).__name__, e)
