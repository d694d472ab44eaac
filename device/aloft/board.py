# What the agent needs from the board. A board provides its own versions in an optional module
# aloft_board (/lib/aloft_board.py, or frozen): any of the functions below, and a dict "config"
# whose keys win over config.json (config.py). It lives outside lib/aloft, so an update of the
# agent keeps it, and it is in place before boot.py's check. Tests may also assign these module
# attributes (aloft.board.reset = ...). machine is imported only when used.


def reset():
    import machine

    machine.reset()


def board_name():
    # "ESP32_GENERIC", "RPI_PICO_W", ...: the board a firmware was built for (MicroPython >= 1.22).
    import os
    import sys

    return getattr(sys.implementation, "_build", None) or os.uname().machine


def unique_id():
    # The id a generic image enrolls with (docs/protocol.md, "Enrollment"): "mp-" and the chip's
    # unique id in hex. Only called while the device is not enrolled yet.
    import machine
    from binascii import hexlify

    return "mp-" + hexlify(machine.unique_id()).decode()


def free_bytes():
    import os

    st = os.statvfs("/")
    # f_frsize * f_bavail. On a LittleFS that is full, or nearly, the count of blocks in use can pass the total
    # and f_bavail wraps around to a huge number: then nothing is free.
    return st[1] * st[4] if st[4] <= st[2] else 0


def battery():
    # Charge in percent (0-100), or None on a board without a battery gauge. With "min_battery"
    # in config.json, an update waits while the charge is below it.
    return None


# The board's hooks, at import (module-level code: nothing of it stays in RAM afterwards).
try:
    import aloft_board

    for _name in ("reset", "board_name", "unique_id", "free_bytes", "battery"):
        if hasattr(aloft_board, _name):
            globals()[_name] = getattr(aloft_board, _name)
    del aloft_board, _name
except ImportError:
    pass
except Exception as e:  # a broken hook module must not take the agent down with it
    print("aloft: aloft_board ignored: %r" % (e,))
