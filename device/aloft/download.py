# The download stage: the file list a manifest names, then every file the plan (plan.py) puts, into the stage,
# each through blob.py. A failure another attempt may mend (network, server error, bytes that do not hash
# right) is an OSError; one it cannot (a 4xx, a size that contradicts the manifest, a full flash) a ValueError.
from micropython import const
from . import config, core, fs

_CHUNK = const(512)  # the one buffer file data passes through: RAM is scarcer than time per chunk


def run(job):
    # Before the plan: the file list the manifest names. After it: every put of the plan. Staged, or the
    # check fails with the reason.
    from . import blob  # with transfer and http, loaded before the buffer: one block each

    if job.planned:
        # "downloading" goes out now, its HTTP code (http, net) already loaded for the downloads: not compiled for
        # the event after the plan and again here (compiles after unloads are where the heap is most spread).
        from .update import report

        job.event = "downloading"
        report(job)
        core.unload("events", "api", "reply")
    buf = memoryview(bytearray(_CHUNK))  # after the event's code is gone: into the room it leaves, not above it
    if not job.planned:
        files = job.m["files"]  # into the stage folder verify.py made
        why = fetch(job.cfg, files["sha256"], files["size"], "the file list", config.staged_list(files["sha256"]), buf)
        return job.fail(why) if why else None
    with open(config.STAGE + "/plan") as f:
        while True:
            line = f.readline()
            if not line:
                return
            if line[0] != "p":
                continue
            sha, size, _, path = line[2:-1].split(" ", 3)
            line = None
            why = fetch(job.cfg, sha, int(size), path[1:], config.staged(sha, path), buf)
            if why:
                return job.fail(why)


def fetch(cfg, sha, size, label, dst, buf):
    # The blob sha (size bytes; label names it in log lines and reasons) at dst, unless it is there already.
    # A transient failure is tried again (resuming) after a pause that doubles each time, with jitter so a
    # fleet does not come back in step. Returns None, or why it failed.
    import time
    from . import blob

    if fs.stat(dst) is not None:
        core.log("have %s already" % label)
        return None
    tries = int(cfg.get("retries", 3)) + 1
    pause = int(float(cfg.get("backoff", 2)) * 1000)
    n = 0
    while True:
        try:
            blob.get(cfg, sha, size, label, dst, buf)
            return None
        except OSError as e:
            n += 1
            if n >= tries:
                return str(e)
            from .backoff import jitter

            wait = jitter(pause << (n - 1))
            core.log("%s; try %d of %d in %d ms" % (e, n + 1, tries, wait))
            time.sleep_ms(wait)
        except Exception as e:  # ValueError: another attempt cannot mend it; else a bug or an exhausted heap
            return core.reason(e)
        finally:
            import gc

            gc.collect()
