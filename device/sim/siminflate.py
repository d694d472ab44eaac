# ALOFT_SIM_NO_RAM_TO_INFLATE (run.py): this board has no RAM for an inflater. It stands in for the deflate module.
# =1: DeflateIO raises MemoryError at its first read, where the real one allocates its state and window.
# =fill: the real inflater, with the heap full: its first read takes every free block first (giving them back
# after), so the real one's allocation fails as on a board whose heap is that full.
# =open: the real inflater fits, but then the file it inflates into does not: the first open() after an inflater's
# first read raises MemoryError, where a board allocates the file's buffer. Loaded only then.
# It is a download's inflater that lacks RAM: one over a file (a deflated module of the agent's pack, which
# aloft/__init__.py inflates as it imports it, at the boot and between a check's stages) is the real one.
import builtins
import deflate
import os

AUTO, RAW, ZLIB, GZIP = deflate.AUTO, deflate.RAW, deflate.ZLIB, deflate.GZIP
_MODE = os.getenv("ALOFT_SIM_NO_RAM_TO_INFLATE")
_open = open
_armed = False


def _opening(*args):
    global _armed
    if _armed:
        _armed = False
        raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE=open)")
    return _open(*args)


def _fill():
    # Every free block of the heap, largest first, in a list made before (appending could not grow it).
    import gc

    gc.collect()
    held = [None] * 2048
    i = 0
    size = 1 << 20
    while size >= 16 and i < len(held):
        try:
            held[i] = bytearray(size)
            i += 1
        except MemoryError:
            size //= 2
    return held


def DeflateIO(stream, format=AUTO, wbits=0, close=False):
    if hasattr(stream, "seek"):  # a file, not a socket
        return deflate.DeflateIO(stream, format, wbits, close)
    return _Download(stream, format, wbits, close)


class _Download:
    def __init__(self, stream, format=AUTO, wbits=0, close=False):
        self.real = None if _MODE == "1" else deflate.DeflateIO(stream, format, wbits, close)
        self.fresh = True

    def readinto(self, buf, n=None):
        global _armed
        if self.real is None:
            raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE)")
        fresh, self.fresh = self.fresh, False
        held = _fill() if fresh and _MODE == "fill" else None
        try:
            n = self.real.readinto(buf) if n is None else self.real.readinto(buf, n)
        except MemoryError:
            if held:
                held = None  # the heap back before anything prints
                print("sim: the real inflater's first read found the heap full")
            raise
        held = None
        _armed = fresh and _MODE == "open"
        return n

    def read(self, n=-1):
        if self.real is None:
            raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE)")
        return self.real.read(n)


if _MODE == "open":
    builtins.open = _opening
