# Whether an offered release may be installed: signed by enough trusted keys (the current trust:
# /.aloft/trust.json, else config.json's keys and threshold), a valid format-1 manifest, newer than
# what is installed, not expired, compatible with this device. Loaded before update.py, so the
# largest steps of all (Ed25519, the manifest rules) run with as little else in RAM as possible.


def offered(cfg, have, device, release):
    """(manifest, None) for the signed envelope release once it is signed under the current trust, a
    valid manifest newer than the installed record have, not expired, that fits device (the check-in
    body: board, micropython); else (None, the reason it is refused)."""
    from . import _unload, config, fs

    try:
        try:
            t = fs.read_json(config.TRUST)
            keys, n = t["keys"], t["threshold"]
        except OSError:  # none adopted yet (an unreadable one is a refusal, never a fallback)
            keys, n = cfg["keys"], cfg.get("threshold", 1)
        from . import signature

        text = signature.verify(release, keys, n)
        t = keys = signature = None
        _unload("signature", "ed25519", "sha512")  # a module at a time: each needs RAM to load
        from . import manifest

        m = manifest.parse(text)
        text = None
        _unload("optional")
        if m["sequence"] <= have["sequence"]:
            return None, "sequence %d is not above installed %d" % (m["sequence"], have["sequence"])
        if expired(m):
            return None, "expired at " + m["expires"]
        manifest = None
        _unload("manifest")
        from . import compat

        why = compat.incompatibility(m, device["board"], device["micropython"])
        if why:
            return None, "incompatible: " + why
        return m, None
    except ValueError as e:  # refused: the text says why
        return None, str(e)
    except Exception as e:  # a bug or an exhausted heap rather than a refused release: keep the traceback
        import sys

        sys.print_exception(e)
        return None, "%s: %s" % (type(e).__name__, e)


def expired(m, now=None):
    """Whether manifest m has expires and the clock (now: a time.gmtime() tuple) is set, year 2025 or
    later, and at or past it. Without a set clock the check is skipped."""
    if "expires" not in m:
        return False
    if now is None:
        import time

        now = time.gmtime()
    if now[0] < 2025:
        return False
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % now[:6] >= m["expires"]
