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


class _Pack:
    # A read-only file system of the modules in a pack: any name.mpy exists (stat does no I/O), open finds it in
    # the index and returns the pack's own file at the module's first byte (the .mpy loader reads no further than
    # the module). The class itself is mounted: it has no instance.
    f = None  # the pack's path

    def mount(*args):  # mount(readonly, mkfs) and umount(): nothing to do
        pass

    umount = mount

    def stat(p):
        if p.endswith(".mpy"):
            return (0x8000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)

    def open(p, mode):
        from struct import unpack_from

        n = p[1:-4].encode()
        n += bytes(24 - len(n))  # as the index holds it: NUL-padded
        e = bytearray(32)  # an index entry: the name, its offset and its length (uint32 LE)
        f = open(_Pack.f, "rb")
        try:
            end = f.seek(0, 2)
            f.seek(0)
            hi = unpack_from("<I", e, 4)[0] if f.readinto(e) == 32 and e[:4] == b"APK1" else -1
            lo = 0
            while 0 <= lo < hi:  # a binary search of the sorted index: a few reads, a few bytes of garbage
                k = (lo + hi) // 2
                f.seek(32 + 32 * k)
                if f.readinto(e) != 32:
                    hi = -1
                elif e[:24] < n:
                    lo = k + 1
                elif e[:24] > n:
                    hi = k
                else:
                    lo, k = unpack_from("<II", e, 24)
                    if lo + k > end:
                        hi = -1
                        break
                    f.seek(lo)
                    e, f = f, None  # open, for the importer to read the module from and close
                    return e
            if hi < 0:  # not a pack, an index cut short, or an entry past the end
                raise OSError("damaged agent pack %s: %s" % (_Pack.f, p[1:]))
        finally:
            if f:
                f.close()
        raise ImportError("no module named 'aloft.%s'" % p[1:-4])


def _mount(d):
    # This agent's modules from d: from d/agent.pk when it has one, mounted at a short path (each module keeps its
    # path for good), /_p for the copy of the previous agent (previous.py), else /_a; the .py or .mpy files in d
    # otherwise. One pack is mounted at a time.
    global __path__
    import os

    for m in ("/_a", "/_p"):
        try:
            os.umount(m)
        except OSError:
            pass
    try:
        os.stat(d + "/agent.pk")
    except OSError:
        __path__ = d
        return
    _Pack.f = d + "/agent.pk"
    __path__ = "/_p" if d.startswith("/.aloft/") else "/_a"
    os.mount(_Pack, __path__)


_mount(__path__)


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
