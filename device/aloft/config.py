# Where the agent keeps its state on flash, and reading it back.
from . import fs

DIR = "/.aloft"
CONFIG = DIR + "/config.json"  # written at provisioning; by the agent only when it enrolls (enroll.py)
INSTALLED = DIR + "/installed.json"  # {"version", "sequence", "files": {path: sha256}, "rejected"?}
JOURNAL = DIR + "/journal.json"  # from just before an install's first rename until it is confirmed or rolled back
TRIAL = DIR + "/trial.json"  # {"sequence", "boots", "state": "trial"|"confirmed"|"rollback", "reason"?}
OUTBOX = DIR + "/outbox.json"  # events not delivered yet, oldest first
TRUST = DIR + "/trust.json"  # {"keys", "threshold", "sequence"}: adopted from a confirmed release; else config's keys
STAGE = DIR + "/stage"  # downloads: <sha256> verified, <sha256>.part still arriving
AGENT = "/lib/aloft"  # the agent; a release may replace it (docs/device.md, "Updating the agent")
AGENT_FILES = "lib/aloft/"  # how a release names the agent's files
PREVIOUS = DIR + "/agent"  # PREVIOUS/aloft: the agent before an update of the agent, until it is confirmed

# Values that win over config.json: the board's (board.py); the simulator points "server" elsewhere.
try:
    from aloft_board import config as overrides
except Exception:  # none, or a broken one (board.py says so)
    overrides = {}

_REQUIRED = ("server", "keys")


def load():
    try:
        cfg = fs.read_json(CONFIG)
    except OSError:
        raise OSError("no %s: the device is not provisioned" % CONFIG)
    cfg.update(overrides)
    for key in _REQUIRED:
        if not cfg.get(key):
            raise ValueError("config.json has no " + key)
    if not cfg.get("enroll"):  # a generic image enrolls at its first check instead (enroll.py)
        for key in ("id", "token"):
            if not cfg.get(key):
                raise ValueError("config.json has no " + key)
    return cfg


def pending():
    """Whether an install, a trial or what one left behind is on flash (see trial.recover): the
    journal, a trial record, or a copy of the previous agent (boot.py runs a whole copy first,
    which cleans up after itself; one it cannot import is left for this agent to remove).
    Downloads in the stage alone are not: they wait for the next check to resume them."""
    for path in (JOURNAL, TRIAL, PREVIOUS):
        if fs.stat(path) is not None:
            return True
    return False


def installed():
    try:
        state = fs.read_json(INSTALLED)
        if isinstance(state, dict) and isinstance(state.get("files"), dict) and isinstance(state.get("sequence"), int):
            return state
        print("aloft: installed.json is malformed, treating the device as empty")
    except OSError:
        pass
    except ValueError:
        print("aloft: installed.json is unreadable, treating the device as empty")
    return {"version": None, "sequence": 0, "files": {}}
