# What simsetup.py does for a simulated ESP32 (docs/firmware.md, "The simulator's ESP32"): the board's flash opened
# (espflash.py), its bootloader run (espboot.py: a slot booted, the esp32 module set up), its vfs partition mounted at
# /. Loaded only for such a flash, and unloaded with simsetup.py, so a plain LittleFS board holds none of its names.
import os
import sys


def is_flash(image):
    """Whether image is the flash of a simulated ESP32 (flashtool.py mkflash): a bootloader image (0xE9) at 0, 0x1000
    or 0x2000 (the chip's bootloader offset) and a partition table (AA 50) at 0x8000."""
    try:
        with open(image, "rb") as f:
            f.seek(0x8000)
            if f.read(2) != b"\xaa\x50":
                return False
            for off in (0, 0x1000, 0x2000):
                f.seek(off)
                if f.read(1) == b"\xe9":
                    return True
    except OSError:
        pass
    return False


def start(image, cut):
    """(flash, code): the board booted by its bootloader and its vfs (ffat on the Nano) mounted at /, code None; or code,
    the exit code when it does not get as far as boot.py (nothing bootable, the firmware crashed or hung); (None, 1)
    when image is not an ESP32's flash."""
    if not is_flash(image):
        print("sim: %s has a partition table but no bootloader" % image, file=sys.stderr)
        return None, 1
    from espflash import Flash
    import esp32  # before espboot, which imports it: the compiler's peaks apart, not stacked

    esp32 = None
    import espboot

    tear = os.getenv("ALOFT_SIM_CUT_TEAR")  # quarters of the cut operation done (0-3); default: the cut's number mod 4
    bd = Flash(image, None if cut is None else int(cut), None if tear is None else int(tear))
    Flash = None
    code = espboot.boot(bd)
    del sys.modules["espboot"], sys.modules["espchips"]
    espboot = None
    if code is not None:
        return bd, code
    import esp32

    part = esp32.Partition.find(1, label="vfs") or esp32.Partition.find(1, label="ffat")
    if not part:
        print("sim: no vfs partition on this flash")
        return bd, 1
    os.mount(os.VfsLfs2(part[0]), "/")
    return bd, None
