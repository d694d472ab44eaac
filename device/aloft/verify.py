# Whether an offered release may be installed: signed by a trusted key, a valid format-1 manifest,
# newer than what is installed, compatible with this device. Loaded before update.py, so the
# largest steps of all (Ed25519, the manifest rules) run with as little else in RAM as possible.


def offered(cfg, have, device, release):
    """(manifest, None) for the signed envelope release once it is signed by one of cfg's keys, a
    valid manifest newer than the installed record have that fits device (the check-in body:
    board, micropython); else (None, the reason it is refused)."""
    from . import _unload

    try:
        from . import signature

        text = signature.verify(release, cfg["keys"])
        signature = None
        _unload("signature", "ed25519", "sha512")  # a module at a time: each needs RAM to load
        from . import manifest

        m = manifest.parse(text)
        text = None
        if m["sequence"] <= have["sequence"]:
            return None, "sequence %d is not above installed %d" % (m["sequence"], have["sequence"])
        why = manifest.incompatibility(m, device["board"], device["micropython"])
        if why:
            return None, "incompatible: " + why
        return m, None
    except ValueError as e:  # refused: the text says why
        return None, str(e)
    except Exception as e:  # a bug or an exhausted heap rather than a refused release: keep the traceback
        import sys

        sys.print_exception(e)
        return None, "%s: %s" % (type(e).__name__, e)
