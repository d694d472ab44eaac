# ALOFT_SIM_CUT_AFTER_WRITES=N (run.py): the flash of blockdev.py that also pulls the power itself. The N-th
# writeblocks call writes only part of its data (a torn write: 0, 1/4, 1/2 or 3/4 of it, ALOFT_SIM_CUT_TEAR quarters,
# by default N mod 4) and then SIGKILLs
# the process, so no finally block or atexit handler runs. N=0 only counts the writes. Loaded only then.
from blockdev import BLOCK_SIZE, FileBlockDev


class CuttingBlockDev(FileBlockDev):
    # Counts the block writes; the cut-th one is torn and the power goes (cut=0: never, only counted).
    def __init__(self, path, cut):
        import os

        super().__init__(path)
        self.writes = 0
        self.cut = cut
        tear = os.getenv("ALOFT_SIM_CUT_TEAR")  # quarters of the cut write that reach the flash
        self.tear = cut % 4 if tear is None else int(tear)

    def writeblocks(self, block, buf, offset=None):
        self.writes += 1
        if self.writes == self.cut:
            import os

            self.f.seek(block * BLOCK_SIZE + (offset or 0))
            self.f.write(memoryview(buf)[: len(buf) * self.tear // 4])
            self.f.flush()
            print("sim: power cut at block write %d" % self.cut)
            os.system("kill -9 $PPID")
            while True:  # the signal is on its way
                pass
        super().writeblocks(block, buf, offset)

    def report(self):
        print("sim: %d block writes" % self.writes)
