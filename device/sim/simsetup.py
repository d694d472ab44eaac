# What run.py does before the device boots: the board's hooks (simboard.py) set up from the environment, the
# image opened and mounted at /, the import path of a board. Loaded before the image hides the host's files,
# and unloaded again before boot.py runs: a board has none of this in its heap.
import os
import sys


def start(image):
    """The flash (blockdev.FileBlockDev) of image, mounted at /, or None when it cannot be opened (said on
    standard error)."""
    import simboard
    from blockdev import FileBlockDev

    simboard.image = image if image.startswith("/") else os.getcwd() + "/" + image
    if os.getenv("ALOFT_SIM_SERVER"):
        simboard.config["server"] = os.getenv("ALOFT_SIM_SERVER")
    if os.getenv("ALOFT_SIM_BATTERY"):
        simboard.level = int(os.getenv("ALOFT_SIM_BATTERY"))
    else:
        del simboard.battery
    if os.getenv("ALOFT_SIM_FAIL_ON"):
        import simfail  # noqa: F401 (it wraps execfile)
    cut = os.getenv("ALOFT_SIM_CUT_AFTER_WRITES")
    try:
        bd = FileBlockDev(image, None if cut is None else int(cut))
        os.mount(os.VfsLfs2(bd), "/")
    except OSError as e:
        print("sim: cannot open image %s: %s" % (image, e), file=sys.stderr)
        return None
    os.chdir("/")
    # What device/boot.py does first, done here too because nothing may read the flash before: a change to
    # it, so LittleFS finishes a rename a power cut interrupted.
    try:
        os.mkdir("/.aloft")
    except OSError:
        pass
    sys.modules["aloft_board"] = simboard
    sys.path[:] = ["", ".frozen", "/lib"]
    return bd
