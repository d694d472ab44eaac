# The simulated ESP32's second-stage bootloader, run by simsetup.py at every start of run.py (every hard reset or
# power-on of the board), then unloaded: nothing of it stays in the device's heap but the esp32 module it sets up.
# ESP-IDF's rules (components/bootloader_support/src/bootloader_utility.c, R1.6):
#   bootloader_utility_load_partition_table: the table at 0x8000 (magic AA 50, MD5 entry), OTA slots by subtype;
#   bootloader_utility_get_selected_boot_partition: with rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, the
#     "rollback" of the bootloader's own settings record) every PENDING_VERIFY entry is rewritten ABORTED first;
#     both entries invalid (seq unset, INVALID or ABORTED) -> factory, else ota_0 (and when both were unset or had a
#     bad CRC, {seq 1, VALID} is written to entry 0 once ota_0 loads: set_actual_ota_seq); else the active entry
#     (valid, highest seq) selects slot (seq - 1) % slots, and a NEW one becomes PENDING_VERIFY (with rollback);
#   bootloader_utility_load_boot_image: the selected slot, then lower ones down to factory, then higher ones, each
#     verified as it loads (esp_image_format.c), without touching otadata: RUNNING can differ from BOOT.
# Then the firmware the booted image is (its ALOFTSIM record, espimage.py): "crash" panics and "hang" is reset by
# the watchdog, both before boot.py; "boots" presents the image's MicroPython (version, _build, _mpy) as
# sys.implementation; "auto_confirm" marks a PENDING_VERIFY running slot valid first, as ARDUINO_NANO_ESP32's
# board_init.c (NANO_ESP32_board_startup) does.
import struct
import sys

import esp32
from espchips import CHIPS

NOTHING_BOOTABLE = 3
RESET = 75


def _chip(flash):
    # The bootloader image sits at the chip's flash offset: 0 (s3, c2, c3, c6, h2), 0x1000 (esp32, s2), 0x2000 (c5, p4)
    b = bytearray(2)
    for off in (0, 0x1000, 0x2000):
        flash.read(off, b)
        if b[0] == 0xE9:
            h = bytearray(24)
            flash.read(off, h)
            cid = h[12] | h[13] << 8
            for c in CHIPS.values():
                if c[0] == cid and c[1] == off:
                    return c, off
    return None, None


def _record(flash, at):
    """The ALOFTSIM record at at (a dict, {} when there is none), and the text after it (an app's banner)."""
    import json

    b = bytearray(10)
    flash.read(at, b)
    if b[:8] != b"ALOFTSIM":
        return {}, ""
    n = b[8] | b[9] << 8
    b = bytearray(n + 128)
    flash.read(at + 10, b)
    return json.loads(b[:n]), bytes(b[n:]).split(b"\0")[0].decode()


def _table(flash):
    from hashlib import md5

    out = []
    h = md5()
    b = bytearray(32)
    for i in range(0, 0xC00, 32):
        flash.read(0x8000 + i, b)
        if b[:2] == b"\xaa\x50":
            h.update(b)
            _, typ, sub, off, size, label, _ = struct.unpack("<2sBBII16sI", b)
            out.append((label.split(b"\0")[0].decode(), typ, sub, off, size))
        elif b[:2] == b"\xeb\xeb":
            if bytes(b[16:]) != h.digest():
                return None  # esp_partition_table_verify: "Partition table MD5 mismatch"
            return tuple(out)
        else:
            break
    return None  # MicroPython builds always append the MD5 entry (CONFIG_PARTITION_TABLE_MD5=y)


def boot(flash):
    """Boot the board whose flash this is: esp32's state set, the firmware's behaviour run. None when it runs; else
    the exit code of run.py (NOTHING_BOOTABLE, RESET), said on standard output."""
    chip, off = _chip(flash)
    esp32.flash = flash
    esp32.chip = chip
    table = _table(flash) if chip else None
    if table is None:
        print("sim: no bootloader or partition table on this flash")
        return NOTHING_BOOTABLE
    esp32.table = table
    rollback = _record(flash, off + 0x70)[0].get("rollback", False)
    slots = esp32.slots()
    factory = esp32.find(0, 0)
    factory = factory[0] if factory else None
    o, e = esp32.otadata()
    index = -1  # FACTORY_INDEX
    initial = False  # ota_has_initial_contents
    if o is not None:
        if rollback:
            for i in range(2):
                if e[i][2] == 1:  # PENDING_VERIFY: the trial boot before this one never confirmed
                    esp32.rewrite(o, e, e[i][0], i, 4)  # ABORTED
        if esp32.invalid(e[0]) and esp32.invalid(e[1]) or not slots:
            if factory is None:
                index = 0
                initial = all(x[0] == 0xFFFFFFFF or x[3] != esp32.crc(x[0]) for x in e)
        else:
            a = esp32.active(e)
            if a >= 0:
                index = (e[a][0] - 1) % len(slots)
                if rollback and e[a][2] == 0:  # NEW: this boot is its trial
                    esp32.rewrite(o, e, e[a][0], a, 1)  # PENDING_VERIFY
    # load_boot_image: from the selected index down to factory, then up
    order = list(range(index, -2, -1)) + list(range(index + 1, len(slots)))
    for i in order:
        p = factory if i < 0 else slots[i] if i < len(slots) else None
        if p is None:
            continue
        try:
            esp32.verify(p, True)
        except ValueError as x:
            print("E esp_image: %s" % x)
            print("E boot: OTA app partition slot %d is not bootable" % i if i >= 0 else "E boot: Factory app partition is not bootable")
            continue
        if i >= 0 and initial:  # set_actual_ota_seq
            e[0][1] = b"\xff" * 20
            esp32.rewrite(o, e, i + 1, 0, 2)  # VALID
        esp32.running = p
        return _firmware(flash, p)
    print("E boot: No bootable app partitions in the partition table")
    print("sim: no bootable app")
    return NOTHING_BOOTABLE


def _firmware(flash, p):
    rec, banner = _record(flash, p[3] + 0x120)
    esp32.rollback = rec.get("rollback", True)
    print("sim: booting %s: MicroPython %s, %s" % (p[0], rec.get("micropython", "?"), rec.get("behaviour", "?")))
    b = rec.get("behaviour")
    if b == "crash":
        print("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.")
        print("sim: firmware crashed at boot, rebooting")
        return RESET
    if b == "hang":
        print("E (5000) task_wdt: Task watchdog got triggered.")
        print("sim: watchdog reset")
        return RESET
    if rec.get("auto_confirm"):
        _auto_confirm(p)
    if "micropython" in rec:
        _present(rec, banner)
    return None


def _auto_confirm(p):
    # board_init.c: esp_ota_get_state_partition(running) == PENDING_VERIFY -> esp_ota_mark_app_valid_cancel_rollback
    o, e = esp32.otadata()
    n = len(esp32.slots())
    if o is None or not n or p[2] < 0x10:
        return
    for x in e:  # esp_ota_get_state_partition: the first entry of this slot with a good CRC
        if (x[0] - 1) % n == p[2] - 0x10 and x[3] == esp32.crc(x[0]):
            if x[2] == 1:
                esp32.Partition.mark_app_valid_cancel_rollback()
            return


def _present(rec, banner):
    # sys.implementation as the firmware has it (py/modsys.c, simsys.py): version (X, Y, Z, ''), _machine (the
    # banner's part after "; "), _mpy (persistentcode.h: MPY_VERSION | (sub-version | arch << 2) << 8, arch
    # xtensawin 10 on esp32/s2/s3, rv32imc 11 on the others), _build from 1.25 on; sys.version "3.4.0; " and the
    # banner's first part, with the version the firmware reports.
    import simsys

    v = tuple(int(x) for x in rec.get("reports", rec["micropython"]).split("."))
    sub = 3 if v >= (1, 23) else 2 if v >= (1, 22) else 1 if v >= (1, 20) else 0
    arch = 10 if esp32.chip[0] in (0, 2, 9) else 11
    impl = simsys.Impl
    impl.version = v + ("",)
    impl._machine = banner.split("; ", 1)[1] if "; " in banner else "ESP32 module"
    impl._mpy = 6 | (sub | arch << 2) << 8 if v >= (1, 19) else 5 | (arch << 2) << 8
    if v >= (1, 25):
        impl._build = rec["build"]
    date = banner.split(" on ")[1].split(";")[0] if " on " in banner else "?"
    simsys.Sys.version = "3.4.0; MicroPython v%d.%d.%d on %s" % (v[0], v[1], v[2], date)
    sys.modules["sys"] = simsys.Sys()
    del sys.modules["simsys"]  # only as sys
