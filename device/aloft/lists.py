# The file lists on flash that the merge (merge.py) walks: the next entry of one, and the installed release's
# list, opened once it hashes to what installed.json says.
from . import config, core, fs


def entry(f, skip_agent):
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


def digest(path):
    from binascii import hexlify
    from hashlib import sha256

    h = sha256()
    fs.feed(path, h, bytearray(256))
    return hexlify(h.digest()).decode()


def installed(have):
    # The installed release's file list (record have), open; None when there is none, or it is damaged (then
    # every file is judged by its bytes on flash).
    name = have.get("list")
    if not name:
        return None
    from .where import LISTS

    if digest(LISTS + "/" + name) == name:
        return open(LISTS + "/" + name)
    core.log("the installed file list is damaged; judging files by their bytes")
    return None
