# What is left once an install, a confirmation or a rollback is over (trial.py), or what a reset left
# behind (checkin.py): the journal goes first, then whatever it made garbage.
# pack: zlib
from . import config, fs, where


def run(keep_stage):
    # The journal goes first: once it is gone the files and installed.json agree, and whatever else
    # is left (a trial record, staged files, the ops, file lists no record names, temporary copies) is garbage.
    fs.remove(where.JOURNAL)
    fs.remove(where.LEGACY)
    fs.remove(where.OPS)
    fs.remove(where.TRIAL)
    if not keep_stage:
        from .tree import rmtree

        rmtree(config.STAGE)
        rmtree = None
    for path in (where.JOURNAL, where.LEGACY, where.INSTALLED, where.TRIAL, where.OUTBOX, where.TRUST):
        fs.remove(path + ".tmp")  # half-written by a reset in fs.write_json
    if fs.stat(where.LISTS) is not None:
        import os

        try:  # as written: a legacy record stays one (the agent before 0.3.0 may be back)
            keep = fs.read_json(where.INSTALLED).get("list")
        except Exception:
            keep = None
        for entry in list(os.ilistdir(where.LISTS)):
            if entry[0] != keep:
                fs.remove(where.LISTS + "/" + entry[0])
    drop_previous()


def drop_previous():
    # The copy of the previous agent, once its install or trial is over (whole, or what a reset left of it).
    for path in (where.PREVIOUS, where.PREVIOUS + ".tmp", where.PREVIOUS + ".del"):
        if fs.stat(path) is not None:
            from . import previous

            previous.drop()
            break
