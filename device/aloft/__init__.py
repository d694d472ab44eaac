# The agent's API, its state between checks, agent.pk's file system (docs/device.md)
import time

VERSION = "0.4.0"

_result = None
_next = None  # ticks_ms of the next check
_errors = 0  # unanswered checks in a row
_trial = None  # on a trial boot: watch.py's


class _Pack:
    f = ()  # paths
    h = b""  # header

    def mount(*a):
        pass

    umount = mount

    def stat(p):
        if p[-4:] == ".mpy":
            return (32768, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)

    def open(p, m):
        n = (p[1:-4].encode() + bytes(10))[:10]
        e = bytearray(10)
        for f in _Pack.f:
            try:
                f = open(f, "rb")
            except OSError:
                continue
            if f.read(32) == _Pack.h:
                break
            f.close()
        else:
            f = None
        k = -1
        try:
            if f and _Pack.h[:4] == b"APK2":
                k = int.from_bytes(_Pack.h[4:8], "little")
            while k > 0 and f.readinto(e) == 10 and e != n:
                k -= 1
                f.seek(6, 1)
            if k == 0:
                raise ImportError("no module named 'aloft.%s'" % p[1:-4])
            if k > 0 and f.readinto(e) > 5:
                o = int.from_bytes(e[2:6], "little")
                m = e[1] > 127  # zlib
                if o + (e[0] | e[1] << 8 & 32767) <= f.seek(0, 2):
                    f.seek(o)
                    e, f = f, None
                    if m:
                        from deflate import DeflateIO

                        e = DeflateIO(e, 2, 9, 1)
                    return e
        finally:
            if f:
                f.close()
        raise OSError("damaged agent pack %s: %s" % (_Pack.f[-1], p[1:]))


def _mount(d):
    global __path__
    import os

    for m in ("/_a", "/_p"):
        try:
            os.umount(m)
        except OSError:
            pass
    try:
        with open(d + "/agent.pk", "rb") as f:
            _Pack.h = f.read(32)
    except OSError:
        __path__ = d
        return
    __path__ = "/_p" if d[:7] == "/.aloft" else "/_a"
    a = "/lib/aloft/agent.pk"
    _Pack.f = (a + "#old", a) if __path__ == "/_p" else (d + "/agent.pk",)
    os.mount(_Pack, __path__)


_mount(__path__)
del _mount  # previous.py switches to a copy


def boot(g=None, role=None):
    from . import core, start

    then = start.run(role)
    start = None
    core.unload()
    if role == "previous":
        return then
    if then == "trial":
        from . import watch

        watch.run(g or {"__name__": "__main__"})
    elif then:
        check()


def reject(reason):
    from .trial import reject

    reject(reason)


def _healthy():
    t = _trial
    if t and t["auto"] and t["ok"] and t["up"] is not None and (t["done"] or time.ticks_diff(time.ticks_ms(), t["up"]) >= t["after"]):
        confirm()


def confirm():
    global _trial
    _trial = None
    from . import accept

    if not accept.run():
        return False
    accept = None
    try:
        from . import events

        events.flush()
    except Exception:
        pass
    return True


def check():
    global _result, _next, _errors
    poll = None
    try:
        _result, poll = _check()
    except Exception as e:
        print("aloft: check failed: %r" % (e,))
        _result = "error"
    if _result == "error":
        _errors += 1
    else:
        _errors = 0
        if _trial:
            _trial["ok"] = True
    try:
        from . import core

        core.unload()
        from .backoff import interval

        poll = interval(poll, _errors)
        core.unload()
    except Exception:
        poll = 300
    _next = time.ticks_add(time.ticks_ms(), poll * 1000)
    _healthy()
    return _result


def _check():
    from . import update

    return update.run()


def poll():
    _healthy()
    if _next is None or time.ticks_diff(time.ticks_ms(), _next) >= 0:
        return check()


def last_result():
    return _result
