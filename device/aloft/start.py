# What a boot does first (aloft.boot): finish whatever a reset interrupted and count a trial boot (trial.py),
# then say what comes next, which the package runs once this module is unloaded.
from . import config, core, state


def run(role):
    # For role "previous": whether the new release is on trial. Otherwise "trial" (run main.py on trial,
    # watch.py), "firmware" (the same for a new firmware, docs/firmware.md), True (check now) or False (config.json
    # says "boot_check": false).
    was = core.tight()
    try:
        on_trial = role == "trial"
        if role is None and state.firmware():  # a firmware step past its switch: which slot booted, and why
            from . import fwtrial

            if fwtrial.start(_limit()):
                return "firmware"  # a trial boot of the firmware
            fwtrial = None
            core.unload("fwtrial", "slots", "fwinfo", "outbox")
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


def _limit():
    try:
        return int(config.load().get("trial_boots", 3))
    except Exception:  # recovery must run even with a broken configuration
        return 3
