# What the merge (merge.py) knows about the paths around the current one: the open folders, files the
# release drops, folders in the way of new files (put.py sets them aside); and the flash the install
# needs. Bounded by the depth of a path and a few paths in the way, never by the number of files.
import os
from . import config, fs


def blocks(n):
    # Flash blocks a file of n bytes occupies: a 4096-byte block holds at least 4088 bytes of it.
    return (n + 4087) // 4088


def count(path):
    # How many files the tree at path holds (a file: 1; nothing there: 0).
    st = fs.stat(path)
    if st is None:
        return 0
    if not st[0] & 0x4000:
        return 1
    n = 0
    for entry in os.ilistdir(path):
        n += count(path + "/" + entry[0])
    return n


class Walk:
    def __init__(self):
        self.dirs = []  # the open folders of the current path: [path, has a new file, release files in it]
        self.dropped = []  # files the release drops that may be folders of a later path
        self.inway = []  # folders on flash where the release puts a file: set aside ("m"), judged when they close
        self.agent = None  # the names of the new agent's files, when the release carries the agent
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
            if not fs.is_dir(config.AGENT):
                raise ValueError("the agent is not in %s (frozen into the firmware?): a release cannot replace it" % config.AGENT)
            self.agent = set()
        self.agent.add(p[len(config.AGENT_FILES) :])

    def enter(self, p, out):
        # Close the open folders that are not folders of path p ("": all), then open p's own. A folder
        # that closes with none of the new release's files goes aside whole ("m") when it holds only files
        # the installed release has (so a package replaced by a module of its name does not shadow it);
        # one in the way of a new file must, or the release cannot be installed.
        dirs = self.dirs
        while dirs and not p.startswith(dirs[-1][0] + "/"):
            d = dirs.pop()
            if dirs:
                dirs[-1][1] = dirs[-1][1] or d[1]
                dirs[-1][2] += d[2]
            full = "/" + d[0]
            if d[1] or not fs.is_dir(full):
                continue
            mine = count(full) == d[2]
            if full in self.inway:
                self.inway.remove(full)
                if not mine:
                    raise ValueError("folder %s holds files no release installed; it is in the way of the file %s" % (d[0], d[0]))
            elif mine:
                fs.rmtree(full + "#old")
                out.write("m %s\n" % full)
        if not p:
            for full in self.inway:  # folders no release file was ever in: only an empty one may go
                if count(full):
                    raise ValueError("folder %s holds files no release installed; it is in the way of a new file" % full[1:])
            return
        i = len(dirs[-1][0]) + 1 if dirs else 0
        while True:
            i = p.find("/", i)
            if i < 0:
                return
            dirs.append([p[:i], False, 0])
            i += 1
