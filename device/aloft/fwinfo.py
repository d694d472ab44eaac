# What a check-in says about the firmware of an ESP32 board (docs/firmware.md, "Check-in"): its build and chip, whether
# it can take a firmware update (an OTA table) and into how large a slot, the running slot and its state, whether its
# bootloader rolls back (once learned), the running image's SHA-256 (hashed once after each firmware change and kept in
# slots.FIRMWARE) and the last image it rolled back. Loaded by checkin.py only on a board with the esp32 module.
# pack: zlib
import sys
from . import fs, where

def report(body, cfg):
    # Add the firmware's fields to the check-in body. Never raises: what cannot be read is left out.
    from . import slots

    buf = bytearray(256)
    try:
        build = getattr(sys.implementation, "_build", None) or cfg.get("build")
        if build:
            body["build"] = build
        r = slots.running()
        body["running"] = slots.label(r)
        body["chip"] = slots.chip_name(slots.chip(r, buf))
        try:
            body["slot"] = r.get_next_update().info()[3]
            body["ota"] = slots.entries(buf) is not None
        except OSError:  # ENOENT: no OTA slot (a factory-only table)
            body["ota"] = False
        f = facts(r, buf)
        body["fw_sha256"] = f["sha256"]
        if "rollback" in f:
            body["rollback"] = f["rollback"]
        if f.get("rejected"):
            body["fw_rejected"] = f["rejected"]
        body["fw_state"] = "trial" if on_trial(r, buf) else "valid"
    except Exception as e:
        print("aloft: firmware facts incomplete: %r" % (e,))
        body.setdefault("ota", False)
    from . import core

    core.unload("slots", "fwimage")


def on_trial(r, buf):
    # Whether the running firmware is on trial: a firmware step put it there, or its otadata entry is pending.
    from . import slots

    try:
        step = fs.read_json(where.FWSTEP)
        if step.get("state") in ("switching", "trial", "confirming") and step.get("to") == slots.label(r):
            return True
    except (OSError, ValueError):
        pass
    return slots.state_of(r, buf) == slots.PENDING


def facts(r, buf):
    # slots.FIRMWARE, brought up to date with the running image: its SHA-256 is hashed again only when the slot changed,
    # or the 32 bytes where the kept image's own SHA-256 (its tail) ended are not that any more: another image.
    from binascii import hexlify
    from . import slots

    try:
        f = fs.read_json(slots.FIRMWARE)
    except (OSError, ValueError):
        f = {}
    label = slots.label(r)
    mv = memoryview(buf)[:32]
    n = f.get("size")
    if f.get("slot") == label and type(n) is int and 32 <= n <= r.info()[3]:
        r.readblocks(0, mv, n - 32)
        if hexlify(mv).decode() == f.get("tail"):
            return f
    from . import fwimage

    n = fwimage.length(r, buf)
    print("aloft: hashing the running firmware (%s, %d bytes)" % (label, n))
    f["slot"], f["size"], f["sha256"] = label, n, hexlify(fwimage.digest(r, n, buf)).decode()
    r.readblocks(0, mv, n - 32)
    f["tail"] = hexlify(mv).decode()
    fs.write_json(slots.FIRMWARE, f)
    return f


def remember(**kv):
    # Keep what was learned of the firmware (rollback, rejected) in slots.FIRMWARE.
    from . import slots

    try:
        f = fs.read_json(slots.FIRMWARE)
    except (OSError, ValueError):
        f = {}
    f.update(kv)
    fs.write_json(slots.FIRMWARE, f)
