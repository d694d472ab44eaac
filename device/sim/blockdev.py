# A flash chip in a file, for os.VfsLfs2: 4096-byte blocks, extended block protocol (offsets).
# Each write reaches the file before writeblocks returns, so killing the process behaves like a
# power cut: what LittleFS committed survives, the rest was never acknowledged.
#
# FileBlockDev(path, cut=N) also pulls the power itself: the N-th writeblocks call writes only
# part of its data (a torn write: 0, 1/4, 1/2 or 3/4 of it, by N) and then SIGKILLs the process,
# so no finally block or atexit handler runs. cut=0 only counts the writes.
from micropython import const

BLOCK_SIZE = const(4096)


class FileBlockDev:
    def __init__(self, path, cut=None):
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.blocks = self.f.tell() // BLOCK_SIZE
        self.writes = 0  # writeblocks calls so far
        self.cut = cut  # None: no power cut, and the writes are not reported
        self.erased = b"\xff" * 256  # allocated once: the simulated device's heap is small

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * BLOCK_SIZE + offset)
        if self.f.readinto(buf) != len(buf):
            raise OSError(5)  # EIO: read past the end of the image

    def writeblocks(self, block, buf, offset=None):
        self.writes += 1
        self.f.seek(block * BLOCK_SIZE + (offset or 0))
        if self.writes == self.cut:
            self._power_cut(buf)
        self.f.write(buf)
        self.f.flush()

    def _power_cut(self, buf):
        import os

        self.f.write(memoryview(buf)[: len(buf) * (self.cut % 4) // 4])
        self.f.flush()
        print("sim: power cut at block write %d" % self.cut)
        # The unix port has no getpid(): the shell's parent is this process.
        os.system("kill -9 $PPID")
        while True:  # the signal is on its way
            pass

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return BLOCK_SIZE
        if op == 6:  # erase: flash reads 0xff after it
            self.f.seek(arg * BLOCK_SIZE)
            for _ in range(BLOCK_SIZE // 256):
                self.f.write(self.erased)
            self.f.flush()
            return 0
        if op == 3:  # sync
            self.f.flush()
        return 0  # init, deinit

    def close(self):
        self.f.close()
