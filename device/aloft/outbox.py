# Events that could not be delivered when they happened (events.py; server down, or the board resets right after
# them) wait in a small file; events.flush sends them after the next successful check-in (offer.py) or confirmation.
from micropython import const
from . import fs, where

_MAX = const(8)  # events kept; the oldest goes first when more wait


def queued():
    try:
        q = fs.read_json(where.OUTBOX)
        return q if isinstance(q, list) else []
    except (OSError, ValueError):
        return []


def add(kind, version, sequence, reason=None, step=None):
    # Queue an event. The same type for the same sequence and step replaces the older one, so a step
    # repeated after a reset queues it once.
    q = [e for e in queued() if isinstance(e, dict) and (e.get("type"), e.get("sequence"), e.get("step")) != (kind, sequence, step)]
    # The shape events.event() gives, built here so that a rollback on a trial boot (the application's RAM in use)
    # compiles this module only.
    e = {"type": kind, "version": version, "sequence": sequence}
    if reason:
        e["reason"] = reason[:512]
    if step:
        e["step"] = step
    q.append(e)
    fs.write_json(where.OUTBOX, q[-_MAX:])
