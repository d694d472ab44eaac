# An offered release, once verify.py has looked at it, in two steps around the downloads
# (download.py), each loaded on its own: prepare (battery, flash, the downloading event) and finish
# (install through the journal, report, reset).
import sys
from micropython import const
from . import board, config, fs

_CHUNK = const(1024)  # the one buffer file data passes through


def _log(msg):
    print("aloft: " + msg)


def _event(cfg, kind, version, sequence, reason=None):
    from . import _unload, outbox

    outbox.send(cfg, kind, version, sequence, reason)
    outbox = None
    _unload("outbox", "api", "http")


def _failed(cfg, m, claimed, reason):
    # Report a refused or failed release, named by its manifest, or by what an unverified one claims.
    _log("update failed: " + reason)
    version, sequence = (m["version"], m["sequence"]) if m else claimed
    _event(cfg, "failed", version, sequence, reason)
    return "failed"


def reason(e):
    """The reason to report for an exception: a ValueError's or an OSError's text says it; anything
    else is a bug or an exhausted heap rather than a refused release (its traceback is printed)."""
    if isinstance(e, (ValueError, OSError)) and e.args and isinstance(e.args[0], str):
        return e.args[0]
    sys.print_exception(e)
    return "%s: %s" % (type(e).__name__, e)


def prepare(cfg, have, m, why, claimed):
    """The pre-flight checks for manifest m (None: refused, why says why; claimed is the (version,
    sequence) its unverified manifest says, to name it) over the installed record have. Returns
    "failed" or "deferred" (reported), or (entries to install, blobs to fetch) after reporting
    downloading."""
    if m is None:
        return _failed(cfg, None, claimed, why)
    try:
        low = cfg.get("min_battery")
        level = board.battery() if low else None
        if level is not None and level < low:
            why = "battery %d%% is below %d%%" % (level, low)
            _log("update deferred: " + why)
            _event(cfg, "deferred", m["version"], m["sequence"], why)
            return "deferred"
        _log("update %s -> %s (sequence %d)" % (have["version"] or "nothing", m["version"], m["sequence"]))
        old = have["files"]
        puts = []
        fetch = []  # each blob once, in manifest order
        seen = set()
        buf = None
        agent = False  # whether m carries the agent
        for f in m["files"]:
            agent = agent or f["path"].startswith(config.AGENT_FILES)
            st = fs.stat("/" + f["path"])
            if st is not None and st[6] == f["size"]:
                if old.get(f["path"]) == f["sha256"]:
                    continue
                if f["path"] not in old:  # there, but no release's: skipped when it has the bytes already
                    from binascii import unhexlify
                    from hashlib import sha256

                    buf = buf or memoryview(bytearray(_CHUNK))
                    h = sha256()
                    fs.feed("/" + f["path"], h, buf)
                    if h.digest() == unhexlify(f["sha256"]):
                        continue
            puts.append(f)
            if f["sha256"] not in seen:
                seen.add(f["sha256"])
                fetch.append(f)
        if agent and not fs.is_dir(config.AGENT):
            return _failed(cfg, m, None, "the agent is not in %s (frozen into the firmware?): a release cannot replace it" % config.AGENT)
        from . import _unload, space

        space.prune(seen)
        seen = None
        need = space.needed(m, have, puts, fetch)
        space = None
        _unload("space")
        free = board.free_bytes()
        _log("the update needs %d bytes of flash, %d free" % (need, free))
        if need > free:
            return _failed(cfg, m, None, "insufficient storage: need %d bytes, %d free" % (need, free))
        _event(cfg, "downloading", m["version"], m["sequence"])
        fs.makedirs(config.STAGE)
        return puts, fetch
    except Exception as e:
        return _failed(cfg, m, None, reason(e))


def finish(cfg, have, m, puts, why):
    """After the downloads (why: None, or why they failed): install the entries puts of manifest m
    through the journal, report, reset. Returns "failed" or, only if the reset hook returns, "updated"."""
    if why:
        return _failed(cfg, m, None, why)
    try:
        from . import _unload, plan

        buf = memoryview(bytearray(_CHUNK))
        j = plan.journal(m, puts, have, buf)  # ValueError: something in the way
        if j.get("agent") or fs.stat(config.PREVIOUS) is not None:  # kept, or a stale copy dropped
            from . import previous

            if j.get("agent"):
                previous.keep(buf)
            else:
                previous.drop()
        buf = plan = previous = None
        _unload("plan", "previous")
        fs.write_json(config.JOURNAL, j)
        from . import install

        try:
            install.apply(j)
        except Exception as e:
            install = None
            try:
                from . import trial

                trial.undo(j)
            except Exception as e2:
                _log("rollback failed (%s); the next boot retries it" % e2)
            raise ValueError("install failed: %s" % e)
    except Exception as e:
        _failed(cfg, m, None, reason(e))
        if fs.stat(config.JOURNAL) is not None:  # an undo failed too: boot recovery finishes it
            _log("resetting to finish the rollback")
            board.reset()
        return "failed"
    _log("installed %s, resetting" % m["version"])
    try:  # nothing may keep the board from the reset now: the new release's trial boot comes next
        _event(cfg, "installed", m["version"], m["sequence"])
    except Exception as e:
        _log("could not report installed (%s)" % (e,))
    board.reset()
    return "updated"
