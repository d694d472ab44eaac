# The firmware step's switch (docs/firmware.md): the image written by flash.py read back from its slot and hashed
# again (the file's SHA-256, and the SHA-256 it carries over the rest), the step journaled as "switching", set_boot()
# (ESP-IDF verifies the image again: esp_image_verify), the boot slot checked to be the new one, then event
# "installed" and a hard reset (update.py): the bootloader boots it on trial (R1.6). A soft reset or deep sleep would
# not switch (R1.1).
# pack: zlib
from . import core, fs, where


def run(job):
    import esp32
    from . import fwimage, slots
    from .flash import header_refusal

    fw = job.firmware
    buf = bytearray(512)
    try:
        step = fs.read_json(where.FWSTEP)
        nxt = slots.by_label(step["to"])
        why = header_refusal(slots.header(nxt, buf), slots.chip(slots.running(), buf))
        n = fwimage.length(nxt, buf) if why is None else 0
        if why is None and n != fw["size"]:
            why = "the image in %s is %d bytes long, the release says %d" % (step["to"], n, fw["size"])
        if why is None:
            d, tail = fwimage.digest(nxt, n, buf, True)
            from binascii import hexlify

            if hexlify(d).decode() != fw["sha256"] or not tail:
                step["state"], step["done"] = "writing", 0  # read back wrong: written again at the next attempt
                fs.write_json(where.FWSTEP, step)
                raise OSError("the firmware read back from %s does not hash right" % step["to"])
        if why:
            fs.remove(where.FWSTEP)
            return job.fail(why)
        step["state"] = "switching"
        fs.write_json(where.FWSTEP, step)
        try:
            nxt.set_boot()
        except OSError as e:  # ESP_ERR_OTA_VALIDATE_FAILED (-5379): the bootloader would not boot it either
            fs.remove(where.FWSTEP)
            return job.fail("set_boot() refused the firmware: %s" % (e,))
        boot = slots.label(esp32.Partition(esp32.Partition.BOOT))
        if boot != step["to"]:  # cannot happen after a set_boot() that returned; "switching" lets the next boot sort it out
            return job.fail("after set_boot() the boot slot is %s, not %s" % (boot, step["to"]))
    except Exception as e:
        return job.fail(core.reason(e))
    job.result, job.event, job.reset = "updated", "installed", True  # before the log line, which allocates
    core.log("firmware %s in %s, booting it on trial" % (fw["micropython"], step["to"]))
