# Aloft update agent hook. An agent failure must never keep the application from starting.
# On a trial boot aloft.boot() runs main.py itself (in these globals, as the board would) and
# resets afterwards; see docs/device.md.
import os

# First a change to the flash, even a failing one: LittleFS finishes a rename a power cut
# interrupted only then, and until it does it may not find files beside the renamed one (the
# agent, the application). Creating a folder that exists writes nothing when all is well.
try:
    os.mkdir("/.aloft")
except OSError:
    pass
try:
    import aloft

    aloft.boot(globals())
except Exception as e:
    import sys

    print("aloft: agent error, starting the application anyway")
    sys.print_exception(e)
