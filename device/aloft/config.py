# Where the agent keeps its state on flash (docs/device.md, "On the board's flash"), and reading it back.
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
    """Where the download for a put of blob sha at path is staged: named by the first 16 hex of its
    SHA-256 and of its path's, so the same bytes at two paths are two files (each install rename
    needs its own) and names stay short."""
    from binascii import hexlify
    from hashlib import sha256

    return "%s/%s.%s" % (STAGE, sha[:16], hexlify(sha256(path).digest()[:8]).decode())


# Values that win over config.json: the board's (board.py); the simulator points "server" elsewhere.
try:
    from aloft_board import config as overrides
except Exception:  # none, or a broken one (board.py says so)
    overrides = {}


def load():
    try:
        cfg = fs.read_json(CONFIG)
    except OSError:
        raise OSError("no %s: the device is not provisioned" % CONFIG)
    cfg.update(overrides)
    for key in ("server", "keys") if cfg.get("enroll") else ("server", "keys", "id", "token"):
        if not cfg.get(key):  # a generic image enrolls at its first check instead (enroll.py)
            raise ValueError("config.json has no " + key)
    return cfg


def journal():
    """Whether an install journal is on flash (this agent's, or a legacy one)."""
    return fs.stat(JOURNAL) is not None or fs.stat(LEGACY) is not None


def pending():
    """Whether an install, a trial or what one left behind is on flash (see trial.recover): a
    journal, a trial record, or a copy of the previous agent (boot.py runs a whole copy first,
    which cleans up after itself; one it cannot import is left for this agent to remove).
    Downloads in the stage alone are not: they wait for the next check to resume them."""
    return journal() or fs.stat(TRIAL) is not None or fs.stat(PREVIOUS) is not None


def installed():
    """The installed record; {"version": None, "sequence": 0} when nothing is installed. A record
    written by an agent before 0.3.0 (its files inline) is rewritten in this agent's form once no
    journal needs it any more (legacy.py)."""
    try:
        state = fs.read_json(INSTALLED)
        if isinstance(state, dict) and type(state.get("sequence")) is int:
            if isinstance(state.get("files"), dict) and not pending():  # this agent is the one installed now
                from . import legacy

                state = legacy.convert(state)
            return state
        print("aloft: installed.json is malformed, treating the device as empty")
    except OSError:
        pass
    except ValueError:
        print("aloft: installed.json is unreadable, treating the device as empty")
    return {"version": None, "sequence": 0}
