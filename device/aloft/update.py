# One update check: check in, and when the server offers a release, verify it, download what
# changed into the stage, install it through the journal, report, reset.
import gc
import sys
from micropython import const
from . import board, config, fs, http

_CHUNK = const(1024)  # the one buffer all file data passes through
_BLOCK = const(4096)  # flash block: every file occupies whole blocks


class Failed(Exception):
    """An offered release was refused or could not be installed; the text is the reason reported."""


def _log(msg):
    print("aloft: " + msg)


def _micropython():
    v = sys.implementation.version
    return "%d.%d.%d" % (v[0], v[1], v[2])


def _event(cfg, kind, version, sequence, reason=None):
    body = {"id": cfg["id"], "type": kind, "version": version, "sequence": sequence}
    if reason:
        body["reason"] = reason[:512]
    try:
        http.post_json(cfg, "/api/v1/device/events", body)
    except Exception as e:  # the update outcome stands; the server learns it at the next check-in
        _log("could not report %s: %s" % (kind, e))


def check():
    """One check-in; returns (result, poll seconds or None). result is "none", "updated" (only if
    the reset hook returns), "failed" (release refused or not installed) or "error" (no answer)."""
    cfg = None
    try:
        if config.interrupted():
            from . import install

            if install.recover():
                _log("finished an interrupted install")
        cfg = config.load()
        have = config.installed()
        board_name = cfg.get("board") or board.board_name()
        answer = http.post_json(
            cfg,
            "/api/v1/device/checkin",
            {
                "id": cfg["id"],
                "version": have["version"],
                "sequence": have["sequence"],
                "board": board_name,
                "micropython": _micropython(),
                "mpy": getattr(sys.implementation, "_mpy", None),
                "free": board.free_bytes(),
            },
        )
        action = answer.get("action")
        poll = answer.get("poll")
    except Exception as e:
        _log("check-in to %s failed: %s" % (cfg["server"] if cfg else "?", e))
        return "error", None
    if action == "none":
        _log("up to date (%s, sequence %d)" % (have["version"] or "nothing installed", have["sequence"]))
        return "none", poll
    if action != "update":
        _log("check-in answer has unknown action %r" % (action,))
        return "error", poll
    return _update(cfg, have, board_name, answer), poll


def _update(cfg, have, board_name, answer):
    from . import _unload

    release = answer.pop("release", None)  # out of the caller's hands, so it can be freed
    zlib = answer.get("zlib") or {}
    m = None
    try:
        m = _verified(cfg, have, board_name, release)
        release = None
        _unload("manifest")  # its RAM is needed for the install
        _log("update %s -> %s (sequence %d)" % (have["version"] or "nothing", m["version"], m["sequence"]))
        _install(cfg, have, m, zlib)
    except Exception as e:
        if isinstance(e, Failed):
            reason = str(e)
        else:  # a bug or an exhausted heap rather than a refused release: keep the traceback
            sys.print_exception(e)
            reason = "%s: %s" % (type(e).__name__, e)
        _log("update failed: " + reason)
        version, sequence = (m["version"], m["sequence"]) if m else _claimed(release)
        try:
            if fs.stat(config.JOURNAL) is None:  # else a rollback failed: the next boot retries it
                fs.rmtree(config.STAGE)
                fs.rmtree(config.BACKUP)
        except Exception as e:
            _log("cannot clean up: %s" % e)
        _event(cfg, "failed", version, sequence, reason)
        return "failed"
    _log("installed %s, resetting" % m["version"])
    _event(cfg, "installed", m["version"], m["sequence"])
    board.reset()
    return "updated"


def _verified(cfg, have, board_name, release):
    # The offered manifest, parsed, once it is signed by a trusted key, newer and fits this device.
    from . import _unload, signature

    try:
        text = signature.verify(release, cfg["keys"])
    except ValueError as e:
        raise Failed(str(e))
    signature = None
    _unload("signature", "ed25519", "sha512")  # a module at a time: each needs RAM to load
    from . import manifest

    try:
        m = manifest.parse(text)
    except ValueError as e:
        raise Failed(str(e))
    if m["sequence"] <= have["sequence"]:
        raise Failed("sequence %d is not above installed %d" % (m["sequence"], have["sequence"]))
    why = manifest.incompatibility(m, board_name, _micropython())
    if why:
        raise Failed("incompatible: " + why)
    return m


def _claimed(release):
    # Name the refused release in the failure event by what its unverified manifest says.
    try:
        import json

        m = json.loads(release["manifest"])
        return str(m["version"]), int(m["sequence"])
    except Exception:
        return None, 0


def _install(cfg, have, m, zlib):
    fs.rmtree(config.STAGE)  # leftovers of an attempt a reset cut short
    fs.rmtree(config.BACKUP)
    old = have["files"]
    puts = []
    fetch = []  # each blob once, in manifest order
    seen = set()
    need = 0
    for f in m["files"]:
        st = fs.stat("/" + f["path"])
        if old.get(f["path"]) == f["sha256"] and st is not None and st[6] == f["size"]:
            continue
        puts.append(f)
        if f["sha256"] not in seen:
            seen.add(f["sha256"])
            fetch.append(f)
        need += (f["size"] + _BLOCK - 1) // _BLOCK * _BLOCK + _BLOCK
    free = board.free_bytes()
    if need > free:
        raise Failed("not enough flash: need %d bytes, %d free" % (need, free))
    _event(cfg, "downloading", m["version"], m["sequence"])
    buf = memoryview(bytearray(_CHUNK))
    fs.makedirs(config.STAGE)
    from . import download

    for f in fetch:
        download.blob(cfg, f, f["sha256"] in zlib, buf)
        gc.collect()
    download = None
    from . import _unload, install

    _unload("download")
    try:
        j = install.plan(m, puts, have, buf)
    except ValueError as e:  # a file or folder on the device is in the way
        raise Failed(str(e))
    fs.write_json(config.JOURNAL, j)
    try:
        install.apply(j)
    except Exception as e:
        try:
            install.undo(j)
        except Exception as e2:
            _log("rollback failed (%s); the next boot retries it" % e2)
        raise Failed("install failed: %s" % e)
