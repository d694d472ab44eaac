# Where the agent keeps its state on flash (docs/device.md, "On the board's flash"), and its configuration.
# What that state says is state.py's.
from . import fs

DIR = "/.aloft"
CONFIG = DIR + "/config.json"  # written at provisioning; by the agent only when it enrolls (enroll.py)
INSTALLED = DIR + "/installed.json"  # {"version", "sequence", "list"?: sha256 of LISTS/<sha256>, "rejected"?}
LISTS = DIR + "/lists"  # file lists (docs/protocol.md, "File list"): the installed release's, and during an install the new one's
JOURNAL = DIR + "/journal"  # an install's header, from just before its first rename until it is confirmed or rolled back
OPS = DIR + "/journal.ops"  # the install's renames, one per line (journal.py)
LEGACY = DIR + "/journal.json"  # the journal of an agent before 0.3.0, while it installs this one (legacy.py)
TRIAL = DIR + "/trial.json"  # {"sequence", "boots", "state": "trial"|"confirmed"|"rollback", "reason"?}
OUTBOX = DIR + "/outbox.json"  # events not delivered yet, oldest first
TRUST = DIR + "/trust.json"  # {"keys", "threshold", "sequence"}: adopted from a confirmed release; else config's keys
STAGE = DIR + "/stage"  # downloads (download.py), the plan (plan.py), the offered file list (listing.py)
AGENT = "/lib/aloft"  # the agent; a release may replace it (docs/device.md, "Updating the agent")
AGENT_FILES = "lib/aloft/"  # how a release names the agent's files
PREVIOUS = DIR + "/agent"  # PREVIOUS/aloft: the agent before an update of the agent, until it is confirmed


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
