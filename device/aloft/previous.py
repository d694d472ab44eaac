# The previous agent: while a release that replaces the agent's own files is installed or on trial,
# a whole copy of the agent it replaces stays in where.PREVIOUS/aloft. boot.py runs that copy
# first at every boot until the new agent is confirmed or rolled back (docs/device.md, "Updating
# the agent"); cleanup.py drops it.
import os
from . import config, fs, tree, where


def keep(buf):
    # Before the journal of an install that replaces agent files is written: a copy of the agent
    # as it is, in where.PREVIOUS (complete or not there: copied to a temporary folder, renamed),
    # and the rest of this run imports its modules from there (boot.py does the same at the boots
    # until the new agent is confirmed or rolled back).
    import aloft

    drop()
    tmp = where.PREVIOUS + ".tmp"
    tree.makedirs(tmp + "/aloft")
    for entry in os.ilistdir(config.AGENT):
        if entry[1] & 0x4000 == 0:  # the agent is one flat package
            with open(config.AGENT + "/" + entry[0], "rb") as a:
                with open(tmp + "/aloft/" + entry[0], "wb") as b:
                    while True:
                        n = a.readinto(buf)
                        if not n:
                            break
                        b.write(buf if n == len(buf) else buf[:n])
    fs.rename(tmp, where.PREVIOUS)
    aloft._mount(where.PREVIOUS + "/aloft")  # its pack at /_p, or its files


def drop():
    # Remove the previous agent's copy, and what an interrupted copy or removal left. The copy
    # goes by one rename first, so a boot never finds half of it.
    import aloft

    if fs.stat(where.PREVIOUS) is not None:
        tree.rmtree(where.PREVIOUS + ".del")
        fs.rename(where.PREVIOUS, where.PREVIOUS + ".del")
    if getattr(aloft, "__path__", None) in (where.PREVIOUS + "/aloft", "/_p"):
        aloft._mount(config.AGENT)  # the agent in /lib is whole again: restored, or confirmed
    for path in (".tmp", ".del"):
        tree.rmtree(where.PREVIOUS + path)
