# The install stage: once every file the plan puts is staged, the journal (journal.py) goes on flash (the
# plan becomes its ops, then the header names both releases) and is applied (apply.py); the commit is
# installed.json naming the new release. Then the board resets into its trial boot (update.py).
from . import config, core, fs, where


def run(job):
    m = job.m
    try:
        if job.agent or fs.stat(where.PREVIOUS) is not None:  # the agent kept, or a stale copy dropped
            from . import previous

            if job.agent:
                previous.keep(memoryview(bytearray(512)))
            else:
                previous.drop()
            previous = None
            core.unload("previous")
        from . import journal

        fs.rename(config.STAGE + "/plan", where.OPS)
        j = {"version": m["version"], "sequence": m["sequence"], "list": m["files"]["sha256"]}
        j["previous"] = journal.record(job.have, job.have.get("rejected", 0))
        if job.agent:  # the previous agent is kept until the new one is confirmed
            j["agent"] = True
        if "trust" in m:  # adopted when the release is confirmed (accept.py), dropped with a rollback
            j["trust"] = m["trust"]
        fs.write_json(where.JOURNAL, j)
        journal = None
        try:
            from .apply import apply

            apply(j)
        except Exception as e:
            apply = None
            core.unload("apply", "journal", "ops", "legacy")
            try:
                from . import trial

                trial.undo(j)
            except Exception as e2:
                core.log("rollback failed (%s); the next boot retries it" % e2)
            raise ValueError("install failed: %s" % e)
    except Exception as e:
        job.fail(core.reason(e))
        from . import state

        job.reset = state.journal()  # an undo failed too: boot recovery finishes it
        return
    job.result, job.event, job.reset = "updated", "installed", True  # before the log line, which allocates
    core.log("installed %s" % m["version"])
