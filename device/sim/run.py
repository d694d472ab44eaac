# Boot a simulated device from a flash image, as a board would:
#
#   micropython run.py IMAGE        (in this folder, as `aloft sim run` and the tests start it: from elsewhere
#                                   it works too, but the long paths the simulator's modules then load by take
#                                   some of the device's heap, and how much depends on where the checkout is)
#
# mounts IMAGE at /, runs /boot.py then /main.py in one __main__ namespace, with the board hooks
# (aloft_board, see aloft/board.py) from simboard.py: reset() ends the process with code 75 (the caller
# starts it again). (On a trial boot the agent runs main.py from boot.py and resets, so the second step
# does not come.) IMAGE is a LittleFS image (flashtool.py mkfs), or the whole flash of a simulated ESP32
# (flashtool.py mkflash, docs/firmware.md "The simulator's ESP32"): its bootloader (espboot.py) runs first and
# boots a slot, the esp32 module is there, and the vfs partition is mounted at /.
# Exit codes: 75 reset requested (on an ESP32 also: the firmware crashed or hung before boot.py), 0 finished
# and the last check said "none", 2 finished with another (or no) check result, 1 main.py raised, 3 the
# ESP32's bootloader found nothing bootable, 137 a power cut (SIGKILL), 138 the ESP32's running slot was
# written or erased (SIGUSR1: an agent bug the simulator stops). Environment:
#   ALOFT_SIM_SERVER=URL            the server URL instead of the config's
#   ALOFT_SIM_BATTERY=PERCENT       what the board's battery hook reports (default: no battery)
#   ALOFT_SIM_UNIQUE_ID=ID          what the board's unique_id hook reports (a generic image enrolls
#                                   with it); default: the config's board and a hash of IMAGE's path
#   ALOFT_SIM_CUT_TEAR=T            with a cut: T quarters (0-3) of the cut operation reach the flash; default N mod 4
#   ALOFT_SIM_CUT_AFTER_WRITES=N    power cut (SIGKILL) at the N-th block write; 0: none, but
#                                   print "sim: N block writes" at the end. On an ESP32 every flash
#                                   operation counts (each sector erased, each write, the bootloader's
#                                   too): "sim: N flash operations" (espflash.py)
#   ALOFT_SIM_FAIL_ON=VERSION       this board cannot run release VERSION: its main.py raises at once
#                                   whenever VERSION is installed (on trial, or kept), like an application
#                                   bug that shows only on some hardware (`aloft sim fleet --fail-on`)
#   ALOFT_SIM_NO_RAM_FOR=MODULE     this board never has the RAM to load MODULE (simnoram.py), e.g. aloft.plan:
#                                   importing it by that name raises MemoryError
#   ALOFT_SIM_NO_RAM_TO_INFLATE=1   this board never has the RAM for an inflater (siminflate.py): every
#                                   zlib download fails where the inflater allocates its state and window;
#                                   =fill: the real inflater, in a heap with no free block left;
#                                   =open: the inflater fits, the file it would inflate into then does not
#
# While the device runs, the simulator keeps as little of its own in the heap as a board would: this
# script, the flash (blockdev.py; a board's flash driver is C) and the board's hooks (simboard.py, and
# simfail.py for ALOFT_SIM_FAIL_ON); simsetup.py, which sets them up, is unloaded first. An ESP32 also keeps
# espflash.py, esp32.py, espverify.py (set_boot's check) and simsys.py: about 15 KB more on the 64-bit port.
import os
import sys


def _run(path, g):
    # Like pyexec_file on a board: a missing file is skipped, an exception is printed.
    try:
        os.stat(path)
    except OSError:
        return True
    try:
        execfile(path, g)
    except SystemExit:  # sys.exit() in the application: it finished
        pass
    except Exception as e:
        sys.print_exception(e)
        return False
    return True


def main():
    if len(sys.argv) != 2:
        print("usage: run.py IMAGE", file=sys.stderr)
        return 1
    import simsetup

    bd, code = simsetup.start(sys.argv[1])
    del sys.modules["simsetup"]
    simsetup = None
    if bd is None:
        return 1
    g = {"__name__": "__main__"}
    try:
        if code is not None:  # the ESP32 did not get to boot.py
            return code
        _run("/boot.py", g)  # a failing boot.py does not stop main.py on a board either
        if not _run("/main.py", g):
            return 1
        aloft = sys.modules.get("aloft")
        result = aloft.last_result() if aloft else None
        if result == "none":
            return 0
        print("sim: last check result: %s" % result)
        return 2
    except sys.modules["aloft_board"].Reset:
        return 75
    finally:
        if code is None:
            os.umount("/")
        bd.close()
        report = getattr(bd, "report", None)  # a flash that counts (simcut.py, espflash.py) says what it counted
        if report:
            report()


sys.exit(main())
