# Where the agent keeps its state on flash (docs/device.md, "On the board's flash"): the folder, the stage and the
# configuration; the state files are named in where.py, which only the steps that read or write them load. What
# that state says is state.py's.
from . import fs

DIR = "/.aloft"
CONFIG = DIR + "/config.json"  # written at provisioning; by the agent only when it enrolls (enroll.py)
STAGE = DIR + "/stage"  # downloads (download.py), the plan (plan.py), the offered file list (listing.py)
AGENT = "/lib/aloft"  # the agent; a release may replace it (docs/device.md, "Updating the agent")
AGENT_FILES = "lib/aloft/"  # how a release names the agent's files


def staged(sha, path):
    # Where the download for a put of blob sha at path is staged: named by the first 16 hex of its SHA-256 and
    # of its path's, so the same bytes at two paths are two files (each install rename needs its own) and
    # names stay short.
    from binascii import hexlify
    from hashlib import sha256

    return "%s/%s.%s" % (STAGE, sha[:16], hexlify(sha256(path).digest()[:8]).decode())


def staged_list(sha):
    # Where the file list whose SHA-256 is sha waits in the stage, from its download until the install moves it
    # to LISTS/<sha>.
    return "%s/%s.lst" % (STAGE, sha[:16])


def load():
    # config.json with the board's values over it (aloft_board.config; the simulator points "server"
    # elsewhere). OSError when there is none, ValueError when a required key is missing.
    try:
        cfg = fs.read_json(CONFIG)
    except OSError:
        raise OSError("no %s: the device is not provisioned" % CONFIG)
    try:
        from aloft_board import config as over

        cfg.update(over)
    except Exception:  # none, or a broken one (board.py says so)
        pass
    for key in ("server", "keys") if cfg.get("enroll") else ("server", "keys", "id", "token"):
        if not cfg.get(key):  # a generic image enrolls at its first check instead (enroll.py)
            raise ValueError("config.json has no " + key)
    return cfg
