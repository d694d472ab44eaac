# Whether the manifest the signature stage (signature.py) let through may be installed: a valid format-2
# manifest, newer than what is installed, not expired, compatible with this device; and whether now (the
# battery). The manifest rules run with nothing of Ed25519 left in RAM.
from . import config, fs


def run(job):
    # job.m, the manifest job.text once it is valid, newer than the installed record, not expired, and fits the
    # device (the check-in body: board, micropython); else the check fails with the reason it is refused.
    from . import core

    text, job.text = job.text, None
    try:
        from . import manifest

        m = manifest.parse(text)
        text = manifest = None
        core.unload("manifest", "optional")
        have = job.have["sequence"]
        if m["sequence"] <= have:
            return job.fail("sequence %d is not above installed %d" % (m["sequence"], have))
        if expired(m):
            return job.fail("expired at " + m["expires"])
        from . import compat

        dev = job.device
        mp, mpy = dev["micropython"], dev.get("mpy")
        if job.firmware:  # the offer asks for the release's firmware first: its files must fit what that firmware runs
            for fw in m.get("firmware") or ():
                if fw["build"] == dev.get("build"):
                    job.firmware, mp, mpy = fw, fw["micropython"], fw["mpy"]
                    job.next[4:] = ("flash", "switch")  # in place of the files' stages (update.py)
                    break
            else:
                return job.fail("the release has no firmware for build %s" % dev.get("build"))
        why = compat.incompatibility(m, dev["board"], mp, mpy)
        job.device = dev = None  # nothing after this needs the check-in body
        if why:
            return job.fail("incompatible: " + why)
        # What the later stages read of it; the rest (channel, times, compat) need not stay in RAM.
        job.m = {"version": m["version"], "sequence": m["sequence"], "files": m["files"]}
        if "trust" in m:
            job.m["trust"] = m["trust"]
        m = None
        try:  # the stage folder, where the downloads go (download.py): a board too full for even that stops here
            fs.os.mkdir(config.STAGE)  # in /.aloft, which boot.py makes
        except OSError as e:
            if e.args[0] == 28:  # else EEXIST: there already
                return job.fail("insufficient storage: flash full")
        low = job.cfg.get("min_battery")  # the last check before anything is fetched
        if low:
            from . import board

            level = board.battery()
            if level is not None and level < low:
                job.fail("battery %d%% is below %d%%" % (level, low), "deferred", "deferred")
    except Exception as e:  # ValueError: refused, the text says why; anything else: a bug or an exhausted heap
        job.fail(core.reason(e))


def expired(m, now=None):
    # Whether manifest m has expires and the clock (now: a time.gmtime() tuple) is set, year 2025 or
    # later, and at or past it. Without a set clock the check is skipped.
    if "expires" not in m:
        return False
    if now is None:
        import time

        now = time.gmtime()
    if now[0] < 2025:
        return False
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % now[:6] >= m["expires"]
