# The check-in stage: report what is installed, deliver queued events, and decide what the answer means.
import sys
from . import VERSION, board, config, core, fs


def micropython():
    v = sys.implementation.version
    return "%d.%d.%d" % (v[0], v[1], v[2])


def run(job):
    """One check-in. job.result is "none" (nothing to do, or nothing to do now: a release on trial, a
    rejected sequence) or "error" (no answer); or it stays None with job.release, the offered envelope,
    and job.claimed, the (version, sequence) its manifest says."""
    cfg = None
    try:
        cfg = job.cfg = config.load()
        if not cfg.get("token"):  # a generic image: enroll first, then check in as usual
            from . import enroll

            cfg = job.cfg = enroll.enroll(cfg)
            enroll = None
            core.unload("enroll")
        busy = config.journal()  # a release on trial: nothing else is installed meanwhile
        if config.pending() and not busy:
            from . import trial

            trial.cleanup(True)  # what a finished install or trial left behind
            trial = None
        have = job.have = config.installed()
        body = job.device = {
            "id": cfg["id"],
            "version": have["version"],
            "sequence": have["sequence"],
            "board": cfg.get("board") or board.board_name(),
            "micropython": micropython(),
            "mpy": getattr(sys.implementation, "_mpy", None),
            "free": board.free_bytes(),
            "agent": VERSION,
            "format": 2,
        }
        if have.get("rejected"):
            body["rejected"] = have["rejected"]
        from . import api

        answer = api.post(cfg, "/api/v1/device/checkin", body)
        api = None
        action = answer.get("action")
        job.poll = answer.get("poll")
    except Exception as e:
        core.log("check-in to %s failed: %s" % (cfg["server"] if cfg else "?", e))
        job.result = "error"
        return
    core.unload("api", "http", "tls")
    if fs.stat(config.OUTBOX) is not None:
        from . import outbox

        outbox.flush(cfg)
        outbox = None
    if action == "update" and busy:
        core.log("%s is on trial; an offered release waits until it is confirmed or rolled back" % have["version"])
        action = "none"
    if action == "update":
        job.release = answer.get("release")
        job.claimed = _claimed(job.release)
        if 0 < job.claimed[1] <= have.get("rejected", 0):
            core.log("sequence %d was rolled back on this device; waiting for a newer release" % job.claimed[1])
            action = "none"
    if action == "none":
        if not busy and fs.stat(config.STAGE) is not None:
            fs.rmtree(config.STAGE)  # downloads of a release no longer offered
        core.log("up to date (%s, sequence %d)" % (have["version"] or "nothing installed", have["sequence"]))
        job.result = "none"
    elif action != "update":
        core.log("check-in answer has unknown action %r" % (action,))
        job.result = "error"


def _claimed(release):
    # What the (not yet verified) manifest of an offered release says it is: (version, sequence).
    try:
        import json

        m = json.loads(release["manifest"])
        return str(m["version"]), int(m["sequence"])
    except Exception:
        return None, 0
