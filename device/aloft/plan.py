# The plan stage: battery, then the renames of the install (journal.py's ops) into stage/plan, from one
# merge of two sorted files on flash: the installed release's file list and the new one's (docs/device.md,
# "Planning an install"). RAM holds a line of each, the open folders of the current path and a few paths
# that may still be in the way; never the lists. Then the flash the install needs, against what is free.
import os
from micropython import const
from . import board, config, core, fs

_BLOCK = const(4096)  # flash block: every file occupies whole blocks
_DATA = const(4088)  # file bytes a LittleFS block holds at worst (the rest: skip-list pointers)
# Blocks besides the files: the stage folder (2), what a download writes between two syncs and the
# copy LittleFS makes of a partly filled last block when a file is appended to (4), the small state
# files and their temporary copies (2), metadata pair splits when path#new and path#old join the
# folders (4).
_FIXED = const(12)
_INWAY = const(8)  # folders in the way of new files, waiting for their verdict


def run(job):
    m = job.m
    low = job.cfg.get("min_battery")
    level = board.battery() if low else None
    if level is not None and level < low:
        return job.fail("battery %d%% is below %d%%" % (level, low), "deferred", "deferred")
    core.log("update %s -> %s (sequence %d)" % (job.have["version"] or "nothing", m["version"], m["sequence"]))
    try:
        tmp = config.STAGE + "/plan.tmp"
        with open(tmp, "w") as out:
            need, job.agent = write(out, job.have, "%s/%s.lst" % (config.STAGE, m["files"]["sha256"][:16]))
        os.rename(tmp, config.STAGE + "/plan")
        job.planned = True
        _prune(m["files"]["sha256"])
        free = board.free_bytes()
        core.log("the update needs %d bytes of flash, %d free" % (need, free))
        if need > free:
            return job.fail("insufficient storage: need %d bytes, %d free" % (need, free))
        job.event = "downloading"
    except Exception as e:
        job.fail(core.reason(e))


def _blocks(n):
    # Flash blocks a file of n bytes occupies: each block holds at least _DATA bytes of it.
    return (n + _DATA - 1) // _DATA


def _line(f, skip_agent):
    # The next (sha256, size, path) of a file list, None at its end. The lists were checked (listing.py),
    # or written by this agent.
    while True:
        line = f.readline()
        if not line:
            return None
        sp = line.find(" ", 65)
        e = (line[:64], int(line[65:sp]), line[sp + 1 : -1])
        if not (skip_agent and e[2].startswith(config.AGENT_FILES)):  # the agent is not the installed release's
            return e


def _installed(have):
    # The installed release's file list, opened, once it hashes to what installed.json says; None when
    # nothing is installed or it is damaged (then every file is judged by its bytes on flash).
    name = have.get("list")
    if not name:
        return None
    from binascii import hexlify
    from hashlib import sha256

    h = sha256()
    fs.feed(config.LISTS + "/" + name, h, bytearray(256))
    if hexlify(h.digest()).decode() == name:
        return open(config.LISTS + "/" + name)
    core.log("the installed file list is damaged; judging files by their bytes")
    return None


def write(out, have, new_list):
    """Write the ops that turn the installed release (record have) into the one whose checked file list
    is at new_list. Returns (bytes of flash the install needs beyond what is on flash now, whether it
    changes the agent). ValueError when a file or folder no release installed is in the way."""
    old = _installed(have)
    new = open(new_list)
    try:
        a = _line(old, True) if old else None
        b = _line(new, False)
        dirs = []  # the open folders of the current path: [path, has a new file, release files in it]
        dropped = []  # files the release drops that may be folders of a later path
        inway = []  # folders on flash where the release puts a file: set aside ("m"), judged when they close
        agent = None  # the names of the new agent's files, when the release carries the agent
        last = ""  # the previous put
        blocks = _FIXED
        touched = False  # whether an op changes the agent's files
        buf = None
        while a or b:
            if b is None or a is not None and a[2] < b[2]:
                e, kind = a, 1  # only in the installed release
                a = _line(old, True)
            elif a is None or b[2] < a[2]:
                e, kind = b, 2  # only in the new one
                b = _line(new, False)
            else:
                kind = 3 if a[0] == b[0] else 2  # in both: unchanged, or new bytes
                e = b
                a, b = _line(old, True), _line(new, False)
                if kind == 2:
                    kind = 4
            p = e[2]
            _enter(p, dirs, out, inway)
            k = len(dropped)
            while k:  # those that are no prefix of p now are none of a later path either (sorted order)
                k -= 1
                d = dropped[k]
                if not (p.startswith(d) and p[len(d)] <= "/"):
                    dropped.pop(k)
            if dirs:
                if kind != 2:
                    dirs[-1][2] += 1
                if kind != 1:
                    dirs[-1][1] = True
            full = "/" + p
            st = fs.stat(full)
            if kind == 1:  # dropped: aside until the release is confirmed
                if st is not None and not st[0] & 0x4000:
                    fs.rmtree(full + "#old")
                    out.write("d %s\n" % full)
                    dropped.append(p)
                    touched = touched or p.startswith(config.AGENT_FILES)
                continue
            if p.startswith(config.AGENT_FILES):
                if agent is None:
                    if not fs.is_dir(config.AGENT):
                        raise ValueError("the agent is not in %s (frozen into the firmware?): a release cannot replace it" % config.AGENT)
                    agent = set()
                agent.add(p[len(config.AGENT_FILES) :])
            if st is not None and not st[0] & 0x4000 and st[6] == e[1]:
                if kind == 3:
                    continue  # unchanged
                if kind == 2:  # there, but no release's (or the agent): kept when it has the bytes already
                    from binascii import hexlify
                    from hashlib import sha256

                    buf = buf or bytearray(512)
                    h = sha256()
                    fs.feed(full, h, buf)
                    if hexlify(h.digest()).decode() == e[0]:
                        continue
            # A new file: its folders must be folders, or files the release drops.
            c = 0
            while c < len(last) and c < len(p) and last[c] == p[c]:
                c += 1
            i = p.rfind("/", 0, c + 1) + 1
            while True:
                i = p.find("/", i)
                if i < 0:
                    break
                f = fs.stat("/" + p[:i])
                if f is None or not f[0] & 0x4000:
                    if f is not None and p[:i] not in dropped:
                        raise ValueError("file %s is in the way of %s" % (p[:i], p))
                    blocks += 2 * p.count("/", i)  # this folder and the ones below it are new
                    break
                i += 1
            last = p
            if st is not None and st[0] & 0x4000:  # a folder where the file goes: aside whole, if only release files are in it
                if len(inway) == _INWAY:
                    raise ValueError("more than %d folders are in the way of new files" % _INWAY)
                fs.rmtree(full + "#old")
                out.write("m %s\n" % full)
                inway.append(full)
                st = None
            for side in ("#new", "#old"):  # not ours yet: apply would take them for its own
                fs.rmtree(full + side)
            out.write("p %s %d %d %s\n" % (e[0], e[1], st is not None, full))
            touched = touched or p.startswith(config.AGENT_FILES)
            s = fs.stat(config.staged(e[0], full))
            if s is None:
                s = fs.stat(config.staged(e[0], full) + ".part")
                blocks += _blocks(e[1]) - (s[6] // _BLOCK if s else 0)
        _enter("", dirs, out, inway)
        for full in inway:  # folders no release file was ever in: only an empty one may go
            if fs.count(full):
                raise ValueError("folder %s holds files no release installed; it is in the way of a new file" % full[1:])
        if agent is not None:  # modules the new agent no longer has
            for entry in list(os.ilistdir(config.AGENT)):
                if "#" not in entry[0] and not entry[1] & 0x4000 and entry[0] not in agent:
                    out.write("d %s/%s\n" % (config.AGENT, entry[0]))
                    touched = True
        if touched:  # the copy of the agent kept until the new one is confirmed (previous.py)
            blocks += 2
            for entry in os.ilistdir(config.AGENT):
                blocks += max(_blocks(os.stat(config.AGENT + "/" + entry[0])[6]), 1)
        return blocks * _BLOCK, touched
    finally:
        new.close()
        if old:
            old.close()


def _enter(p, dirs, out, inway):
    # Close the open folders that are not folders of path p ("": all), then open p's own. A folder that
    # closes with none of the new release's files goes aside whole ("m") when it holds only files the
    # installed release has (so a package replaced by a module of its name does not shadow it); one in
    # the way of a new file must, or the release cannot be installed.
    while dirs and not p.startswith(dirs[-1][0] + "/"):
        d = dirs.pop()
        if dirs:
            dirs[-1][1] = dirs[-1][1] or d[1]
            dirs[-1][2] += d[2]
        full = "/" + d[0]
        if d[1] or not fs.is_dir(full):
            continue
        mine = fs.count(full) == d[2]
        if full in inway:
            inway.remove(full)
            if not mine:
                raise ValueError("folder %s holds files no release installed; it is in the way of the file %s" % (d[0], d[0]))
        elif mine:
            fs.rmtree(full + "#old")
            out.write("m %s\n" % full)
    i = len(dirs[-1][0]) + 1 if dirs else 0
    while True:
        i = p.find("/", i)
        if i < 0:
            return
        dirs.append([p[:i], False, 0])
        i += 1


def _prune(target):
    # The stage holds downloads for one release, named in stage/target. For another one, what the plan
    # puts moves to a new stage (renames out of the stage are safe, see journal.py) and the rest goes.
    tag = config.STAGE + "/target"
    try:
        with open(tag) as f:
            if f.read() == target:
                return
    except OSError:
        pass
    keep = config.STAGE + ".new"
    fs.rmtree(keep)
    os.mkdir(keep)
    with open(config.STAGE + "/plan") as f:
        while True:
            line = f.readline()
            if not line:
                break
            if line[0] == "p":
                sha, _, _, path = line[2:-1].split(" ", 3)
                name = config.staged(sha, path)
                for side in ("", ".part"):
                    if fs.stat(name + side) is not None:
                        os.rename(name + side, keep + name[len(config.STAGE) :] + side)
    for name in ("plan", target[:16] + ".lst"):
        os.rename(config.STAGE + "/" + name, keep + "/" + name)
    with open(keep + "/target", "w") as f:
        f.write(target)
    fs.rmtree(config.STAGE)
    os.rename(keep, config.STAGE)
