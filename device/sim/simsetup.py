# What run.py does before the device boots: the board's hooks (simboard.py) set up from the environment, the
# image opened (an ESP32 flash booted by its bootloader, espboot.py) and mounted at /, the import path of a board. Loaded before the image hides the host's files,
# and unloaded again before boot.py runs: a board has none of this in its heap.
import os
import sys


def esp32_flash(image):
    """Whether image is the flash of a simulated ESP32 (flashtool.py mkflash): a bootloader image (0xE9) at 0, 0x1000
    or 0x2000 (the chip's bootloader offset) and a partition table (AA 50) at 0x8000. Anything else is a LittleFS."""
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


def start(image):
    """(flash, code): the flash of image mounted at /, code None; or code the exit code when the board does not get
    that far (the ESP32 bootloader found nothing bootable, or the firmware reset before boot.py), flash None when it
    cannot be opened (said on standard error). A LittleFS image is blockdev.FileBlockDev (simcut.CuttingBlockDev
    with ALOFT_SIM_CUT_AFTER_WRITES); an ESP32 flash is espflash.Flash, booted by espboot.py, its vfs (or ffat)
    partition mounted."""
    import simboard

    path = image if image.startswith("/") else os.getcwd() + "/" + image  # before / is the image
    if os.getenv("ALOFT_SIM_SERVER"):
        simboard.config["server"] = os.getenv("ALOFT_SIM_SERVER")
    if os.getenv("ALOFT_SIM_BATTERY"):
        simboard.level = int(os.getenv("ALOFT_SIM_BATTERY"))
    else:
        del simboard.battery
    if os.getenv("ALOFT_SIM_FAIL_ON"):
        import simfail  # noqa: F401 (it wraps execfile)
    if os.getenv("ALOFT_SIM_NO_RAM_FOR"):
        import simnoram  # noqa: F401 (it wraps __import__)
    if os.getenv("ALOFT_SIM_NO_RAM_TO_INFLATE"):
        import siminflate

        sys.modules["deflate"] = siminflate
    cut = os.getenv("ALOFT_SIM_CUT_AFTER_WRITES")
    tear = os.getenv("ALOFT_SIM_CUT_TEAR")  # quarters of the cut operation done (0-3); default: the cut's number mod 4
    tear = None if tear is None else int(tear)
    bd = None
    try:
        if esp32_flash(image):
            from espflash import Flash
            import esp32  # before espboot, which imports it: the compiler's peaks apart, not stacked

            esp32 = None
            import espboot

            bd = Flash(image, None if cut is None else int(cut), tear)
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
            part = esp32 = None
        elif cut is None:
            from blockdev import FileBlockDev as Dev

            bd = Dev(image)
        else:
            from simcut import CuttingBlockDev as Dev

            bd = Dev(image, int(cut), tear)
        Dev = None
        if not hasattr(bd, "ops"):
            os.mount(os.VfsLfs2(bd), "/")
    except OSError as e:
        print("sim: cannot open image %s: %s" % (image, e), file=sys.stderr)
        if bd is not None:
            bd.close()
        return None, None
    os.chdir("/")
    # What device/boot.py does first, done here too because nothing may read the flash before: a change to
    # it, so LittleFS finishes a rename a power cut interrupted.
    try:
        os.mkdir("/.aloft")
    except OSError:
        pass
    try:
        import json

        with open("/.aloft/config.json") as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        cfg = {}
    if cfg.get("board"):
        del simboard.board_name  # asked only when config.json names no board
    if cfg.get("id"):
        del simboard.unique_id  # enrolled: the agent does not ask
    else:
        # ALOFT_SIM_UNIQUE_ID, else the board's name and 12 hex digits of the SHA-256 of the image's absolute path.
        from binascii import hexlify
        from hashlib import sha256

        simboard.uid = os.getenv("ALOFT_SIM_UNIQUE_ID") or "%s-%s" % (cfg.get("board") or "sim", hexlify(sha256(path).digest()[:6]).decode())
    sys.modules["aloft_board"] = simboard
    sys.path[:] = ["", ".frozen", "/lib"]
    return bd, None
