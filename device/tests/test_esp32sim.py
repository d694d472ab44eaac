# The simulated ESP32 (docs/firmware.md, "The simulator's ESP32"): images (espimage.py) checked by esptool, the
# partition table and otadata by mp-image-tool-esp32, the vfs by littlefs-python (tools the simulator did not write,
# run with the checkout's .venv CPython); the flash's NOR rules and power cuts (espflash.py); every bootloader
# transition of ESP-IDF (espboot.py); the esp32 module's Partition API (esp32.py); whole boards booted by run.py.
# The bootloader runs in this process for most tests (espboot.boot on the flash file, sys given back after each);
# what kills its process (a power cut, a write to the running slot) runs in a child.
from harness import DEVICE, micropython, raises, read, run, sh, tempdir, test, write
import os
import struct
import sys
import esp32
import espboot
import espimage
import flashtool
from espflash import Flash
from aloft import tree

TMP = tempdir("esp32sim")
SRC = TMP + "/src"
IMG = TMP + "/flash.img"
PY = DEVICE + "/../.venv/bin/python3"
REAL_SYS = sys
NEW, PENDING, VALID, INVALID, ABORTED, UNDEFINED = 0, 1, 2, 3, 4, 0xFFFFFFFF
IMAGES = {}


def image(version="1.26.0", chip="esp32", build="ESP32_GENERIC-OTA", **kw):
    key = (version, chip, build, tuple(sorted(kw.items())))
    if key not in IMAGES:
        IMAGES[key] = espimage.app(chip, build, version, size=kw.pop("size", 65536), **kw)
    return IMAGES[key]


def board(profile="esp32-ota", main=None, app=None):
    """A fresh flash of profile (flashtool.mkflash) with main.py, as after a USB flash; esp32 let go of."""
    off()
    tree.rmtree(SRC)
    write(SRC + "/main.py", main or b"print('main ran')\n")
    if app is not None:
        write(TMP + "/app.bin", app)
    flashtool.mkflash(IMG, profile, SRC, TMP + "/app.bin" if app is not None else None, True)
    return IMG


def off():
    if esp32.flash is not None:
        esp32.flash.close()
        esp32.flash = None


def power_on(cut=0):
    """A hard reset in this process: the bootloader's verdict (None when the firmware runs), sys given back."""
    off()
    esp32.running = None
    code = espboot.boot(Flash(IMG, cut))
    sys.modules["sys"] = REAL_SYS
    return code


def ota():
    """(seq, state) of both otadata entries; their CRCs checked where seq is set."""
    o, e = esp32.otadata()
    for x in e:
        assert x[0] == UNDEFINED or x[3] == esp32.crc(x[0]), x
    return [(x[0], x[2]) for x in e]


def raw(addr, n):
    b = bytearray(n)
    esp32.flash.read(addr, b)
    return bytes(b)


def label(which):
    return esp32.Partition(which).info()[4]


def install(slot, data):
    """Write data into slot as the agent does: each 4 KiB block erased (ioctl 6), then written (extended)."""
    p = esp32.Partition(slot)
    for blk in range((len(data) + 4095) // 4096):
        p.ioctl(6, blk)
        p.writeblocks(blk, data[blk * 4096 : blk * 4096 + 4096], 0)


def oserr(fn, *args):
    return raises(OSError, fn, *args).args[0]


def boot(env=""):
    """A hard reset of the board IMAGE in a child process (run.py, in its folder); (exit code, output)."""
    code = sh("cd %s/sim && %s%s run.py %s > %s/out 2>&1" % (DEVICE, env, micropython(), IMG, TMP))
    return code, read(TMP + "/out").decode()


def cpython(code):
    """Run code with the .venv CPython (esptool, mp-image-tool-esp32, littlefs-python); its output."""
    write(TMP + "/check.py", code.encode())
    assert sh("%s %s/check.py > %s/py.out 2>&1" % (PY, TMP, TMP)) == 0, read(TMP + "/py.out").decode()
    return read(TMP + "/py.out").decode()


@test
def first_boot_writes_otadata_byte_exact():
    board()
    assert read(IMG)[0xD000:0xF000] == b"\xff" * 0x2000  # as firmware.bin leaves it
    assert power_on() is None
    entry = struct.pack("<I20sII", 1, b"\xff" * 20, VALID, 0x4743989A)  # seq 1, crc32 from 0xFFFFFFFF
    assert raw(0xD000, 0x1000) == entry + b"\xff" * (0x1000 - 32)
    assert raw(0xE000, 0x1000) == b"\xff" * 0x1000
    assert esp32.crc(1) == 0x4743989A
    assert esp32.running[0] == "ota_0" and label(esp32.Partition.BOOT) == "ota_0" and label(esp32.Partition.RUNNING) == "ota_0"
    assert esp32.flash.ops == 2  # set_actual_ota_seq: the sector erased, 32 bytes written
    assert power_on() is None and esp32.flash.ops == 0 and ota() == [(1, VALID), (UNDEFINED, UNDEFINED)]
    # mp-image-tool-esp32 (glenn20) reads the same entry with its own struct and CRC
    out = cpython("from mp_image_tool_esp32.ota_update import ota_crc\nimport struct\nd = open(%r, 'rb').read()[0xD000:0xD020]\n"
                  "s, l, st, c = struct.unpack('<L20sLL', d)\nprint(s, st, c == ota_crc(s))\n" % IMG)
    assert out.strip() == "1 2 True", out


@test
def set_boot_arms_a_trial_that_the_bootloader_aborts_unconfirmed():
    board()
    power_on()
    install("ota_1", image("1.26.0"))
    esp32.Partition("ota_1").set_boot()
    assert ota() == [(1, VALID), (2, NEW)] and label(0) == "ota_1" and label(1) == "ota_0"
    assert power_on() is None and esp32.running[0] == "ota_1" and ota() == [(1, VALID), (2, PENDING)]
    assert power_on() is None  # not confirmed: aborted, the old slot again
    assert esp32.running[0] == "ota_0" and label(0) == "ota_0" and ota() == [(1, VALID), (2, ABORTED)]


@test
def a_confirmed_trial_stays_and_seq_goes_round_robin():
    board()
    power_on()
    seqs = []
    for n in range(4):
        nxt = esp32.Partition(esp32.Partition.RUNNING).get_next_update()
        assert nxt.info()[4] == ("ota_1", "ota_0")[n % 2]
        install(nxt.info()[4], image("1.26.%d" % n))
        nxt.set_boot()
        assert power_on() is None and esp32.running[0] == nxt.info()[4]
        esp32.Partition.mark_app_valid_cancel_rollback()
        assert power_on() is None and esp32.flash.ops == 0 and esp32.running[0] == nxt.info()[4]
        seqs.append(max(s for s, _ in ota()))
    assert seqs == [2, 3, 4, 5], seqs
    assert sorted(ota()) == [(4, VALID), (5, VALID)]


@test
def set_boot_state_follows_the_running_firmware_and_the_active_slot():
    # the running firmware without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE writes UNDEFINED, which boots without trial
    board(app=image("1.20.0", build="ESP32_GENERIC", rollback=False))
    power_on()
    assert esp32.rollback is False
    install("ota_1", image("1.26.0"))
    esp32.Partition("ota_1").set_boot()
    assert ota() == [(1, VALID), (2, UNDEFINED)]
    assert power_on() is None and esp32.running[0] == "ota_1" and ota() == [(1, VALID), (2, UNDEFINED)]
    # set_boot of the active slot (ESP-IDF 2025): that entry's state only, in its own sector; the other kept
    other = raw(0xD000, 0x1000)
    esp32.Partition(esp32.Partition.RUNNING).set_boot()
    assert ota() == [(1, VALID), (2, NEW)] and raw(0xD000, 0x1000) == other


@test
def a_bootloader_without_rollback_leaves_new_as_it_is():
    board("esp32-ota-norollback")
    power_on()
    install("ota_1", image("1.26.0"))
    esp32.Partition("ota_1").set_boot()
    for _ in range(2):
        assert power_on() is None and esp32.running[0] == "ota_1" and ota() == [(1, VALID), (2, NEW)]
        assert esp32.flash.ops == 0


@test
def set_boot_refuses_an_image_that_does_not_verify_and_leaves_otadata():
    board()
    power_on()
    before = raw(0xD000, 0x2000)
    good = image("1.26.0")
    bad = [bytearray(good) for _ in range(4)]
    bad[0][0x3000] ^= 1  # a data byte: checksum
    bad[1][len(good) - 1] ^= 1  # the appended SHA-256
    bad[2][0] = 0xE8  # magic
    bad[3] = good[: len(good) - 100]  # truncated: the rest of the slot erased
    for b in bad + [image("1.26.0", chip="esp32s3", build="ESP32_GENERIC_S3")]:  # and the wrong chip
        install("ota_1", bytes(b) + b"\xff" * ((-len(b)) % 4096))
        ops = esp32.flash.ops
        assert oserr(esp32.Partition("ota_1").set_boot) == -5379
        assert raw(0xD000, 0x2000) == before and esp32.flash.ops == ops
    assert power_on() is None and esp32.running[0] == "ota_0"


@test
def a_full_flash_passes_set_boot_but_not_the_bootloader_running_differs_from_boot():
    # esp_image_verify in the app accepts firmware.bin written into a slot (its start is a valid image: the
    # bootloader); the bootloader refuses to load it (its RAM segments overlap the bootloader's own), falls back to
    # ota_0 without touching otadata: RUNNING ota_0, BOOT ota_1 (glenn20/micropython-esp32-ota#9).
    board()
    power_on()
    full = espimage.full_flash("esp32", image("1.26.0"), "ESP32_GENERIC-OTA", {"rollback": True})
    install("ota_1", full)
    esp32.Partition("ota_1").set_boot()
    assert power_on() is None
    assert esp32.running[0] == "ota_0" and label(0) == "ota_1" and ota() == [(1, VALID), (2, PENDING)]
    # mark_app_valid marks the ACTIVE entry, not the running one: the trap the agent must avoid
    assert power_on() is None and esp32.running[0] == "ota_0" and label(0) == "ota_0" and ota()[1] == (2, ABORTED)


@test
def an_image_damaged_after_set_boot_falls_back():
    board()
    power_on()
    install("ota_1", image("1.26.0"))
    esp32.Partition("ota_1").set_boot()
    p = esp32.Partition("ota_1")
    p.ioctl(6, 2)  # a block of the image erased after set_boot
    assert power_on() is None and esp32.running[0] == "ota_0" and label(0) == "ota_1"
    esp32.Partition.mark_app_valid_cancel_rollback()  # what an agent must not do here: it marks ota_1
    assert ota() == [(1, VALID), (2, VALID)]
    assert power_on() is None and esp32.running[0] == "ota_0" and label(0) == "ota_1"


@test
def bootloader_selection_rules():
    board()
    power_on()
    install("ota_1", image("1.26.0"))
    o, e = esp32.otadata()

    def entries(a, b):
        for i, (seq, state) in enumerate((a, b)):
            esp32.rewrite(o, e, seq, i, state)

    for a, b, slot in (
        ((4, VALID), (5, VALID), "ota_0"),  # the highest seq: (5 - 1) % 2
        ((6, VALID), (5, VALID), "ota_1"),
        ((3, VALID), (3, VALID), "ota_0"),  # a tie: entry 0
        ((2, VALID), (3, INVALID), "ota_1"),  # INVALID does not count
        ((2, ABORTED), (1, VALID), "ota_0"),
        ((UNDEFINED, UNDEFINED), (2, VALID), "ota_1"),
    ):
        entries(a, b)
        assert power_on() is None and esp32.running[0] == slot, (a, b, esp32.running)
        assert esp32.flash.ops == 0, (a, b)
    # a bad CRC: not valid (so the other entry wins), not invalid either
    entries((2, VALID), (3, VALID))
    esp32.rewrite(o, e, 3, 1, VALID)
    e[1][3] ^= 1
    esp32.erase(o, 0x1000, 0x1000)
    esp32.write(o, 0x1000, struct.pack("<I20sII", *e[1]))
    assert power_on() is None and esp32.running[0] == "ota_1"
    # both invalid but not blank: ota_0, nothing written; both blank: ota_0 and {1, VALID}
    o, e = esp32.otadata()
    entries((3, ABORTED), (4, INVALID))
    assert power_on() is None and esp32.running[0] == "ota_0" and esp32.flash.ops == 0 and ota() == [(3, ABORTED), (4, INVALID)]
    esp32.erase(o, 0, 0x2000)
    assert power_on() is None and esp32.running[0] == "ota_0" and ota() == [(1, VALID), (UNDEFINED, UNDEFINED)]
    # ota_0 not bootable with blank otadata: ota_1 boots, and set_actual_ota_seq writes seq 2
    esp32.erase(o, 0, 0x2000)
    esp32.running = None  # the test erases the running slot, as a flashing tool would: not the simulator's error
    esp32.Partition("ota_0").ioctl(6, 0)
    assert power_on() is None and esp32.running[0] == "ota_1" and ota() == [(2, VALID), (UNDEFINED, UNDEFINED)]
    esp32.running = None
    esp32.Partition("ota_1").ioctl(6, 0)
    assert power_on() == espboot.NOTHING_BOOTABLE


@test
def mark_app_valid_rules():
    board("esp32")  # factory, no otadata
    assert power_on() is None and esp32.running[0] == "factory"
    assert oserr(esp32.Partition.mark_app_valid_cancel_rollback) == -261
    assert oserr(esp32.Partition, esp32.Partition.BOOT) == 2  # esp_ota_get_boot_partition: no otadata
    assert oserr(esp32.Partition(esp32.Partition.RUNNING).get_next_update) == 2
    assert oserr(esp32.Partition(esp32.Partition.RUNNING).set_boot) == -261  # factory: erase otadata, not found
    board()
    power_on()
    o, e = esp32.otadata()
    esp32.rewrite(o, e, 1, 0, ABORTED)
    esp32.rewrite(o, e, 2, 1, INVALID)
    assert raises(OSError, esp32.Partition.mark_app_valid_cancel_rollback).args == (1, "ESP_FAIL")
    esp32.rewrite(o, e, 1, 0, VALID)
    ops = esp32.flash.ops
    esp32.Partition.mark_app_valid_cancel_rollback()  # already VALID: nothing written
    assert esp32.flash.ops == ops
    esp32.rewrite(o, e, 3, 1, PENDING)
    esp32.Partition.mark_app_valid_cancel_rollback()  # the active entry (seq 3): its sector erased and written
    assert ota() == [(1, VALID), (3, VALID)] and esp32.flash.ops == ops + 4


@test
def factory_and_nano_boards():
    board("esp32")
    assert power_on() is None and esp32.running[0] == "factory" and esp32.rollback is True
    assert [p.info()[4] for p in esp32.Partition.find(esp32.Partition.TYPE_APP)] == ["factory"]
    # the Nano: ota_0 VALID after its flashing, its factory (recovery) left empty; every image confirms itself
    board("nano-esp32")
    assert power_on() is None and esp32.running[0] == "app0" and ota() == [(1, VALID), (UNDEFINED, UNDEFINED)]
    assert esp32.chip[0] == 9
    install("app1", image("1.26.0", chip="esp32s3", build="ARDUINO_NANO_ESP32", auto_confirm=True))
    esp32.Partition("app1").set_boot()
    assert power_on() is None and esp32.running[0] == "app1" and ota() == [(1, VALID), (2, VALID)]
    assert [p.info()[4] for p in esp32.Partition.find(esp32.Partition.TYPE_DATA)] == ["nvs", "otadata", "ffat", "coredump"]


@test
def partition_api():
    board()
    power_on()
    P = esp32.Partition
    assert (P.BOOT, P.RUNNING, P.TYPE_APP, P.TYPE_DATA) == (0, 1, 0, 1)
    assert P("ota_1").info() == (0, 0x11, 0x190000, 0x180000, "ota_1", False)
    assert P("vfs").info() == (1, 0x81, 0x310000, 0xF0000, "vfs", False)
    assert repr(P("nvs")) == "<Partition type=1, subtype=2, address=36864, size=16384, label=nvs, encrypted=0>"
    assert [p.info()[4] for p in P.find()] == ["ota_0", "ota_1"]
    assert [p.info()[4] for p in P.find(P.TYPE_DATA, subtype=0)] == ["otadata"]
    assert [p.info()[4] for p in P.find(type=P.TYPE_DATA, label="vfs")] == ["vfs"]
    assert P.find(label="vfs") == [] and oserr(P, "nope") == 2
    raises(ValueError, P, 7)
    p = P("ota_1")
    assert p.ioctl(4, 0) == 0x180 and p.ioctl(5, 0) == 4096 and p.ioctl(1, 0) == 0 and p.ioctl(3, 0) == 0 and p.ioctl(9, 0) is None
    assert oserr(p.writeblocks, 0, b"\x00" * 100) == -260  # simple write: erase of a partial sector
    assert oserr(p.readblocks, 0x180, bytearray(4)) == -260 and oserr(p.readblocks, 0x181, bytearray(4)) == -258
    p.writeblocks(1, b"\x12" * 4096)  # simple: erased, then written
    b = bytearray(4)
    p.readblocks(1, b, 4092)
    assert b == b"\x12" * 4
    # block_size 512: read-modify-erase-write through a 4 KiB cache; ioctl 6 refused
    q = P("ota_1", 512)
    assert q.ioctl(4, 0) == 0x180000 // 512 and q.ioctl(6, 0) == -22
    q.writeblocks(9, b"\x34" * 512)  # the second 512 of block 1
    b = bytearray(4096)
    p.readblocks(1, b)
    assert b == b"\x12" * 512 + b"\x34" * 512 + b"\x12" * 3072
    assert P(P.RUNNING).get_next_update().info()[4] == "ota_1" and P("ota_1").get_next_update().info()[4] == "ota_0"


@test
def nor_rules():
    path = TMP + "/nor.bin"
    write(path, b"\xff" * 8192)
    f = Flash(path, 0)
    try:
        f.write(10, b"\x0f\xf0\x3c")
        f.write(10, b"\x07\xf0\xff")  # clears bits only where asked; 0xff over 0x3c sets nothing
        b = bytearray(3)
        f.read(10, b)
        assert b == b"\x07\xf0\x3c" and f.violations == 1  # the 0xff wanted bits the flash no longer had
        f.write(10, b"\xff\x0f\x00")
        f.read(10, b)
        assert b == b"\x07\x00\x00" and f.violations == 3
        raises(OSError, f.erase, 100)
        raises(OSError, f.read, 8190, bytearray(4))
        f.erase(0)
        f.read(10, b)
        assert b == b"\xff\xff\xff" and f.ops == 4
    finally:
        f.close()


@test
def a_power_cut_tears_the_operation_and_kills_at_once():
    # the N-th operation: an erase clears the first T KiB of its sector, a write writes the first T quarters, T the
    # tear given (ALOFT_SIM_CUT_TEAR), by default N%4
    script = ("import sys\nsys.path.insert(0, %r)\nfrom espflash import Flash\nf = Flash(%r, %d, %s)\n"
              "for _ in range(%d):\n    f.erase(8192)\n%s\nprint('not cut')\n")
    path = TMP + "/cut.bin"
    for n, tear, op, want in (
        (1, None, "f.erase(0)", b"\xff" * 1024 + b"\x00" * 3072 + b"\xff" * 4096),
        (2, None, "f.erase(0)", b"\xff" * 2048 + b"\x00" * 2048 + b"\xff" * 4096),
        (3, None, "f.erase(0)", b"\xff" * 3072 + b"\x00" * 1024 + b"\xff" * 4096),
        (4, None, "f.erase(0)", b"\x00" * 4096 + b"\xff" * 4096),
        (5, 0, "f.erase(0)", b"\x00" * 4096 + b"\xff" * 4096),
        (4, 3, "f.erase(0)", b"\xff" * 3072 + b"\x00" * 1024 + b"\xff" * 4096),
        (1, None, "f.write(4096, b'\\x00' * 64)", b"\x00" * 4096 + b"\x00" * 16 + b"\xff" * 4080),
        (6, None, "f.write(4096, b'\\x00' * 64)", b"\x00" * 4096 + b"\x00" * 32 + b"\xff" * 4064),
        (4, None, "f.write(4096, b'\\x00' * 64)", b"\x00" * 4096 + b"\xff" * 4096),
        (7, 0, "f.write(4096, b'\\x00' * 64)", b"\x00" * 4096 + b"\xff" * 4096),
    ):
        write(path, b"\x00" * 4096 + b"\xff" * 8192)
        write(TMP + "/cut.py", (script % (DEVICE + "/sim", path, n, tear, n - 1, op)).encode())
        code = sh("%s %s/cut.py > %s/out 2>&1" % (micropython(), TMP, TMP))
        out = read(TMP + "/out").decode()
        assert code == 137 and "sim: power cut at flash operation %d" % n in out and "not cut" not in out, (n, op, code, out)
        assert read(path)[:8192] == want, (n, op)


@test
def power_cuts_at_every_operation_of_set_boot_and_its_trial_boot_leave_a_bootable_board():
    # main.py installs 1.26.0 into the next slot and set_boot()s it; cut at each flash operation of that boot and of
    # the next (the bootloader's PENDING_VERIFY write), the board always boots one of the two, whole.
    main = b"import esp32\nP = esp32.Partition\nif P(P.RUNNING).info()[4] == 'ota_0' and P(P.BOOT).info()[4] == 'ota_0':\n    n = P(P.RUNNING).get_next_update()\n    f = open('/new.bin', 'rb')\n    b = bytearray(4096)\n    i = 0\n    while f.readinto(b):\n        n.ioctl(6, i)\n        n.writeblocks(i, b, 0)\n        i += 1\n    n.set_boot()\n    print('set_boot done')\n"
    board(main=main)
    write(SRC + "/new.bin", image("1.26.0", size=8192))
    flashtool.mkflash(IMG, "esp32-ota", SRC, None, True)
    power_on()  # first boot: {1, VALID}
    off()
    save = read(IMG)
    code, out = boot("ALOFT_SIM_CUT_AFTER_WRITES=0 ")
    assert code == 2 and "set_boot done" in out, out
    ops = int(out.rsplit("sim: ", 1)[1].split()[0])
    assert ops >= 6, out  # 2 blocks erased and written, otadata erased and written
    seen = set()
    for n in range(1, ops + 1):
        with open(IMG, "wb") as f:
            f.write(save)
        code, out = boot("ALOFT_SIM_CUT_AFTER_WRITES=%d " % n)
        assert code == 137 and "power cut at flash operation %d" % n in out, (n, code, out)
        code, out = boot()
        assert code == 2 and "sim: booting ota_" in out, (n, out)
        seen.add(out.split("sim: booting ")[1].split(":")[0])
    assert seen == {"ota_0"}, seen  # set_boot's one write is its last operation: cut anywhere, it did not happen
    # the trial boot's bootloader write (NEW -> PENDING_VERIFY) cut: the next boot still decides
    with open(IMG, "wb") as f:
        f.write(save)
    boot()
    after = read(IMG)
    for n in (1, 2):
        with open(IMG, "wb") as f:
            f.write(after)
        code, out = boot("ALOFT_SIM_CUT_AFTER_WRITES=%d " % n)
        assert code == 137, out
        code, out = boot()
        assert code == 2 and "sim: booting ota_" in out, out


@test
def whole_board_boots_present_the_image_and_run_its_behaviour():
    main = b"import sys\nprint('impl', sys.implementation.version, getattr(sys.implementation, '_build', None), sys.implementation._mpy & 0xff)\nprint('version', sys.version)\n"
    board(main=main, app=image("1.26.0", reports="1.25.0", size=131072))
    code, out = boot()
    assert code == 2 and "impl (1, 25, 0, '') ESP32_GENERIC-OTA 6" in out, out
    assert "version 3.4.0; MicroPython v1.25.0 on 2025-01-01" in out, out
    board(main=main, app=image("1.24.1"))
    code, out = boot()
    assert code == 2 and "impl (1, 24, 1, '') None 6" in out, out  # no _build before 1.25
    for behaviour, says in (("crash", "Guru Meditation Error"), ("hang", "sim: watchdog reset")):
        power_on()
        install("ota_1", image("1.26.0", behaviour=behaviour))
        esp32.Partition("ota_1").set_boot()
        off()
        code, out = boot()
        assert code == 75 and says in out and "impl" not in out, out
        code, out = boot()  # rolled back: the old firmware runs main.py
        assert code == 2 and "impl (1, 24, 1, '')" in out, out
        power_on()
        assert ota()[1] == (2, ABORTED) and esp32.running[0] == "ota_0"
        esp32.Partition("ota_1").ioctl(6, 0)
        o, e = esp32.otadata()
        esp32.erase(o, 0x1000, 0x1000)
    # auto_confirm: VALID before boot.py
    install("ota_1", image("1.26.0", auto_confirm=True))
    esp32.Partition("ota_1").set_boot()
    off()
    code, out = boot()
    assert code == 2 and "impl (1, 26, 0, '') ESP32_GENERIC-OTA" in out, out
    power_on()
    assert ota()[1] == (2, VALID)
    off()


@test
def writes_to_the_running_slot_and_nor_violations_are_caught():
    board(main=b"import esp32\nP = esp32.Partition\nP('ota_1').writeblocks(0, b'\\x00' * 8, 0)\nP('ota_1').writeblocks(0, b'\\xff' * 8, 0)\n")
    code, out = boot("ALOFT_SIM_CUT_AFTER_WRITES=0 ")
    assert code == 2 and "sim: NOR violation at 0x190000 (8 bytes had bits to set)" in out, out
    assert "sim: 8 NOR violations" in out, out
    board(main=b"import esp32\nP = esp32.Partition\nprint('erasing')\nP(P.RUNNING).ioctl(6, 0)\nprint('not reached')\n")
    before = read(IMG)[0x10000:0x11000]
    code, out = boot()
    assert code == 138 and "sim: write to the running slot ota_0" in out and "erasing" in out and "not reached" not in out, (code, out)
    assert read(IMG)[0x10000:0x11000] == before


@test
def images_checked_by_esptool_and_the_same_on_both_interpreters():
    big = TMP + "/big.bin"
    assert sh("cd %s/sim && %s espimage.py build --chip esp32 --build ESP32_GENERIC-OTA --micropython 1.26.0 --size 1500000 --idf v5.4.1 --seed 7 --out %s" % (DEVICE, micropython(), big)) == 0
    assert sh("%s %s/sim/espimage.py build --chip esp32 --build ESP32_GENERIC-OTA --micropython 1.26.0 --size 1500000 --idf v5.4.1 --seed 7 --out %s.c" % (PY, DEVICE, big)) == 0
    assert read(big) == read(big + ".c")
    small = TMP + "/small.bin"
    write(small, image("1.25.0", chip="esp32s3", build="ARDUINO_NANO_ESP32", size=20000, auto_confirm=True))
    full = TMP + "/full.bin"
    write(full, espimage.full_flash("esp32", image("1.26.0"), "ESP32_GENERIC-OTA", {"rollback": True}))
    out = cpython(
        "import subprocess, sys\n"
        "for f in sys.argv[1:] or %r:\n"
        "    r = subprocess.run([%r, 'image-info', f], capture_output=True, text=True)\n"
        "    print('=== ' + f)\n"
        "    print(r.stdout + r.stderr)\n" % ([big, small, full], DEVICE + "/../.venv/bin/esptool"))
    parts = out.split("=== ")[1:]
    for part, chip, seg in ((parts[0], "ESP32", 4), (parts[1], "ESP32-S3", 3)):
        assert "Checksum: " in part and "(valid)" in part.split("Checksum: ")[1].split("\n")[0], part
        assert part.split("Validation hash: ")[1].split("\n")[0].endswith("(valid)"), part
        assert "Chip ID: " in part and "(%s)" % chip in part and "Segments: %d" % seg in part, part
        assert "Project name: \n" in part and "App version: \n" in part and "Compile time: Jan  1 2025 12:00:00" in part, part
    assert "ESP-IDF: v5.4.1" in parts[0] and "ESP-IDF: v5.2.2" in parts[1] and "DROM" in parts[0] and "IROM" in parts[0]
    assert "Bootloader Information" in parts[2] and "Checksum: " in parts[2], parts[2]  # firmware.bin starts with it
    r = espimage.info(read(big))
    assert r["valid"] and r["banner"] == "MicroPython v1.26.0 on 2025-01-01; Generic ESP32 module with OTA with ESP32", r
    assert r["record"] == {"micropython": "1.26.0", "build": "ESP32_GENERIC-OTA", "behaviour": "boots", "rollback": True}
    assert r["app"]["version"] == "" and r["app"]["project_name"] == "" and r["app"]["idf_ver"] == "v5.4.1"
    assert read(big)[0x120:0x128] == b"ALOFTSIM" and struct.unpack("<I", read(big)[0x20:0x24])[0] == 0xABCD5432
    for bad in ("--size 1000", "--behaviour sleep", "--micropython 1.2", "--chip esp99"):
        assert sh("%s %s/sim/espimage.py build %s --out %s/x.bin 2> /dev/null" % (PY, DEVICE, bad, TMP)) == 2, bad
    assert sh("%s %s/sim/espimage.py info %s > /dev/null" % (PY, DEVICE, big)) == 0


@test
def partition_table_and_vfs_read_by_other_tools():
    board(main=b"print('main from vfs')\n")
    entries = espimage.TABLES["ota"]
    assert espimage.parse_table(espimage.partition_table(entries)) == list(entries)
    off()
    f = Flash(IMG)
    assert espboot._table(f) == tuple(entries)
    f.close()
    out = cpython(
        "from mp_image_tool_esp32.partition_table import PartitionTable\n"
        "from littlefs import LittleFS\n"
        "d = open(%r, 'rb').read()\n"
        "for p in PartitionTable.from_bytes(d[0x8000:0x9000]):\n"
        "    print(p.name, p.type, p.subtype, hex(p.offset), hex(p.size))\n"
        "v = d[0x310000:0x400000]\n"
        "fs = LittleFS(block_size=4096, block_count=len(v) // 4096, read_size=32, prog_size=32, mount=False)\n"
        "fs.context.buffer = bytearray(v)\n"
        "fs.mount()\n"
        "print(sorted(fs.listdir('/')), fs.open('main.py', 'r').read())\n" % IMG)
    lines = out.strip().split("\n")
    assert lines[:6] == ["%s %d %d %s %s" % (n, t, s, hex(o), hex(z)) for n, t, s, o, z in entries], out
    assert "['main.py'] print('main from vfs')" in out, out
    assert sh("cd %s/sim && %s flashtool.py ls %s > %s/ls.txt" % (DEVICE, micropython(), IMG, TMP)) == 0
    assert read(TMP + "/ls.txt") == b"23 /main.py\n", read(TMP + "/ls.txt")
    assert sh("cd %s/sim && %s flashtool.py cat %s /main.py > %s/cat.txt" % (DEVICE, micropython(), IMG, TMP)) == 0
    assert read(TMP + "/cat.txt") == b"print('main from vfs')\n"
    assert sh("cd %s/sim && %s flashtool.py mkflash %s esp32-ota %s > /dev/null 2>&1" % (DEVICE, micropython(), IMG, SRC)) == 1  # exists


try:
    run()
finally:
    off()
    tree.rmtree(TMP)
