# A flash chip in a file, for os.VfsLfs2: 4096-byte blocks, extended block protocol (offsets).
# Each write reaches the file before writeblocks returns, so killing the process behaves like a
# power cut: what LittleFS committed survives, the rest was never acknowledged.
# simcut.py's CuttingBlockDev also pulls the power.
from micropython import const

BLOCK_SIZE = const(4096)
# A board whose port mounts LittleFS with other sizes than the esp32 port's defaults (read/prog 32) says so in one
# more block after its filesystem (flashtool.py mkfs --progsize): rp2's `_boot.py` mounts with progsize=256, so files
# up to 512 bytes stay inline and every open file takes 1 KiB of heap (docs/device.md, "Simulated boards").
TRAILER = b"aloft-sim-lfs progsize="


class FileBlockDev:
    # Only what LittleFS calls, while a device runs: each method takes RAM (~200 bytes on the 64-bit unix port)
    # that a board's flash driver, in C, does not.
    def __init__(self, path):
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.blocks = self.f.tell() // BLOCK_SIZE
        self.progsize = 32
        if self.blocks:
            self.f.seek((self.blocks - 1) * BLOCK_SIZE)
            tail = self.f.read(len(TRAILER) + 4)
            if tail.startswith(TRAILER):
                self.blocks -= 1
                self.progsize = int(tail[len(TRAILER) :].split(b"\n")[0])
        self.erased = b"\xff" * 64  # allocated once, and small: so is the simulated device's heap
        self.close = self.f.close

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * BLOCK_SIZE + offset)
        if self.f.readinto(buf) != len(buf):
            raise OSError(5)  # EIO: read past the end of the image

    def writeblocks(self, block, buf, offset=None):
        self.f.seek(block * BLOCK_SIZE + (offset or 0))
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return BLOCK_SIZE
        if op == 6:  # erase: flash reads 0xff after it
            self.f.seek(arg * BLOCK_SIZE)
            for _ in range(BLOCK_SIZE // 64):
                self.f.write(self.erased)
            self.f.flush()
        elif op == 3:  # sync
            self.f.flush()
        return 0  # init, deinit, erase, sync

