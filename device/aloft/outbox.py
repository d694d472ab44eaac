# Events for the server. An event that cannot be delivered now (server down, or the board resets right after
# it) waits in a small file and goes out after the next successful check-in (offer.py, accept.py).
from micropython import const
from . import config, fs

_MAX = const(8)  # events kept; the oldest goes first when more wait
_KEEP = ("installed", "failed", "confirmed", "rolled_back", "deferred")  # "downloading" is only news


def _event(kind, version, sequence, reason=None):
    # An event as the server takes it (docs/protocol.md, "Events"), the reason cut to 512 characters.
    e = {"type": kind, "version": version, "sequence": sequence}
    if reason:
        e["reason"] = reason[:512]
    return e


def _queued():
    try:
        q = fs.read_json(config.OUTBOX)
        return q if isinstance(q, list) else []
    except (OSError, ValueError):
        return []


def add(kind, version, sequence, reason=None):
    # Queue an event. The same type for the same sequence replaces the older one, so a step
    # repeated after a reset queues it once.
    q = [e for e in _queued() if isinstance(e, dict) and (e.get("type"), e.get("sequence")) != (kind, sequence)]
    q.append(_event(kind, version, sequence, reason))
    fs.write_json(config.OUTBOX, q[-_MAX:])


def _post(cfg, e):
    from . import api

    body = {"id": cfg["id"]}
    body.update(e)
    api.post(cfg, "/api/v1/device/events", body)


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
    if fs.stat(config.OUTBOX) is None:
        return
    q = _queued()
    sent = 0
    try:
        for e in q:
            if isinstance(e, dict):
                _post(cfg, e)
                print("aloft: reported queued %s" % e.get("type"))
            sent += 1
    except Exception as ex:
        print("aloft: could not report queued events: %s" % ex)
    try:
        if sent == len(q):
            fs.remove(config.OUTBOX)
        elif sent:
            fs.write_json(config.OUTBOX, q[sent:])
    except OSError as ex:
        print("aloft: cannot update the outbox: %s" % ex)


def send(cfg, kind, version, sequence, reason=None):
    # Report an event now; queue it when that fails (never raises for a network error).
    try:
        _post(cfg, _event(kind, version, sequence, reason))
        print("aloft: reported %s" % kind)
        return
    except Exception as ex:
        print("aloft: could not report %s (%s)%s" % (kind, ex, ", queued" if kind in _KEEP else ""))
    if kind in _KEEP:
        try:
            add(kind, version, sequence, reason)
        except OSError as ex:  # flash full or failing: the event is lost, the update outcome stands
            print("aloft: cannot queue %s: %s" % (kind, ex))


def report(job):
    # The event a stage of a check asked for (update.py): for the manifest it verified, else the one offered.
    m = job.m
    version, sequence = (m["version"], m["sequence"]) if m else job.claimed
    send(job.cfg, job.event, version, sequence, job.reason)
