# One check, stage by stage. Each stage is a module with run(job) (core.Job), loaded on its own and
# unloaded before the next one loads, because compiling a module needs several times its size in RAM
# for a moment and the stages' data must fit beside it:
#   checkin   report what is installed, read the answer              -> job.release (an offered envelope)
#   verify    signatures, manifest rules, newer, unexpired, compatible, battery -> job.m
#   download  the file list the manifest names, into the stage
#   listing   the file list checked line by line                       (docs/protocol.md, "File list")
#   plan      the renames (stage/plan), flash needed                    -> event "downloading"
#   download  every file the plan puts, into the stage
#   install   the journal, the renames, the commit                      -> event "installed", reset
# A stage that stops the check sets job.result; what it reports (job.event) goes out here, after it is
# unloaded, so the event's HTTP code never shares the RAM with a stage's.
from . import board, core

_STAGES = ("checkin", "verify", "download", "listing", "plan", "download", "install")


def run():
    """One check: (result, poll seconds or None)."""
    job = core.Job()
    for name in _STAGES:
        stage = __import__("aloft." + name, None, None, ("run",))
        stage.run(job)
        stage = None
        core.unload()
        if job.event:
            _report(job)
        if job.result:
            break
    if job.reset:
        core.log("resetting" + (" into %s" % job.m["version"] if job.result == "updated" else " to finish the rollback"))
        board.reset()
    return job.result or "none", job.poll


def _report(job):
    m = job.m
    version, sequence = (m["version"], m["sequence"]) if m else job.claimed
    try:
        from . import outbox

        outbox.send(job.cfg, job.event, version, sequence, job.reason)
    except Exception as e:  # nothing may keep an installed release from its reset
        core.log("could not report %s (%s)" % (job.event, e))
    job.event = job.reason = None
    core.unload()
