# What a boot does first (aloft.boot): finish whatever a reset interrupted and count a trial boot (trial.py),
# then say what comes next, which the package runs once this module is unloaded.
# pack: zlib
from . import config, core, state


def run(role):
    # For role "previous": whether the new release is on trial. Otherwise "trial" (run main.py on trial,
    # watch.py; a release's, or a new firmware's, docs/firmware.md), True (check now) or False (config.json says
    # "boot_check": false).
    was = core.tight()
    try:
        on_trial = role == "trial"
        if role is None and state.fs.stat(state.where.FWSTEP) is not None:  # a firmware step: which slot booted, and why
            from . import fwtrial

            if fwtrial.start():
                return "trial"  # of the firmware: watch.py runs it as a release's, and rollback.py and accept.py tell
            fwtrial = None
            core.unload()  # what it loaded
        if role == "previous" or (role is None and state.pending()):  # before the configuration is read: recovery needs none
            from . import trial

            on_trial = trial.start()
            trial = None
            if role == "previous":
                return on_trial
        if on_trial:
            return "trial"
        return config.load().get("boot_check", True)
    finally:
        core.tight(was)

