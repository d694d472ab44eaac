# The previous agent: while a release that replaces the agent's own files is installed or on trial,
# a whole copy of the agent it replaces stays in where.PREVIOUS/aloft. boot.py runs that copy
# first at every boot until the new agent is confirmed or rolled back (docs/device.md, "Updating
# the agent"); cleanup.py drops it. Of a pack agent the copy is __init__.py and its pack's header, agent.pk:
# aloft/__init__.py mounts such a copy at /_p, reading the pack where the install leaves it in /lib/aloft.
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
            # Of the pack only its header, which names it (aloft._Pack): the pack itself stays in /lib/aloft, as
            # agent.pk#old once the install replaces it, agent.pk again if it is rolled back, and the copy reads it
            # there. A copy of it would take as much flash again while the new agent is on trial.
            part = buf[:32] if entry[0] == "agent.pk" else buf
            with open(config.AGENT + "/" + entry[0], "rb") as a:
                with open(tmp + "/aloft/" + entry[0], "wb") as b:
                    while True:
                        n = a.readinto(part)
                        if not n:
                            break
                        b.write(part if n == len(part) else part[:n])
                        if part is not buf:
                            break
    fs.rename(tmp, where.PREVIOUS)
    # The rest of this run imports the copy's modules: of a pack agent, its pack at /_p wherever the install leaves it,
    # as aloft/__init__.py mounts the copy's at a boot; else the copy's files.
    if aloft.__path__ == "/_a":
        os.umount("/_a")
        aloft._Pack.f = (config.AGENT + "/agent.pk#old", config.AGENT + "/agent.pk")
        os.mount(aloft._Pack, "/_p")
        aloft.__path__ = "/_p"
    elif aloft.__path__ != "/_p":
        aloft.__path__ = where.PREVIOUS + "/aloft"


def drop():
    # Remove the previous agent's copy, and what an interrupted copy or removal left. The copy
    # goes by one rename first, so a boot never finds half of it.
    import aloft

    if fs.stat(where.PREVIOUS) is not None:
        tree.rmtree(where.PREVIOUS + ".del")
        fs.rename(where.PREVIOUS, where.PREVIOUS + ".del")
    if getattr(aloft, "__path__", None) == where.PREVIOUS + "/aloft":
        aloft.__path__ = config.AGENT  # the agent in /lib is whole again: restored, or confirmed
    # A pack at /_p stays: it serves the previous agent's pack for as long as it is in /lib/aloft (restored by a
    # rollback; until the confirmation removes it as agent.pk#old), and no other pack.
    for path in (".tmp", ".del"):
        tree.rmtree(where.PREVIOUS + path)
