# The firmware step's download (docs/firmware.md, "The agent's firmware step"): what a firmware must be for this board
# before anything is written, then the image streamed into the next slot by the files' download code, unchanged
# (download.fetch's retries, blob.get's resume and SHA-256 check, transfer.py's request and Range, stream.py's one
# 512-byte buffer): a Slot stands in for the file they write, and for the fs module they call on it, for the length of
# the download. Each 4 KiB block is erased as the stream enters it and written where it is (writeblocks with an
# offset: no erase, no 4 KiB buffer; R1.1). where.FWSTEP keeps the progress every 64 KiB; after a reset the written part
# is hashed again from the slot and the rest asked for with Range. While it streams, only this module is loaded beside
# the download's code, as blob.py is for a file.
# pack: zlib
import sys
from micropython import const
from . import core, fs

_CHUNK = const(512)
_SAVE = const(65536)  # bytes between saves of the progress: what a reset can cost the download at most
_HEAD = const(0x28)  # the header, the first segment's, and the app descriptor's magic
_SECTOR = const(4096)  # the flash's erase block
_APP_DESC = const(0xABCD5432)  # esp_app_desc_t.magic_word, at 0x20 of an app image


class Slot:
    # The next firmware slot, from byte pos on, as the files' download code sees a file: what it opens and writes
    # (stream.copy: open(part, mode), write, flush), and the fs calls it makes on it (download.fetch: stat; blob.get:
    # dst + ".part", feed, remove, rename; transfer.get and stream.copy: remove). The image's header is checked as soon
    # as its first 40 bytes are in, so a wrong image stops at once.
    def __init__(self, p, step, chip, path):
        self.p = p
        self.step = step
        self.chip = chip
        self.path = path  # where.FWSTEP
        self.pos = self.saved = step["done"]

    def open(self, part, mode):
        if mode != "ab":  # the whole image again
            self.pos = 0
        self.saved = self.pos
        return self

    def __add__(self, suffix):  # blob.get's dst + ".part": the slot is both
        return self

    def stat(self, path):  # download.fetch: not there yet (what is, blob.get feeds again)
        return None

    def feed(self, path, h, buf):
        # blob.get: the bytes a reset kept, hashed again from the slot; how many.
        pos = 0
        while pos < self.pos:
            k = min(len(buf), self.pos - pos)
            chunk = buf if k == len(buf) else buf[:k]
            self.p.readblocks(0, chunk, pos)
            h.update(chunk)
            pos += k
        return pos

    def remove(self, path):  # what came is not kept: the next attempt starts over
        self.pos = 0
        self.flush()

    def rename(self, a, b):  # blob.get: whole and hashed right; run() says so in where.FWSTEP
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.flush()

    def write(self, buf):
        n = len(buf)
        i = 0
        while i < n:
            off = self.pos % _SECTOR
            if not off:  # the stream enters a block: erase it (ioctl 6 erases one 4 KiB block)
                self.p.ioctl(6, self.pos // _SECTOR)
            k = min(n - i, _SECTOR - off)
            self.p.writeblocks(0, buf if k == n else buf[i : i + k], self.pos)  # at byte pos, without an erase
            i += k
            if self.pos < _HEAD <= self.pos + k:
                h = bytearray(_HEAD)
                self.p.readblocks(0, h, 0)
                why = header_refusal(h, self.chip)
                if why:
                    raise ValueError(why)
            self.pos += k
        if self.pos - self.saved >= _SAVE:
            self.flush()

    def flush(self):
        if self.step["done"] != self.pos:
            self.step["done"] = self.pos
            fs.write_json(self.path, self.step)
        self.saved = self.pos



def run(job):
    # The image of job.firmware in the next slot, whole and hashed right (where.FWSTEP "written"), or the check fails
    # with why.
    from . import slots, where

    fw = job.firmware
    try:
        r = slots.running()
        try:
            nxt = r.get_next_update()
        except OSError:
            return job.fail("no OTA partition table: this board cannot take a firmware update")
        buf = bytearray(_HEAD)  # the checks read an otadata entry and a header through it
        why = refusal(fw, r, nxt, buf)
        if why:
            return job.fail(why)
        path = where.FWSTEP
        step = _step(fw, job.m, r, nxt, path)
        if step["state"] == "written":
            core.log("have the firmware already")
            return
        chip = slots.chip(r, buf)
        # What only the checks need goes before the download's code loads, and that before the buffer
        slots = where = r = buf = None
        core.unload("slots", "where", "state", "compat")
        from . import blob, download, stream, transfer  # with http and net

        buf = memoryview(bytearray(_CHUNK))
        from .update import report

        job.event = "downloading"
        report(job)
        core.unload("events", "api", "reply")
        slot = Slot(nxt, step, chip, path)
        loaded = (download, blob, transfer, stream)
        for m in loaded:  # the slot in place of the file and of the fs calls on it, for this download
            m.fs = slot
        stream.open = slot.open
        try:
            why = download.fetch(job.cfg, fw["sha256"], fw["size"], "the firmware", slot, buf)
        finally:
            for m in loaded:
                m.fs = fs
            del stream.open
            loaded = None
        if why:
            return job.fail(why)
        step["state"] = "written"
        fs.write_json(path, step)
    except Exception as e:
        job.fail(core.reason(e))


def header_refusal(h, chip):
    # Why the first 40 bytes h of an image are not an app image for chip (its id), else None (esp_app_format.h).
    import struct

    if h[0] != 0xE9:
        return "not an ESP app image (magic 0x%02x)" % h[0]
    if struct.unpack_from("<I", h, 0x20)[0] != _APP_DESC:
        return "not an app image: no app descriptor at 0x20 (a full flash image? publish the .app-bin)"
    if h[12] | h[13] << 8 != chip:
        return "image is for chip id %d, this board is %d" % (h[12] | h[13] << 8, chip)
    if not 0 < h[1] <= 16:
        return "image has %d segments" % h[1]
    if h[23] != 1:
        return "image carries no SHA-256 (hash_appended is 0)"
    return None


def refusal(fw, r, nxt, buf):
    # Why this board cannot take the firmware fw now, before anything is written; None when it can.
    from . import slots, state, where

    if state.journal():
        return "an install is under way"
    if slots.state_of(r, buf) == slots.PENDING:
        return "the running firmware is on trial"
    if slots.label(nxt) == slots.label(r):
        return "no slot to update into besides the running one"
    if fw["chip"] != slots.chip_name(slots.chip(r, buf)):
        return "the image is for %s, this board is %s" % (fw["chip"], slots.chip_name(slots.chip(r, buf)))
    if fw["size"] > nxt.info()[3]:
        return "the image (%d bytes) is larger than the slot %s (%d bytes)" % (fw["size"], slots.label(nxt), nxt.info()[3])
    try:
        f = fs.read_json(slots.FIRMWARE)
    except (OSError, ValueError):
        f = {}
    if f.get("sha256") == fw["sha256"]:
        return "this board runs that firmware already"
    if f.get("rejected") == fw["sha256"]:
        return "this board rolled that firmware back before"
    from .compat import version

    have = sys.implementation.version[:3]
    new = version(fw["micropython"])
    if new < have:
        return "a downgrade (MicroPython %d.%d.%d to %s)" % (have + (fw["micropython"],))
    if (have < (1, 22, 0)) != (new < (1, 22, 0)):
        return "the LittleFS 2.1 line lies between MicroPython %d.%d.%d and %s (a rollback could not mount the files)" % (have + (fw["micropython"],))
    return None


def _step(fw, m, r, nxt, path):
    # The step under way for this image (a download to resume), else a new one.
    from . import slots

    try:
        step = fs.read_json(path)
        if step.get("sha256") == fw["sha256"] and step.get("to") == slots.label(nxt) and step.get("state") in ("writing", "written"):
            return step
    except (OSError, ValueError):
        pass
    step = {"state": "writing", "sha256": fw["sha256"], "size": fw["size"], "micropython": fw["micropython"], "version": m["version"],
            "sequence": m["sequence"], "from": slots.label(r), "to": slots.label(nxt), "done": 0}
    fs.write_json(path, step)
    return step
