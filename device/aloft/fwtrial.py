# A firmware on trial (docs/firmware.md): what a boot does first while a firmware step is past its set_boot(), and
# what confirming or failing that firmware does. Loaded only then.
#
# where.FWSTEP's state, each entered by one atomic write:
#   switching    set_boot() is being called, or was, and the board resets into the new slot
#   trial        the new firmware runs on trial (armed: the bootloader aborts it at the next reset unless it is marked
#                valid, R1.6; not armed, a bootloader without rollback or a board that confirms every image: this agent
#                counts its boots and sets the old slot back itself)
#   confirming   mark_app_valid_cancel_rollback() is being called, or was
#   rollback     the firmware failed (reason): the old slot boots next, by the bootloader or by set_boot()
# At a boot, RUNNING says which slot booted; otadata says why. The agent never marks a slot it is not running from.
# pack: zlib
import sys
from . import fs, where


def _step():
    try:
        s = fs.read_json(where.FWSTEP)
        return s if isinstance(s, dict) and s.get("state") else None
    except (OSError, ValueError):
        return None


def pending():
    # Whether a firmware step is past its download (switching, on trial, confirming, rolling back): nothing else is
    # installed meanwhile (offer.py).
    step = _step()
    return step is not None and step["state"] not in ("writing", "written")


def _save(step, state, **kv):
    step["state"] = state
    step.update(kv)
    fs.write_json(where.FWSTEP, step)


def _end():
    # The step is over: its record goes, and the temp file of a write of it a reset cut short (fs.write_json).
    fs.remove(where.FWSTEP)
    fs.remove(where.FWSTEP + ".tmp")


def start():
    # What a boot does first while a firmware step is past its set_boot(): True when this boot runs the new firmware on
    # trial (watch.py runs main.py), False when the step is over or waits for the next check. May reset the board.
    from . import config, slots

    step = _step()
    if step is None or step["state"] in ("writing", "written"):
        return False
    try:
        limit = int(config.load().get("trial_boots", 3))
    except Exception:  # recovery must run even with a broken configuration
        limit = 3
    buf = bytearray(64)
    r = slots.running()
    here = slots.label(r)
    st = step["state"]
    if here == step["to"]:
        if st == "confirming":
            confirm(step)
            return False
        if st == "rollback":  # decided, but the switch back did not happen yet
            _back(step)
        if st == "switching":  # the first boot of the new firmware
            armed = slots.state_of(r, buf) == slots.PENDING  # NEW, UNDEFINED: no rollback; VALID: confirmed by the board
            from .fwinfo import remember

            remember(rollback=armed)
            _save(step, "trial", armed=armed, boots=0)
            v = "%d.%d.%d" % sys.implementation.version[:3]
            if v != step["micropython"]:
                fail("the new firmware runs MicroPython %s, the release says %s" % (v, step["micropython"]), step)
        step["boots"] = step.get("boots", 0) + 1
        if step["boots"] > (1 if step.get("armed") else limit):
            fail("not confirmed after %d boots" % (step["boots"] - 1), step)
        _save(step, "trial")
        print("aloft: firmware %s on trial, boot %d" % (step["micropython"], step["boots"]))
        return True
    # The old slot (or another) runs: the new firmware is back out, or was never in.
    import esp32

    boot = slots.label(esp32.Partition(esp32.Partition.BOOT))
    if boot != here:
        why = "the bootloader could not start the new firmware (it booted %s instead)" % here
    elif st == "rollback":
        why = step.get("reason") or "it failed its trial"
    elif st != "confirming" and _aborted(slots.by_label(step["to"]), _seq_of(r, buf), buf):
        if st == "switching":
            why = "the new firmware did not start the agent (it crashed or hung at boot); the bootloader rolled it back"
        else:
            why = "the board reset during the firmware trial before it was confirmed; the bootloader rolled it back"
    else:  # set_boot() never took effect (a power cut), or a confirmation was cut (the trial had passed; the bootloader
        # aborted the entry mark_app_valid_cancel_rollback() did not reach, or found it erased): the image is still there
        print("aloft: the firmware %s; the next check tries again" % ("confirmation was cut" if st == "confirming" else "switch did not happen"))
        _save(step, "written")
        return False
    _rolled_back(step, why, r, boot != here)
    return False


def _rolled_back(step, why, r, reboot):
    # The old firmware runs again: make it the boot slot and valid (it runs it: the agent may mark it), record the image
    # and the release as rejected, queue rolled_back, end the step.
    import esp32
    from . import slots

    if reboot or slots.state_of(r, bytearray(64)) not in (slots.VALID, None):
        if reboot:
            r.set_boot()
        esp32.Partition.mark_app_valid_cancel_rollback()
    print("aloft: firmware %s rolled back: %s" % (step["micropython"], why))
    from .fwinfo import remember

    remember(rejected=step["sha256"])
    from . import state

    have = state.installed()
    if have.get("rejected", 0) < step["sequence"]:
        have["rejected"] = step["sequence"]
        fs.write_json(where.INSTALLED, have)
    from .outbox import add

    add("rolled_back", step["version"], step["sequence"], why, "firmware")
    _end()


def confirm(step=None):
    # Keep the firmware on trial: mark it valid (the entry the bootloader selected is the running slot's), check otadata
    # says so, queue confirmed, end the step. False when no firmware is on trial.
    import esp32
    from . import slots

    step = step or _step()
    if step is None or step["state"] not in ("trial", "confirming"):
        return False
    r = slots.running()
    buf = bytearray(64)
    if slots.label(r) != step["to"] or slots.label(esp32.Partition(esp32.Partition.BOOT)) != step["to"]:
        return False  # never mark a slot it is not running from
    _save(step, "confirming")
    esp32.Partition.mark_app_valid_cancel_rollback()
    if slots.state_of(r, buf) not in (slots.VALID, None):
        raise OSError("otadata does not say the firmware is valid after mark_app_valid_cancel_rollback()")
    from .outbox import add

    add("confirmed", step["version"], step["sequence"], None, "firmware")
    _end()
    print("aloft: firmware %s confirmed" % step["micropython"])
    return True


def fail(reason, step=None):
    # The firmware on trial failed: reset without marking it (the bootloader aborts it) or, when no bootloader will,
    # set the old slot back first. Does not return (unless the reset hook does); False when no firmware is on trial.
    step = step or _step()
    if step is None or step["state"] != "trial":
        return False
    _save(step, "rollback", reason=reason)
    print("aloft: firmware %s failed its trial: %s" % (step["micropython"], reason))
    _back(step)
    return True


def _back(step):
    from . import board

    if not step.get("armed"):
        from . import slots

        slots.by_label(step["from"]).set_boot()
    board.reset()


def _aborted(p, than, buf):
    # Whether otadata holds an entry for slot p, newer than seq than, that the bootloader aborted or was marked invalid:
    # how a rollback leaves it (a trial entry never confirmed is rewritten ABORTED at the next boot).
    from . import slots

    i = slots.index(p)
    for seq, st, _ in slots.entries(buf) or ():
        if seq != slots.UNSET and seq > than and (seq - 1) % slots.count() == i and st in (slots.INVALID, slots.ABORTED):
            return True
    return False


def _seq_of(p, buf):
    # The highest valid seq that selects slot p, 0 when none does.
    from . import slots

    i = slots.index(p)
    best = 0
    for seq, _, ok in slots.entries(buf) or ():
        if ok and (seq - 1) % slots.count() == i and seq > best:
            best = seq
    return best
