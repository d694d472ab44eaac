# What run.py does before the device boots: the board's hooks (simboard.py) set up from the environment, the
# image opened (an ESP32 flash booted by its bootloader, espboot.py) and mounted at /, the import path of a board. Loaded before the image hides the host's files,
# and unloaded again before boot.py runs: a board has none of this in its heap.
import os
import sys


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
    bd = None
    try:
        with open(image, "rb") as f:
            f.seek(0x8000)
            code = f.read(2) == b"\xaa\x50"  # an ESP-IDF partition table: the whole flash of an ESP32 (simesp.py)
        if code:
            import simesp

            bd, code = simesp.start(image, cut)
            del sys.modules["simesp"]
            simesp = None
            if bd is None or code is not None:
                return bd, code
        else:
            if cut is None:
                from blockdev import FileBlockDev as Dev

                bd = Dev(image)
            else:
                from simcut import CuttingBlockDev as Dev

                bd = Dev(image, int(cut))
            Dev = None
            os.mount(os.VfsLfs2(bd, progsize=bd.progsize), "/")
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
