# ALOFT_SIM_NO_RAM_TO_INFLATE=1 (run.py): this board never has the RAM for an inflater. It stands in for the
# deflate module: DeflateIO raises MemoryError at its first read, where the real one allocates its state and
# window. Loaded only then.
import deflate

AUTO, RAW, ZLIB, GZIP = deflate.AUTO, deflate.RAW, deflate.ZLIB, deflate.GZIP


class DeflateIO:
    def __init__(self, stream, format=AUTO, wbits=0, close=False):
        pass

    def readinto(self, buf, n=None):
        raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE)")

    def read(self, n=-1):
        raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_TO_INFLATE)")
