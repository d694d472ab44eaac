# An install as a transaction (docs/device.md, "The install transaction"). The journal (written by
# install.py) is a small header, where.JOURNAL, naming both releases, and the renames, where.OPS, one
# per line, all on flash before the first rename. After a reset at any point the install can be finished
# (apply.py, roll forward) or undone (restore.py, roll back) from the journal and the flash alone, until the
# release is confirmed or rolled back (trial.py). Nothing holds more than one op in RAM.
#
# ops, applied kind by kind (every "d", then every "m", then every "p"; restore.py goes p, m, d):
#   d PATH                   a file of the installed release the new one drops: PATH -> PATH#old
#   m PATH                   set aside whole (a folder the new release no longer has, or one in the
#                            way of a new file): PATH -> PATH#old
#   p SHA SIZE OLD PATH      a new file: STAGE/<name> -> PATH#new; PATH -> PATH#old when OLD is 1; PATH#new -> PATH
# PATH is absolute; the staged file is config.staged(SHA, PATH); ops.py reads them back. Each op looks at
# the flash before it acts, so running apply (or restore) again after a reset is safe. Writing
# installed.json is the commit point; the old files stay until the release is confirmed.
#
# Why beside: LittleFS commits a rename within one folder at once, but one between folders in two
# steps, and after a power cut between them it may not find the other files of the folder the file
# came from until its next write repairs that (boot.py makes one first thing). So the only renames
# between folders start in the stage, which holds nothing a boot needs.
from . import fs, where


def read():
    # The journal header (a dict), None when there is none or it is unreadable. One that an agent
    # before 0.3.0 wrote (where.LEGACY) has its ops inline and "legacy": True.
    for path in (where.JOURNAL, where.LEGACY):
        try:
            j = fs.read_json(path)
        except OSError:
            continue
        except ValueError:
            print("aloft: unreadable install journal ignored")
            return None
        if not isinstance(j, dict) or type(j.get("sequence")) is not int:
            return None
        if path == where.LEGACY:
            j["legacy"] = True
        return j
    return None


def trial_state(j):
    # The trial record of journal j's release, None when there is none for it.
    try:
        t = fs.read_json(where.TRIAL)
    except (OSError, ValueError):
        return None
    return t if isinstance(t, dict) and t.get("sequence") == j["sequence"] else None


def committed(j):
    # Whether installed.json names journal j's release: it is on trial (or being confirmed or rolled back).
    from .state import installed

    return installed()["sequence"] == j["sequence"]


def placed(path, src, old):
    # Whether the new file of a put is at its path: neither its staged copy nor path#new is left, a
    # file is at the path (a folder there is one an "m" op brought back), and the file it replaced (if
    # any) is in path#old. Anything else is not ours.
    if fs.stat(src) is not None or fs.stat(path + "#new") is not None:
        return False
    st = fs.stat(path)
    if st is None or st[0] & 0x4000:
        return False
    return old is None or fs.stat(old) is not None


def record(r, rejected):
    # The installed record of release r (a journal, or its "previous"), with rejected when set.
    rec = {"version": r["version"], "sequence": r["sequence"]}
    for key in ("list", "files"):  # this agent's record names its file list; a legacy one lists the files
        if r.get(key) is not None:
            rec[key] = r[key]
    if rejected:
        rec["rejected"] = rejected
    return rec
