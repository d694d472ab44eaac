# Aloft over-the-air update agent: its public API and the little it keeps between checks. boot() from
# /boot.py, poll() from the application's loop, check() to check now, confirm() to accept a release on
# trial. Everything else loads when it is needed and goes again (docs/device.md, "The agent's modules"):
# between checks an application holds this module and core.py.
import time

VERSION = "0.4.0"  # this agent's version, reported at every check-in

_result = None
_next = None  # ticks_ms when poll() checks again; None: at its first call
_errors = 0  # checks in a row the server did not answer: the next comes sooner
_trial = None  # on a trial boot: what watch.py knows about the release on trial


def boot(g=None, role=None):
    # From /boot.py: finish whatever a reset interrupted, then check once unless config.json says
    # "boot_check": false; on a trial boot run /main.py in boot.py's globals g instead, decide, reset.
    # Around an update of the agent, boot.py calls it twice (docs/device.md, "Updating the agent"): role
    # "previous" (the agent it replaces) recovers and counts the boot, True when the new release is on
    # trial; role "trial" (the new agent) runs the release without counting the boot again.
    from . import core, start

    then = start.run(role)
    start = None
    core.unload()  # recovery's modules and start.py: nothing that comes next needs them
    if role == "previous":
        return then
    if then == "trial":
        from . import watch

        watch.run(g if g is not None else {"__name__": "__main__"})
    elif then:
        check()


def reject(reason):
    # From boot.py, on the previous agent, when the new one failed its trial boot (did not import, or
    # raised): roll the release on trial back for reason, then reset.
    from .rollback import reject

    reject(reason)


def _confirm_if_healthy():
    # confirm "auto": a check-in answered while this release is installed, and main.py ran
    # confirm_after seconds without raising (or returned).
    t = _trial
    if t is None or not t["auto"] or not t["ok"] or t["up"] is None:
        return
    if t["done"] or time.ticks_diff(time.ticks_ms(), t["up"]) >= t["after"]:
        confirm()


def confirm():
    """Accept the release on trial now, whatever "confirm" says: its previous files go, a confirmed event
    is reported. True if a release was on trial, else False. Never raises."""
    global _trial
    _trial = None
    from . import accept

    if not accept.run():
        return False
    accept = None  # unloaded: the event goes out without it and what it used
    try:
        from . import outbox

        outbox.flush()
    except Exception:  # no RAM even to load it: the event waits in the outbox for the next check-in
        pass
    return True


def check():
    """Check in now and install an offered release. Returns "none", "updated" (only if the reset hook
    returns), "failed", "deferred" (battery low) or "error" (server unreachable, bad configuration)."""
    global _result, _next, _errors
    poll = None
    try:
        _result, poll = _check()
    except Exception as e:  # e.g. no RAM left to load the agent: the application goes on
        print("aloft: check failed: %r" % (e,))
        _result = "error"
    if _result == "error":
        _errors += 1
    else:
        _errors = 0
        if _trial is not None:
            _trial["ok"] = True
    try:
        from . import core

        core.unload()  # what the check loaded
        from .backoff import interval

        poll = interval(poll, _errors)
        core.unload()
    except Exception:  # not even RAM for that
        poll = 300
    _next = time.ticks_add(time.ticks_ms(), poll * 1000)
    _confirm_if_healthy()
    return _result


def _check():
    # One check, stage by stage (update.py): (result, poll seconds or None).
    from . import update

    return update.run()


def poll():
    """check() when the server's poll interval has passed since the last check, else None. On a trial
    boot, also confirms the release once it proved healthy."""
    _confirm_if_healthy()
    if _next is None or time.ticks_diff(time.ticks_ms(), _next) >= 0:
        return check()
    return None


def last_result():
    """What the last check() returned, None before the first."""
    return _result
