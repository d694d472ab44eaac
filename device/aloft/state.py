# What the agent's state on flash says (where.py names the files): the installed release, whether an
# install's journal is there, whether an install or a trial is under way.
from . import fs, where


def journal():
    # Whether an install journal is on flash (this agent's, or a legacy one).
    return fs.stat(where.JOURNAL) is not None or fs.stat(where.LEGACY) is not None


def pending():
    # Whether an install, a trial or what one left behind is on flash (see trial.recover): a journal, a trial
    # record, or a copy of the previous agent (boot.py runs a whole copy first, which cleans up after itself;
    # one it cannot import is left for this agent to remove), whole or half made or removed (a reset while it was:
    # it holds flash the next install counts again). Downloads in the stage alone are not: they wait for the next
    # check to resume them.
    p = where.PREVIOUS
    return journal() or fs.stat(where.TRIAL) or fs.stat(p) or fs.stat(p + ".tmp") or fs.stat(p + ".del")  # truthy


def installed():
    # The installed record; {"version": None, "sequence": 0} when nothing is installed. A record written by
    # an agent before 0.3.0 (its files inline) is rewritten in this agent's form once no journal needs it
    # any more (legacy.py).
    try:
        state = fs.read_json(where.INSTALLED)
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
