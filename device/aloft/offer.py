# After a check-in was answered: the queued events go out, then what the answer means. Nothing to do, or
# nothing to do now (a release on trial, a rolled-back sequence): job.result "none"; an offered release:
# job.release, the envelope, and job.claimed, the (version, sequence) its unverified manifest says.
# pack: zlib
from . import config, core, fs, where


def run(job):
    answer, job.answer = job.answer, None
    if fs.stat(where.OUTBOX) is not None:
        from . import events

        events.flush(job.cfg)
        outbox = None
        core.unload("outbox", "api", "reply", "http", "net", "tls")
    have = job.have
    from .state import journal

    step = fs.stat(where.FWSTEP) is not None  # a firmware step under way (docs/firmware.md)
    if step:
        from .fwtrial import pending

        step = pending()  # past its download: on trial
    busy = journal() or step  # on trial: nothing else meanwhile
    action = answer.get("action")
    if action == "update" and busy:
        core.log("%s is on trial; an offered release waits until it is confirmed or rolled back" % ("firmware" if step else have["version"]))
        action = "none"
    if action == "update":
        job.release = answer.get("release")
        job.firmware = answer.get("step") == "firmware"  # verify.py puts the image for this board's build in its place
        job.claimed = _claimed(job.release)
        if 0 < job.claimed[1] <= have.get("rejected", 0):
            core.log("sequence %d was rolled back on this device; waiting for a newer release" % job.claimed[1])
            action = "none"
    if action == "none":
        if not busy and fs.stat(config.STAGE) is not None:
            from .tree import rmtree

            rmtree(config.STAGE)  # downloads of a release no longer offered
        if not busy and fs.stat(where.FWSTEP) is not None:  # a firmware no longer offered: what it wrote is never booted
            fs.remove(where.FWSTEP)
            fs.remove(where.FWSTEP + ".tmp")  # and a write of its progress a reset cut short
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
