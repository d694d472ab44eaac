# Aloft over-the-air update agent. boot() from /boot.py, poll() from the application's loop,
# check() to check now, confirm() to accept a release on trial. Everything else loads only when
# it is needed (update.py runs a check stage by stage; watch.py only on a trial boot).
import time
from . import core

VERSION = "0.3.0"  # this agent's version, reported at every check-in

_result = None
_next = None  # ticks_ms when poll() checks again; None: at its first call
_errors = 0  # checks in a row the server did not answer: they come back sooner, with backoff
_trial = None  # on a trial boot: what watch.py knows about the release on trial


def boot(g=None, role=None):
    """From /boot.py: finish or undo whatever a reset interrupted, then check once unless
    config.json says "boot_check": false. When a new release is on trial, also run /main.py in
    the globals g (boot.py passes its own), decide about the release, and reset: this call does
    not return then. Does not return either when an update was installed (the board resets).

    While an update of the agent itself is installed or on trial, boot.py calls this twice
    (docs/device.md, "Updating the agent"): role "previous" on the agent the update replaces,
    kept in /.aloft/agent, which only finishes what a reset interrupted and counts the trial
    boot, returning True when the new release is on trial; then role "trial" on the new agent,
    which runs the release on trial without counting the boot again."""
    from . import start

    return start.run(g, role)


def reject(reason):
    """From boot.py, on the previous agent, when the new agent failed its trial boot (did not
    import, or raised): roll the release on trial back for reason, then reset."""
    from . import trial

    trial.reject(reason)


def _confirm_if_healthy():
    # confirm "auto": a check-in answered while this release is installed, and main.py has run
    # confirm_after seconds without raising (or returned).
    t = _trial
    if t is None or not t["auto"] or not t["ok"] or t["up"] is None:
        return
    if t["done"] or time.ticks_diff(time.ticks_ms(), t["up"]) >= t["after"]:
        confirm()


def confirm():
    """Accept the release on trial now, whatever "confirm" says: its previous files are dropped and
    a confirmed event is reported. True if a release was on trial, else False. Never raises."""
    global _trial
    _trial = None
    was = core.tight()
    try:
        from . import config, trial

        if not trial.confirm():
            return False
        trial = None
        core.unload("trial", "journal", "ops", "accept", "outbox", "legacy", "previous")
        from . import outbox

        outbox.flush(config.load())
        return True
    except Exception as e:
        core.log("confirm failed: %r" % (e,))
        return False
    finally:
        core.unload()
        core.tight(was)


def check():
    """Check in now and install an offered release. Returns "none", "updated" (only if the reset
    hook returns), "failed", "deferred" (battery low) or "error" (server unreachable, bad
    configuration)."""
    global _result, _next, _errors
    poll = None
    try:
        _result, poll = _check()
    except Exception as e:  # e.g. no RAM left to load the agent: the application goes on
        core.log("check failed: %r" % (e,))
        _result = "error"
    finally:  # board and config stay loaded: hooks and overrides are set on them from outside
        core.unload()
    if _result == "error":
        _errors += 1
    else:
        _errors = 0
        if _trial is not None:
            _trial["ok"] = True
    if not isinstance(poll, int):  # no answer: the configured interval
        from . import config

        try:
            poll = int(config.load().get("poll", 300))
        except Exception:
            poll = 300
        if _errors:  # sooner, doubling: 10 s, 20 s, 40 s ... up to the interval, less jitter
            poll = max(core.jitter(min(poll, 10 << min(_errors - 1, 12)) * 1000) // 1000, 10)
    # At least 10 s between checks; at most a day, so the ticks arithmetic cannot wrap.
    _next = time.ticks_add(time.ticks_ms(), min(max(poll, 10), 86400) * 1000)
    _confirm_if_healthy()
    return _result


def _check():
    # One check, stage by stage (update.py): (result, poll seconds or None).
    from . import update

    return update.run()


def poll():
    """check() when the server's poll interval has passed since the last check, else None. On a
    trial boot, also confirms the release once it has proved healthy."""
    _confirm_if_healthy()
    if _next is None or time.ticks_diff(time.ticks_ms(), _next) >= 0:
        return check()
    return None


def last_result():
    """What the last check() returned, None before the first."""
    return _result
