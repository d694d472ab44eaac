# What the agent needs from the board. Ports or the simulator replace these by assigning the
# module attributes (aloft.board.reset = ...); machine is imported only when used.


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
    return st[1] * st[4]  # f_frsize * f_bavail


def battery():
    # Charge in percent (0-100), or None on a board without a battery gauge. With "min_battery"
    # in config.json, an update waits while the charge is below it.
    return None
