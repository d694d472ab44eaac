# What the merge (merge.py) knows about the paths around the current one: the open folders, files the
# release drops, folders in the way of new files; and the flash the install needs. Bounded by the depth
# of a path and a few paths in the way, never by the number of files.
from micropython import const
from . import config, fs

_INWAY = const(8)  # folders in the way of new files, waiting for their verdict


def blocks(n):
    # Flash blocks a file of n bytes occupies: a 4096-byte block holds at least 4088 bytes of it.
    return (n + 4087) // 4088


_INLINE = const(64)  # LittleFS keeps a file this small in its folder's metadata (its limit is 128 bytes or more)
# Bytes of folder metadata per entry beyond its name (tags, the place of the file, commit padding, "#new"), and a
# staged copy's entry (config.staged names are 33 characters). LittleFS splits a folder's metadata pair when it is
# half full, so a pair may hold only 1 KiB of entries (plan.py): measured, 300 files of a block each in one folder
# took 358 blocks at the install's peak beyond what was on flash, 46 more than their own and the fixed ones.
_ENTRY = const(32)
_STAGED = const(61)  # 33 characters + _ENTRY, less the "#new" a staged name does not have


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

    def put(self, e, st, out):
        # A new file: its folders must be folders, or files the release drops; a folder where it goes is
        # set aside whole, if only release files are in it (enter() judges that when the folder closes).
        p, last = e[2], self.last
        c = 0
        while c < len(last) and c < len(p) and last[c] == p[c]:
            c += 1
        i = p.rfind("/", 0, c + 1) + 1  # the folders p shares with the previous put were checked then
        while True:
            i = p.find("/", i)
            if i < 0:
                break
            f = fs.stat("/" + p[:i])
            if f is None or not f[0] & 0x4000:
                if f is not None and p[:i] not in self.dropped:
                    raise ValueError("file %s is in the way of %s" % (p[:i], p))
                self.blocks += 2 * p.count("/", i)  # this folder and the ones below it are new
                break
            i += 1
        self.last = p
        full = "/" + p
        if st is not None and st[0] & 0x4000:
            if len(self.inway) == _INWAY:
                raise ValueError("more than %d folders are in the way of new files" % _INWAY)
            fs.rmtree(full + "#old")
            out.write("m %s\n" % full)
            self.inway.append(full)
            st = None
        for side in ("#new", "#old"):  # not ours yet: apply would take them for its own
            fs.rmtree(full + side)
        out.write("p %s %d %d %s\n" % (e[0], e[1], st is not None, full))
        self.touched = self.touched or p.startswith(config.AGENT_FILES)
        # Folder metadata: the staged copy's entry in the stage, the entry at the path (path#new, then the
        # path) and path#old beside it when it replaces a file; a small file's bytes are in each of them.
        self.meta += _STAGED + (len(full) - full.rfind("/") + _ENTRY) * (1 + (st is not None))
        if e[1] <= _INLINE:
            self.meta += 3 * e[1]
            return
        s = fs.stat(config.staged(e[0], full))
        if s is None:  # downloaded already: on flash now
            s = fs.stat(config.staged(e[0], full) + ".part")
            self.blocks += blocks(e[1]) - (s[6] // 4096 if s else 0)

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
            mine = fs.count(full) == d[2]
            if full in self.inway:
                self.inway.remove(full)
                if not mine:
                    raise ValueError("folder %s holds files no release installed; it is in the way of the file %s" % (d[0], d[0]))
            elif mine:
                fs.rmtree(full + "#old")
                out.write("m %s\n" % full)
        if not p:
            for full in self.inway:  # folders no release file was ever in: only an empty one may go
                if fs.count(full):
                    raise ValueError("folder %s holds files no release installed; it is in the way of a new file" % full[1:])
            return
        i = len(dirs[-1][0]) + 1 if dirs else 0
        while True:
            i = p.find("/", i)
            if i < 0:
                return
            dirs.append([p[:i], False, 0])
            i += 1
