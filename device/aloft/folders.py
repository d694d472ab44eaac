# What the merge (merge.py) knows about the paths around the current one: the open folders (dirs.py), files
# the release drops, folders in the way of new files (put.py sets them aside); and the flash the install
# needs. Bounded by the depth of a path and a few paths in the way, never by the number of files.
from micropython import const
from . import config, fs, tree

_INLINE = const(64)  # LittleFS keeps a file this small in its folder's metadata (its limit is 128 bytes or more)
# Bytes of folder metadata per entry beyond its name (tags, the place of the file, commit padding, "#new"), and a
# staged copy's entry (config.staged names are 33 characters). LittleFS splits a folder's metadata pair when it is
# half full, so a pair may hold only 1 KiB of entries (plan.py): measured, 300 files of a block each in one folder
# took 358 blocks at the install's peak beyond what was on flash, 46 more than their own and the fixed ones.
_ENTRY = const(32)
_STAGED = const(61)  # 33 characters + _ENTRY, less the "#new" a staged name does not have


def blocks(n):
    # Flash blocks a file of n bytes occupies: a 4096-byte block holds at least 4088 bytes of it.
    return (n + 4087) // 4088


class Walk:
    def __init__(self):
        self.dirs = []  # the open folders of the current path: [path, has a new file, release files in it]
        self.dropped = []  # files the release drops that may be folders of a later path
        self.inway = []  # folders on flash where the release puts a file: set aside ("m"), judged when they close
        self.agent = None  # the names of the new agent's files, each followed by a newline (one string, not a set of
        # strings: ~0.7K for 64 names instead of ~5K on 64-bit), when the release carries the agent
        self.last = ""  # the previous put
        self.blocks = 0  # flash blocks the puts need
        self.meta = 0  # bytes of folder metadata the puts add (entries; small files live there too)
        self.touched = False  # whether an op changes the agent's files

    def count(self, p, kind):
        # kind 1: only in the installed release; 2: only in the new one; 3, 4: in both
        k = len(self.dropped)
        while k:  # those that are no prefix of p now are none of a later path either (sorted order)
            k -= 1
            d = self.dropped[k]
            if not (p.startswith(d) and p[len(d)] <= "/"):
                self.dropped.pop(k)
        if self.dirs:
            if kind != 2:
                self.dirs[-1][2] += 1
            if kind != 1:
                self.dirs[-1][1] = True

    def agent_file(self, p):
        if self.agent is None:
            if not tree.is_dir(config.AGENT):
                raise ValueError("the agent is not in %s (frozen into the firmware?): a release cannot replace it" % config.AGENT)
            self.agent = "\n"
        self.agent += p[len(config.AGENT_FILES) :] + "\n"

    def add(self, e, full, replaces):
        # The flash a put of entry e at full needs (replaces: a file is there now).
        # Folder metadata: the staged copy's entry in the stage, the entry at the path (path#new, then the
        # path) and path#old beside it when it replaces a file; a small file's bytes are in each of them.
        self.meta += _STAGED + (len(full) - full.rfind("/") + _ENTRY) * (1 + replaces)
        if e[1] <= _INLINE:
            self.meta += 3 * e[1]
            return
        s = fs.stat(config.staged(e[0], full))
        if s is None:  # downloaded already: on flash now
            s = fs.stat(config.staged(e[0], full) + ".part")
            self.blocks += blocks(e[1]) - (s[6] // 4096 if s else 0)
