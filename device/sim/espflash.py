# The simulated ESP32's flash chip: the whole flash of a board in one file, with NOR rules on every operation, as
# spi_flash does them (and as ESP-IDF's Linux emulator, components/esp_partition/partition_linux.c, models them):
# an erase clears whole 4 KiB sectors to 0xFF, aligned; a write can only clear bits, so what the flash holds after
# it is old AND new. A write that would set a bit (0 -> 1) is not refused (the chip does not know), it is counted
# and said: "sim: NOR violation at 0x...", so a test sees a write to flash that was not erased.
#
# Every operation (each sector erased, each write) is counted, by everything in the process: the bootloader, the
# esp32 module's partitions, LittleFS on the vfs partition. With ALOFT_SIM_CUT_AFTER_WRITES=N the N-th is torn (an
# erase clears only the first T KiB of its sector, a write writes only the first T quarters of its bytes: T is
# ALOFT_SIM_CUT_TEAR, by default N mod 4; T=0 cuts just before the operation) and the
# process is SIGKILLed at once, as simcut.py does on the plain flash: a power cut.
#
# A board's flash driver is C: this holds one 64-byte scratch buffer and allocates nothing per operation. Each
# operation reaches the file (the unix port's files are unbuffered: one write(2) each) before it returns, so a
# SIGKILL loses nothing done; no flush, which is an fsync there (3 ms each) and protects only from a host crash.
from micropython import const
import micropython

_SECTOR = const(4096)
_SCRATCH = const(64)


@micropython.viper
def _and(old: ptr8, new: ptr8, at: int, n: int) -> int:
    # old[i] &= new[at + i] for i < n; the count of bytes where new had a bit that old had not.
    bad = 0
    for i in range(n):
        o = old[i]
        b = new[at + i]
        if b & ~o & 0xFF:
            bad += 1
        old[i] = o & b
    return bad


class Flash:
    def __init__(self, path, cut=None, tear=None):
        """The flash in the file at path. cut: None, no counting; 0, count only; N, a power cut at operation N, of which
        tear quarters are done (0: none, the cut falls just before it; by default N mod 4)."""
        self.f = open(path, "r+b")
        self.size = self.f.seek(0, 2)
        self.ops = 0
        self.cut = cut
        self.tear = (cut or 0) % 4 if tear is None else tear
        self.violations = 0
        self.s = bytearray(_SCRATCH)

    def read(self, addr, buf):
        self.f.seek(addr)
        if addr + len(buf) > self.size or self.f.readinto(buf) != len(buf):
            raise OSError(5)  # EIO: past the end of the chip

    def write(self, addr, buf, n=-1):
        """Program the first n bytes of buf (all by default) at addr: old AND new."""
        n = len(buf) if n < 0 else n
        if addr + n > self.size:
            raise OSError(5)
        self.ops += 1
        if self.ops == self.cut:
            n = n * self.tear // 4
        s = self.s
        f = self.f
        i = 0
        bad = 0
        first = 0
        while i < n:
            k = n - i if n - i < _SCRATCH else _SCRATCH
            f.seek(addr + i)
            f.readinto(s, k)
            was = bad
            bad += _and(s, buf, i, k)
            if bad and not was:
                first = addr + i
            f.seek(addr + i)
            f.write(s, k)
            i += k
        if bad:
            self.violations += bad
            print("sim: NOR violation at 0x%x (%d bytes had bits to set)" % (first, bad))
        if self.ops == self.cut:
            self.power_cut()

    def erase(self, addr):
        """Erase the 4 KiB sector at addr (aligned)."""
        if addr % _SECTOR or addr + _SECTOR > self.size:
            raise OSError(22)  # EINVAL: spi_flash erases whole sectors only
        self.ops += 1
        n = _SECTOR if self.ops != self.cut else 1024 * self.tear
        s = self.s
        for i in range(_SCRATCH):
            s[i] = 0xFF
        self.f.seek(addr)
        for _ in range(n // _SCRATCH):
            self.f.write(s)
        if self.ops == self.cut:
            self.power_cut()

    def power_cut(self):
        import os

        print("sim: power cut at flash operation %d" % self.cut)
        os.system("kill -9 $PPID")
        while True:  # the signal is on its way
            pass

    def close(self):
        self.f.close()

    def report(self):
        # run.py, at the end of a boot: the NOR violations seen, and the operations counted when counting
        if self.violations:
            print("sim: %d NOR violations" % self.violations)
        if self.cut is not None:
            print("sim: %d flash operations" % self.ops)
