# How much flash an install needs, and freeing what the stage holds for no purpose. Checked before
# anything is downloaded (docs/device.md, "Flash needed by an update").
import os
from micropython import const
from . import config, fs

_BLOCK = const(4096)  # flash block: every file occupies whole blocks
_DATA = const(4088)  # file bytes a LittleFS block holds at worst (the rest: skip-list pointers)
# Blocks besides the files: the stage folder (2), what a download writes between two syncs and the
# copy LittleFS makes of a partly filled last block when a file is appended to (4), the small state
# files and their temporary copies (2), metadata pair splits when path#new and path#old join the
# folders (4).
_FIXED = const(12)


def _blocks(n):
    # Flash blocks a file of n bytes occupies: each block holds at least _DATA bytes of it.
    return (n + _DATA - 1) // _DATA


def needed(m, have, puts, fetch):
    """Bytes of free flash the install of m over have needs at its peak, beyond what is on flash now
    (docs/device.md, "Flash needed by an update")."""
    blocks = _FIXED
    journal = 256  # the journal's JSON: both file lists, every op
    record = 128  # the new installed.json, written next to the old one
    for f in m["files"]:
        journal += len(f["path"]) + 72
        record += len(f["path"]) + 72
    for p in have["files"]:
        journal += 2 * len(p) + 100  # in "previous", and a "del" op at most
    if "trust" in m:  # in the journal, then trust.json and its temporary copy at the confirmation
        journal += 600
        blocks += 2
    folders = set()
    for f in puts:
        blocks += _blocks(f["size"])
        journal += 2 * len(f["path"]) + 140
        p = f["path"]
        i = p.rfind("/")
        while i > 0 and p[:i] not in folders and not fs.is_dir("/" + p[:i]):
            folders.add(p[:i])
            i = p.rfind("/", 0, i)
    if _replaces_agent(m, puts):  # the copy of the agent kept until the new one is confirmed
        blocks += 2
        for entry in os.ilistdir(config.AGENT):
            blocks += max(_blocks(os.stat(config.AGENT + "/" + entry[0])[6]), 1)
    for f in fetch:  # downloaded already: on flash now
        st = fs.stat(config.STAGE + "/" + f["sha256"])
        if st is not None:
            blocks -= _blocks(f["size"])
        else:
            st = fs.stat(config.STAGE + "/" + f["sha256"] + ".part")
            if st is not None:
                blocks -= st[6] // _BLOCK
    return (blocks + 2 * len(folders) + _blocks(journal) + _blocks(record)) * _BLOCK


def _replaces_agent(m, puts):
    # Whether the install changes or removes a file of the agent (plan.journal marks it "agent").
    agent = config.AGENT_FILES
    names = set()
    for f in m["files"]:
        if f["path"].startswith(agent):
            names.add(f["path"][len(agent) :])
    if not names:
        return False
    for f in puts:
        if f["path"].startswith(agent):
            return True
    for entry in os.ilistdir(config.AGENT):
        if "#" not in entry[0] and entry[1] & 0x4000 == 0 and entry[0] not in names:
            return True
    return False


def prune(keep):
    """Remove from the stage what is not a download (complete or partial) of a blob in keep, and
    what a reset left of a copy of the agent (previous.py) before its install began."""
    for path in (config.PREVIOUS + ".tmp", config.PREVIOUS + ".del"):
        fs.rmtree(path)
    if fs.stat(config.STAGE) is None:
        return
    for entry in list(os.ilistdir(config.STAGE)):
        name = entry[0]
        if name.split(".")[0] not in keep or name.count(".") and not name.endswith(".part"):
            fs.rmtree(config.STAGE + "/" + name)
