# Aloft over-the-air update agent. boot() from /boot.py, poll() from the application's loop,
# check() to check now. Everything else loads only when a check runs.
import time

_result = None
_next = None  # ticks_ms when poll() checks again; None: at its first call


def boot():
    """Finish an interrupted install, then check once unless config.json says "boot_check": false.
    Does not return when an update was installed (the board resets)."""
    from . import config

    if config.interrupted():
        from . import install

        if install.recover():
            print("aloft: finished an interrupted install")
        install = None
        _unload("install")
    if config.load().get("boot_check", True):
        check()


def check():
    """Check in now and install an offered release. Returns "none", "updated" (only if the reset
    hook returns), "failed" or "error" (server unreachable, bad configuration)."""
    global _result, _next
    poll = None
    try:
        _result, poll = _check()
    except Exception as e:  # e.g. no RAM left to load the agent: the application goes on
        print("aloft: check failed: %r" % (e,))
        _result = "error"
    finally:  # board and config stay loaded: hooks and overrides are set on them from outside
        _unload("update", "download", "signature", "manifest", "install", "ed25519", "sha512", "http")
    if not isinstance(poll, int):  # no answer: the configured interval
        from . import config

        try:
            poll = int(config.load().get("poll", 300))
        except Exception:
            poll = 300
    # At least 10 s between checks; at most a day, so the ticks arithmetic cannot wrap.
    _next = time.ticks_add(time.ticks_ms(), min(max(poll, 10), 86400) * 1000)
    return _result


def _check():
    import gc

    gc.collect()  # the update path needs large free blocks to load
    from . import update

    return update.check()


def poll():
    """check() when the server's poll interval has passed since the last check, else None."""
    if _next is None or time.ticks_diff(time.ticks_ms(), _next) >= 0:
        return check()
    return None


def last_result():
    """What the last check() returned, None before the first."""
    return _result


def _unload(*names):
    # Each part of the update path is needed only for a moment; unloading gives its RAM back.
    import gc
    import sys

    for name in names:
        sys.modules.pop("aloft." + name, None)
        globals().pop(name, None)
    gc.collect()
