# Events for the server (docs/protocol.md, "Events"), sent as they happen. One that cannot go now (server down)
# and matters waits in the outbox (outbox.py, loaded only then) until flush sends it after the next check-in.

KEEP = ("installed", "failed", "confirmed", "rolled_back", "deferred")  # "downloading" is only news


def event(kind, version, sequence, reason=None, step=None):
    # An event as the server takes it, the reason cut to 512 characters, "step": "firmware" for one of a firmware step
    # (outbox.add builds the same).
    e = {"type": kind, "version": version, "sequence": sequence}
    if reason:
        e["reason"] = reason[:512]
    if step:
        e["step"] = step
    return e


def post(cfg, e):
    from . import api

    body = {"id": cfg["id"]}
    body.update(e)
    api.post(cfg, "/api/v1/device/events", body)


def send(cfg, kind, version, sequence, reason=None, step=None):
    # Report an event now; queue it when that fails (never raises for a network error).
    try:
        post(cfg, event(kind, version, sequence, reason, step))
        print("aloft: reported %s" % kind)
        return
    except Exception as ex:
        print("aloft: could not report %s (%s)%s" % (kind, ex, ", queued" if kind in KEEP else ""))
    if kind in KEEP:
        try:
            from .outbox import add

            add(kind, version, sequence, reason, step)
        except OSError as ex:  # flash full or failing: the event is lost, the update outcome stands
            print("aloft: cannot queue %s: %s" % (kind, ex))


def report(job):
    # The event a stage of a check asked for (update.py): for the manifest it verified, else the one offered.
    m = job.m
    version, sequence = (m["version"], m["sequence"]) if m else job.claimed
    send(job.cfg, job.event, version, sequence, job.reason, "firmware" if job.firmware else None)


def flush(cfg=None):
    # Send the queued events (outbox.py), oldest first; stops at the first that fails. Never raises. Without cfg
    # (after a confirmation): config.json's, and every module the agent loaded for it is unloaded after.
    from . import fs, where

    if cfg is None:
        from . import config, core

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
    from .outbox import queued

    q = queued()
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
