# One check-in: report what is installed, deliver queued events, and decide what the answer means.
# An offered release is handed back to the caller (aloft._check), which unloads this module before
# loading the next part of the update path.
import sys
from . import VERSION, board, config, fs


def _log(msg):
    print("aloft: " + msg)


def micropython():
    v = sys.implementation.version
    return "%d.%d.%d" % (v[0], v[1], v[2])


def check():
    """One check-in; returns (result, poll seconds or None, offer). result is "none" (nothing to do,
    or nothing to do now: a release on trial, a rejected sequence), "error" (no answer) or "update"
    with offer = (cfg, installed record, check-in body, answer, (version, sequence) its manifest claims)."""
    cfg = None
    try:
        cfg = config.load()
        if not cfg.get("token"):  # a generic image: enroll first, then check in as usual
            from . import enroll

            cfg = enroll.enroll(cfg)
            enroll = None
            sys.modules.pop("aloft.enroll", None)
        if config.pending() and fs.stat(config.JOURNAL) is None:
            from . import trial

            trial.cleanup(True)  # what a finished install or trial left behind
            trial = None
        busy = fs.stat(config.JOURNAL) is not None  # a release on trial: nothing else is installed meanwhile
        have = config.installed()
        board_name = cfg.get("board") or board.board_name()
        body = {
            "id": cfg["id"],
            "version": have["version"],
            "sequence": have["sequence"],
            "board": board_name,
            "micropython": micropython(),
            "mpy": getattr(sys.implementation, "_mpy", None),
            "free": board.free_bytes(),
            "agent": VERSION,
        }
        if have.get("rejected"):
            body["rejected"] = have["rejected"]
        from . import api

        answer = api.post(cfg, "/api/v1/device/checkin", body)
        api = None
        action = answer.get("action")
        poll = answer.get("poll")
    except Exception as e:
        _log("check-in to %s failed: %s" % (cfg["server"] if cfg else "?", e))
        return "error", None, None
    if fs.stat(config.OUTBOX) is not None:
        from . import outbox

        outbox.flush(cfg)
        outbox = None
    if action == "update" and busy:
        _log("%s is on trial; an offered release waits until it is confirmed or rolled back" % have["version"])
        action = "none"
    claimed = _claimed(answer.get("release")) if action == "update" else None
    if claimed and 0 < claimed[1] <= have.get("rejected", 0):
        _log("sequence %d was rolled back on this device; waiting for a newer release" % claimed[1])
        action = "none"
    if action == "none":
        if not busy and fs.stat(config.STAGE) is not None:
            fs.rmtree(config.STAGE)  # downloads of a release no longer offered
        _log("up to date (%s, sequence %d)" % (have["version"] or "nothing installed", have["sequence"]))
        return "none", poll, None
    if action != "update":
        _log("check-in answer has unknown action %r" % (action,))
        return "error", poll, None
    return "update", poll, (cfg, have, body, answer, claimed)


def _claimed(release):
    # What the (not yet verified) manifest of an offered release says it is: (version, sequence).
    try:
        import json

        m = json.loads(release["manifest"])
        return str(m["version"]), int(m["sequence"])
    except Exception:
        return None, 0
