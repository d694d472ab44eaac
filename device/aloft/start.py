# What aloft.boot() does (the package keeps only its API loaded): recovery first, then the trial boot
# (watch.py) or a check.
import aloft
from . import core


def run(g, role):
    was = core.tight()
    try:
        return _run(g, role, was)
    finally:
        core.tight(was)


def _run(g, role, was):
    from . import config

    on_trial = role == "trial"
    if role == "previous" or (role is None and config.pending()):  # before the configuration is read: recovery needs none
        from . import trial

        on_trial = trial.start()
        trial = config = None
        core.unload("trial", "journal", "ops", "restore", "accept", "outbox", "legacy", "previous", "board")
        if role == "previous":
            return on_trial
        from . import config
    cfg = config.load()
    if on_trial:
        from . import watch

        core.tight(was)  # main.py runs with the application's own threshold
        watch.run(cfg, g if g is not None else {"__name__": "__main__"})
    elif cfg.get("boot_check", True):
        cfg = config = None
        aloft.check()
