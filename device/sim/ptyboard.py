#!/usr/bin/env python3
"""A MicroPython board on a pseudo-terminal, for testing what talks to boards over a serial port (mpremote):
the unix port's REPL with IMAGE, a LittleFS flash image (flashtool.py), mounted as its root. CPython.

    python3 ptyboard.py IMAGE [--micropython PATH] [--mode micropython|busy|other] [--fat] [--baud N]

prints "port /dev/pts/N" once the board answers, then relays bytes between that port and the unix port until it
is killed (SIGTERM, or SIGKILL: a cable pulled). Stopping it lets go of the image; boot the image afterwards with
`micropython run.py IMAGE` (or `aloft sim run`) like any simulated board.

The unix port has no soft reset: a Ctrl-D in the raw REPL with nothing to run ends it. The board then says
"soft reboot", starts it again (the image mounted afresh) and puts it back in the raw REPL, as a board does.
--mode busy: a program runs that catches Ctrl-C and never gives the REPL back (a board running an application
that does that); --mode other: whatever is sent, the answer is not MicroPython's (a modem, the wrong port).
--fat: IMAGE holds a FAT file system instead (formatted here when it holds neither), as on some ports' boards.
--baud N: bytes go at most N/10 a second each way, like a UART (115200: 11.5 KB/s).
"""

import argparse
import os
import time
import pty
import select
import signal
import subprocess
import sys
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
# What the unix port runs before its REPL: the image at / (like run.py, without the agent's board hooks).
START = """
import os, sys
sys.path.insert(0, %r)
from blockdev import FileBlockDev
_bd = FileBlockDev(%r)
if %r:
    try:
        os.mount(os.VfsFat(_bd), "/")
    except OSError:
        os.VfsFat.mkfs(_bd)
        os.mount(os.VfsFat(_bd), "/")
else:
    os.mount(os.VfsLfs2(_bd, progsize=_bd.progsize), "/")
os.chdir("/")
sys.path[:] = ["", "/lib"]
del FileBlockDev, _bd
"""
BUSY = """
import time
while True:
    try:
        print("sensor reading 21.5")
        time.sleep(0.2)
    except KeyboardInterrupt:
        pass
"""


def spawn(micropython, mode, image, start):
    """The unix port on a pty of its own: (process, master fd)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    args = [micropython, "-i", start] if mode == "micropython" else [micropython, "-c", BUSY]
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
    os.close(slave)
    return process, master


def main():
    ap = argparse.ArgumentParser(description="A MicroPython board on a pseudo-terminal.")
    ap.add_argument("image")
    ap.add_argument("--micropython", default=os.environ.get("ALOFT_MICROPYTHON") or os.path.join(HERE, "..", "..", ".venv", "bin", "micropython"))
    ap.add_argument("--mode", choices=("micropython", "busy", "other"), default="micropython")
    ap.add_argument("--fat", action="store_true")
    ap.add_argument("--baud", type=int, default=0)
    a = ap.parse_args()
    if not os.path.exists(a.image):
        sys.exit("ptyboard: no image %s" % a.image)
    start = "%s.repl.py" % os.path.abspath(a.image)
    with open(start, "w") as f:
        f.write(START % (HERE, os.path.abspath(a.image), a.fat))

    port_master, port_slave = pty.openpty()
    tty.setraw(port_slave)  # bytes as they are: no "\n" -> "\r\n", no echo, no signals
    # port_slave stays open here, so the port lives on between two programs that open it
    child = None
    board = None
    if a.mode != "other":
        child, board = spawn(a.micropython, a.mode, a.image, start)

    def stop(*_):
        if child and child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        try:
            os.remove(start)
        except OSError:
            pass
        os._exit(0)

    # whoever started us may have blocked signals (a parent's mask is inherited): take SIGTERM and SIGINT again
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("port %s" % os.ttyname(port_slave), flush=True)
    raw = False  # whether the client last asked for the raw REPL (Ctrl-A) rather than left it (Ctrl-B)
    chunk = max(a.baud // 100, 16) if a.baud else 4096  # with --baud: 10 ms worth at a time

    def send(fd, data):
        for i in range(0, len(data), chunk):
            os.write(fd, data[i : i + chunk])
            if a.baud:
                time.sleep(len(data[i : i + chunk]) * 10 / a.baud)

    while True:
        fds = [port_master] + ([board] if board is not None else [])
        ready, _, _ = select.select(fds, [], [], 0.2)
        if port_master in ready:
            data = os.read(port_master, chunk)
            for b in data:
                if b == 1:
                    raw = True
                elif b == 2:
                    raw = False
            if a.mode == "other":
                os.write(port_master, b"\r\nAT+OK ERROR 0x%02x\r\n" % data[0])
            elif board is not None:
                send(board, data)
        if board is not None and board in ready:
            try:
                data = os.read(board, chunk)
            except OSError:  # the unix port ended: its pty is gone
                data = b""
            if data:
                send(port_master, data)
        if child is not None and child.poll() is not None:  # a soft reset: start it again, in the raw REPL if it was
            os.close(board)
            os.write(port_master, b"MPY: soft reboot\r\n")
            child, board = spawn(a.micropython, a.mode, a.image, start)
            if raw:
                os.write(board, b"\r\x01")


if __name__ == "__main__":
    main()
