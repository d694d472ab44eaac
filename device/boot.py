# Aloft's boot stage: the one part of the agent a release never replaces. It imports the agent
# and hands it the boot; while an update of the agent itself is installed or on trial, the agent
# it replaces (kept in /.aloft/agent) goes first and judges the new one (docs/device.md, "Updating
# the agent"). An agent failure must never keep the application from starting.
import os
import sys

# First a change to the flash, even a failing one: LittleFS finishes a rename a power cut
# interrupted only then, and until it does it may not find files beside the renamed one (the
# agent, the application). Creating a folder that exists writes nothing when all is well.
try:
    os.mkdir("/.aloft")
except OSError:
    pass


def _agent(previous):
    # A fresh import of the agent: the previous one, or the one in /lib. Nothing of the other stays.
    for name in list(sys.modules):
        if name == "aloft" or name.startswith("aloft."):
            del sys.modules[name]
    if "/.aloft/agent" in sys.path:
        sys.path.remove("/.aloft/agent")
    if previous:
        sys.path.insert(0, "/.aloft/agent")
    import gc

    gc.collect()
    import aloft

    return aloft


try:
    try:
        os.stat("/.aloft/agent/aloft/__init__.py")
        previous = True
    except OSError:
        previous = False
    if previous:
        try:  # it finishes an interrupted install and counts the trial boots (or rolls back)
            previous = _agent(True).boot(globals(), "previous")
        except Exception as e:
            sys.print_exception(e)
            previous = False
    if previous:  # the new agent is on trial: it runs the release; if it fails, the previous one rolls back
        try:
            _agent(False).boot(globals(), "trial")
        except Exception as e:
            sys.print_exception(e)
            _agent(True).reject("the new agent failed: %s: %s" % (type(e).__name__, e))
    else:
        _agent(False).boot(globals())
except Exception as e:
    print("aloft: agent error, starting the application anyway")
    sys.print_exception(e)
