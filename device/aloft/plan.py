# The plan stage: the renames of the install (journal.py's ops) into stage/plan, from one merge of two sorted
# files on flash, the installed release's file list and the new one's (merge.py; docs/device.md, "The install
# transaction"). Then the flash the install needs (docs/device.md, "Flash needed by an update"), against what is free.
import os
from micropython import const
from . import config, core, fs

_BLOCK = const(4096)  # flash block: every file occupies whole blocks
# Blocks besides the files: the stage folder (2), what a download writes between two syncs and the
# copy LittleFS makes of a partly filled last block when a file is appended to (4), the small state
# files and their temporary copies (2), metadata pair splits when path#new and path#old join the
# folders (4).
_FIXED = const(12)


def run(job):
    m = job.m
    core.log("update %s -> %s (sequence %d)" % (job.have["version"] or "nothing", m["version"], m["sequence"]))
    try:
        tmp = config.STAGE + "/plan.tmp"
        with open(tmp, "w") as out:
            need, job.agent = write(out, job.have, config.staged_list(m["files"]["sha256"]))
        fs.rename(tmp, config.STAGE + "/plan")
        job.planned = True
        core.unload("merge", "lists", "folders", "dirs", "put")
        from . import board, sweep

        sweep.run(m["files"]["sha256"])
        free = board.free_bytes()
        core.log("the update needs %d bytes of flash, %d free" % (need, free))
        if need > free:
            return job.fail("insufficient storage: need %d bytes, %d free" % (need, free))
    except Exception as e:  # ENOSPC: too full for the plan itself (sweep's folder, say), refused as the check would
        job.fail("insufficient storage: flash full" if isinstance(e, OSError) and e.args[0] == 28 else core.reason(e))


def write(out, have, new_list):
    # Write the ops that turn the installed release (record have) into the one whose checked file list is at
    # new_list. Returns (bytes of flash the install needs beyond what is on flash now, whether it changes the
    # agent). ValueError when a file or folder no release installed is in the way.
    from . import folders, merge

    w = folders.Walk()
    merge.write(out, have, new_list, w)
    merge = None
    if w.agent is not None:  # modules the new agent no longer has
        for entry in os.ilistdir(config.AGENT):  # only out is written: the folder does not change meanwhile
            if "#" not in entry[0] and not entry[1] & 0x4000 and "\n%s\n" % entry[0] not in w.agent:
                out.write("d %s/%s\n" % (config.AGENT, entry[0]))
                w.touched = True
    # metadata: a folder's pair of blocks splits when half full and holds 1 KiB of entries at worst
    n = _FIXED + w.blocks + (w.meta + 511) // 512
    if w.touched:  # the copy of the agent kept until the new one is confirmed (previous.py)
        n += 2
        for entry in os.ilistdir(config.AGENT):
            if entry[0] != "agent.pk":  # of the pack the copy keeps only its header, inline in the folder
                n += max(folders.blocks(os.stat(config.AGENT + "/" + entry[0])[6]), 1)
    return n * _BLOCK, w.touched
