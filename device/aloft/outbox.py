# Events that could not be delivered when they happened (events.py; server down, or the board resets right after
# them) wait in a small file and go out after the next successful check-in (offer.py) or confirmation.
from micropython import const
from . import config, fs, where

_MAX = const(8)  # events kept; the oldest goes first when more wait


def _queued():
    try:
        q = fs.read_json(where.OUTBOX)
        return q if isinstance(q, list) else []
    except (OSError, ValueError):
        return []


def add(kind, version, sequence, reason=None, step=None):
    # Queue an event. The same type for the same sequence and step replaces the older one, so a step
    # repeated after a reset queues it once.
    q = [e for e in _queued() if isinstance(e, dict) and (e.get("type"), e.get("sequence"), e.get("step")) != (kind, sequence, step)]
    # The shape events.event() gives, built here so that a rollback on a trial boot (the application's RAM in use)
    # compiles this module only.
    e = {"type": kind, "version": version, "sequence": sequence}
    if reason:
        e["reason"] = reason[:512]
    if step:
        e["step"] = step
    q.append(e)
    fs.write_json(where.OUTBOX, q[-_MAX:])


def flush(cfg=None):
    # Send the queued events, oldest first; stops at the first that fails. Never raises. Without cfg (after a
    # confirmation): config.json's, and every module the agent loaded for it is unloaded after.
    if cfg is None:
        from . import core

        was = core.tight()
        try:
            flush(config.load())
        except Exception as e:  # no config, or no RAM
            core.log("could not report queued events: %s" % e)
        finally:
            core.unload()
            core.tight(was)
        return
    if fs.stat(where.OUTBOX) is None:
        return
    from .events import post

    q = _queued()
    sent = 0
    try:
        for e in q:
            if isinstance(e, dict):
                post(cfg, e)
                print("aloft: reported queued %s" % e.get("type"))
            sent += 1
    except Exception as ex:
        print("aloft: could not report queued events: %s" % ex)
    try:
        if sent == len(q):
            fs.remove(where.OUTBOX)
        elif sent:
            fs.write_json(where.OUTBOX, q[sent:])
    except OSError as ex:
        print("aloft: cannot update the outbox: %s" % ex)
