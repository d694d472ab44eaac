# Where the agent keeps its state on flash, and reading it back.
from . import fs

DIR = "/.aloft"
CONFIG = DIR + "/config.json"  # written at provisioning, never by the agent
INSTALLED = DIR + "/installed.json"  # {"version", "sequence", "files": {path: sha256}}
JOURNAL = DIR + "/journal.json"  # present only while an install is being applied
STAGE = DIR + "/stage"  # verified downloads, one file per blob
BACKUP = DIR + "/backup"  # files an install replaced or removed, until it is committed

# Values that win over config.json; the simulator points "server" elsewhere this way.
overrides = {}

_REQUIRED = ("server", "id", "token", "keys")


def load():
    try:
        cfg = fs.read_json(CONFIG)
    except OSError:
        raise OSError("no %s: the device is not provisioned" % CONFIG)
    cfg.update(overrides)
    for key in _REQUIRED:
        if not cfg.get(key):
            raise ValueError("config.json has no " + key)
    return cfg


def interrupted():
    """Whether an install was cut short: its journal or leftovers are on flash (see install.recover)."""
    for path in (JOURNAL, BACKUP, STAGE):
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
