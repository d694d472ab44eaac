# The file-list stage: the list the verified manifest names (docs/protocol.md, "File list"), which the
# download stage has put in the stage, checked in one pass over the flash, a line at a time: its SHA-256
# and size against the manifest, each line's shape and path (paths.py), sorted and unique, no path both a
# file and a folder, the agent all or none.
# pack: zlib
from micropython import const
from . import config, core, fs

_MAX_AGENT = const(64)  # agent files a release may carry (plan.py holds their names)


def run(job):
    name = config.staged_list(job.m["files"]["sha256"])
    try:
        check(name, job.m["files"])
    except ValueError as e:
        fs.remove(name)  # the next check fetches it again
        job.fail(str(e))
    except Exception as e:
        job.fail(core.reason(e))


def check(name, files):
    # ValueError(reason) unless the file list at name is the one files (a manifest's "files") names
    # and keeps every rule.
    from binascii import hexlify
    from hashlib import sha256
    from .paths import entry

    h = sha256()
    n = 0
    prev = ""
    held = []  # lengths of earlier paths that prefix the previous one and may still be folders of a later one
    agent = 0  # agent files; bit 16: its __init__.py is one
    with open(name, "rb") as f:
        while True:
            line = f.readline()
            if not line:
                break
            h.update(line)
            n += 1
            if n > files["count"]:
                raise ValueError("file list has more than the %d lines files.count says" % files["count"])
            p = entry(line, n)
            line = None
            if p <= prev:
                raise ValueError("files not sorted by path or not unique at " + p)
            # Every path under x/ sorts right after x and the paths that extend x with one of + , - .
            # (they sort before /), so only earlier paths that prefix this one can be its folders.
            c = 0
            while c < len(prev) and prev[c] == p[c]:
                c += 1
            while held and held[-1] > c:
                held.pop()
            for k in held:
                if p[k] == "/":
                    raise ValueError("path %s is both a file and a folder" % p[:k])
            held = [k for k in held if p[k] < "/"]
            held.append(len(p))
            prev = p
            if p.startswith(config.AGENT_FILES):
                agent += 1 + (0x10000 if p == config.AGENT_FILES + "__init__.py" else 0)
    if n != files["count"]:
        raise ValueError("file list has %d lines, files.count says %d" % (n, files["count"]))
    if hexlify(h.digest()).decode() != files["sha256"]:
        raise ValueError("file list does not match files.sha256")
    if agent & 0xFFFF and not agent & 0x10000:
        raise ValueError("a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing")
    if agent & 0xFFFF > _MAX_AGENT:
        raise ValueError("a release carries at most %d agent files" % _MAX_AGENT)
