# ALOFT_SIM_NO_RAM_TO_INFLATE (run.py): this board has no RAM for an inflater. It stands in for the deflate module.
# =1: DeflateIO raises MemoryError at its first read, where the real one allocates its state and window.
# =open: the real inflater fits, but then the file it inflates into does not: the first open() after an inflater's
# first read raises MemoryError, where a board allocates the file's buffer. Loaded only then.
import builtins
import deflate
import os

AUTO, RAW, ZLIB, GZIP = deflate.AUTO, deflate.RAW, deflate.ZLIB, deflate.GZIP
_OPEN = os.getenv("ALOFT_SIM_NO_RAM_TO_INFLATE") == "open"
_open = open
_armed = False


def _opening(*args):
    global _armed
    if _armed:
        _armed = False
        raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE=open)")
    return _open(*args)


class DeflateIO:
    def __init__(self, stream, format=AUTO, wbits=0, close=False):
        self.real = deflate.DeflateIO(stream, format, wbits, close) if _OPEN else None
        self.fresh = True

    def readinto(self, buf, n=None):
        global _armed
        if self.real is None:
            raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE)")
        _armed = self.fresh
        self.fresh = False
        return self.real.readinto(buf) if n is None else self.real.readinto(buf, n)

    def read(self, n=-1):
        if self.real is None:
            raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE)")
        return self.real.read(n)


if _OPEN:
    builtins.open = _opening
