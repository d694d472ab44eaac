# One check, stage by stage. Each stage is a module with run(job), loaded on its own and unloaded before the
# next one loads, because compiling a module needs several times its size in RAM for a moment and the
# stages' data must fit beside it (config, fs and this module stay loaded for the whole check):
#   checkin   report what is installed                                   -> job.answer
#   offer     queued events out; what the answer means                   -> job.release (an offered envelope)
#   signature signed by enough trusted keys                              -> job.text (the manifest as signed)
#   verify    manifest rules, newer, unexpired, compatible, battery     -> job.m
#   download  the file list the manifest names, into the stage
#   listing   the file list checked line by line                        (docs/protocol.md, "File list")
#   plan      the renames (stage/plan), flash needed
#   download  event "downloading"; every file the plan puts, into the stage
#   install   the journal, the renames, the commit                       -> event "installed", reset
# or, when the offer asks for the release's firmware first and verify found an image for this board (job.firmware):
#   flash     the image into the next firmware slot (docs/firmware.md)
#   switch    the slot read back, set_boot(), the step journaled           -> event "installed", reset
# (verify.py puts them in job.next in place of the files' stages)
# A stage that stops the check sets job.result; what it reports (job.event) goes out after it (events.report).
# pack: zlib
from . import config, core

_STAGES = ("checkin", "offer", "signature", "verify", "download", "listing", "plan", "download", "install")


class Job:
    # One check, as it goes through the stages. A stage that stops the check sets result; one that has
    # something to report sets event (and reason).
    result = None  # "none", "error", "failed", "deferred", "updated": the check is over
    event = None  # an event type to report after the stage: "downloading", "installed", "failed", "deferred"
    reason = None
    poll = None  # seconds until the next check, from the server
    cfg = None
    have = None  # the installed record (state.installed())
    device = None  # the check-in body: board, micropython, ...
    answer = None  # the check-in's answer, until offer.py has read it
    release = None  # the offered envelope, until signature.py has checked it
    text = None  # its manifest once signed, until verify.py has parsed it
    claimed = (None, 0)  # (version, sequence) the offered manifest says, before it is verified
    m = None  # of the verified manifest: version, sequence, files (the file list named, not listed), trust
    firmware = None  # the offer asks for the release's firmware first (True, offer.py), then its image for this board (verify.py)
    next = None  # the check's stages in order; for a firmware step verify.py puts the firmware's after itself
    planned = False  # plan.py wrote stage/plan
    agent = False  # whether the install changes the agent's files (plan.py)
    reset = False  # the board must reset after the check (an install, or an undo left to recovery)

    def fail(self, reason, event="failed", result="failed"):
        core.log("update %s: %s" % ("deferred" if result == "deferred" else "failed", reason))
        self.result, self.event, self.reason = result, event, reason


def run():
    # One check: (result, poll seconds or None).
    job = Job()
    core.keep = ("config", "fs", "update")
    was = core.tight()
    try:
        job.next = list(_STAGES)
        for name in job.next:
            try:
                stage = __import__("aloft." + name, None, None, ("run",))
                stage.run(job)  # a stage catches its own failures; what escapes is no RAM to load its code
            except MemoryError as e:
                if not job.claimed[1]:  # no update under way: the check is an error, as before
                    raise
                if not job.result:  # what the stage decided stands: an install that is done still resets
                    job.fail("no RAM to load the %s stage (%s)" % (name, e))  # reported like any failed update
            stage = None
            core.unload()
            if job.event:  # reported with the stage unloaded, so the event's HTTP code never shares the RAM with it
                report(job)
                core.unload()
            if job.result:
                break
        if job.reset:
            core.log("resetting" + (" into %s" % job.m["version"] if job.result == "updated" else " to finish the rollback"))
            from . import board

            board.reset()
    finally:
        core.keep = ()
        core.tight(was)
    return job.result or "none", job.poll


def report(job):
    # The event a stage asked for (job.event, job.reason), sent (events.py) and then forgotten. Never raises: nothing
    # may keep an installed release from its reset, and "downloading" is only news. The caller unloads what it loaded.
    try:
        from . import events

        events.report(job)
    except Exception as e:  # no RAM to load the HTTP code, say
        core.log("could not report %s (%s)" % (job.event, e))
    job.event = job.reason = None
