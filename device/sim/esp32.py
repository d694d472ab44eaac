# The esp32 module of a simulated ESP32 board: esp32.Partition as MicroPython's ports/esp32/esp32_partition.c has it
# (research R1.1), over the ESP-IDF calls it makes (components/app_update/esp_ota_ops.c, esp_partition), on the
# board's flash (espflash.Flash). espboot.py, the bootloader, sets it up at every start and puts it in sys.modules
# as esp32; it stays in RAM for the whole run, as the C module's data would (its code is in flash on a board).
#
# Errors as check_esp_err raises them (ports/esp32/mphalport.c): OSError(-code, name), ESP_FAIL as OSError(1).
# Writing or erasing the running slot is an agent bug the simulator stops at once: "sim: write to the running slot",
# and the process ends with SIGUSR1 (exit status 138 from a shell), before anything reaches the flash.
import struct
from micropython import const

_SEC = const(4096)  # SPI_FLASH_SEC_SIZE, NATIVE_BLOCK_SIZE_BYTES
_UNSET = const(0xFFFFFFFF)
_VALID = const(2)

# What the bootloader (espboot.py) found: the flash, the partition table (label, type, subtype, address, size),
# the chip (espverify.CHIPS value), the app partition it booted, and whether that firmware was built with
# CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (its record's "rollback"): set_boot() then writes NEW, else UNDEFINED.
flash = None
table = ()
chip = None
running = None
rollback = True


def _err(code, name):
    raise OSError(-code, name)


def _range(p, off, n):
    # esp_partition_read/write/erase_range bounds
    if off > p[4]:
        _err(0x102, "ESP_ERR_INVALID_ARG")
    if off + n > p[4]:
        _err(0x104, "ESP_ERR_INVALID_SIZE")


def _guard(p):
    if p is running:
        import os

        print("sim: write to the running slot %s" % p[0])
        os.system("kill -USR1 $PPID")
        while True:
            pass


def read(p, off, buf):
    """esp_partition_read"""
    _range(p, off, len(buf))
    flash.read(p[3] + off, buf)


def write(p, off, buf):
    """esp_partition_write"""
    _range(p, off, len(buf))
    _guard(p)
    flash.write(p[3] + off, buf)


def erase(p, off, n):
    """esp_partition_erase_range: whole sectors only"""
    _range(p, off, n)
    if n % _SEC:
        _err(0x104, "ESP_ERR_INVALID_SIZE")
    if off % _SEC:
        _err(0x102, "ESP_ERR_INVALID_ARG")
    _guard(p)
    for a in range(p[3] + off, p[3] + off + n, _SEC):
        flash.erase(a)


def find(typ, sub=0xFF, label=None):
    """esp_partition_find: the entries of a type (subtype 0xFF: any), in table order"""
    return [p for p in table if p[1] == typ and (sub == 0xFF or p[2] == sub) and (label is None or p[0] == label)]


def slots():
    """The OTA app partitions ota_0, ota_1, ... as esp_ota_get_app_partition_count counts them (consecutive)."""
    out = []
    while True:
        p = find(0, 0x10 + len(out))
        if not p:
            return out
        out.append(p[0])


# otadata (esp_flash_partitions.h esp_ota_select_entry_t <I20sII: seq, label, state, crc;
# bootloader_common_loader.c): crc = crc32_le(UINT32_MAX, &seq, 4), binascii.crc32's CPython semantics.
def crc(seq):
    from binascii import crc32

    return crc32(struct.pack("<I", seq), 0xFFFFFFFF)


def otadata():
    """read_otadata: (the otadata partition, [entry 0, entry 1] as [seq, label, state, crc]), or (None, None)."""
    p = find(1, 0)
    if not p:
        return None, None
    b = bytearray(32)
    e = []
    for i in range(2):
        flash.read(p[0][3] + i * _SEC, b)
        e.append(list(struct.unpack("<I20sII", b)))
    return p[0], e


def valid(e):
    # bootloader_common_ota_select_valid
    return e[0] != _UNSET and e[3] == crc(e[0]) and e[2] not in (3, 4)


def invalid(e):
    # bootloader_common_ota_select_invalid (no CRC check: an entry with a bad CRC is neither valid nor invalid)
    return e[0] == _UNSET or e[2] in (3, 4)


def active(e):
    # bootloader_common_get_active_otadata: the valid entry with the highest seq (entry 0 on a tie), or -1
    if valid(e[0]) and valid(e[1]):
        return 0 if e[0][0] >= e[1][0] else 1
    return 0 if valid(e[0]) else 1 if valid(e[1]) else -1


def rewrite(p, e, seq, i, state):
    """rewrite_ota_seq: erase sector i of otadata, write entry i (its label as it was) with seq and state."""
    e[i][0] = seq
    e[i][2] = state
    e[i][3] = crc(seq)
    erase(p, i * _SEC, _SEC)
    write(p, i * _SEC, struct.pack("<I20sII", *e[i]))


def boot_partition():
    """esp_ota_get_boot_partition"""
    p, e = otadata()
    if p is None:
        return None
    n = len(slots())
    if invalid(e[0]) and invalid(e[1]) or n == 0:
        return _default()
    a = active(e)
    if a < 0:
        return _default()
    return find(0, 0x10 + (e[a][0] - 1) % n)[0]


def _default():
    # find_default_boot_partition: factory, else the first OTA slot, else the test app
    for sub in [0] + list(range(0x10, 0x20)) + [0x20]:
        p = find(0, sub)
        if p:
            return p[0]
    return None


def verify(p, load=False):
    """esp_image_verify of the image at the start of partition p: its length, or ValueError with the reason."""
    import espverify

    return espverify.verify(lambda off, buf: read(p, off, buf), p[4], chip, load)


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=_SEC):
        if isinstance(id, tuple):  # an entry of the table (find, get_next_update)
            p = id
        elif isinstance(id, int):
            if id not in (0, 1):
                raise ValueError
            p = boot_partition() if id == 0 else running
        else:  # a label: apps first, then data
            p = find(0, 0xFF, id) or find(1, 0xFF, id)
            p = p[0] if p else None
        if p is None:
            raise OSError(2)  # ENOENT
        self.p = p
        self.bs = block_size
        self.cache = bytearray(_SEC) if block_size < _SEC else None

    @staticmethod
    def find(type=0, subtype=0xFF, label=None, block_size=_SEC):
        return [Partition(p, block_size) for p in find(type, subtype, label)]

    def info(self):
        p = self.p
        return (p[1], p[2], p[3], p[4], p[0], False)

    def __repr__(self):
        p = self.p
        return "<Partition type=%u, subtype=%u, address=%u, size=%u, label=%s, encrypted=0>" % (p[1], p[2], p[3], p[4], p[0])

    def readblocks(self, n, buf, off=0):
        read(self.p, n * self.bs + off, buf)

    def writeblocks(self, n, buf, off=None):
        p = self.p
        o = n * self.bs
        if off is not None:  # extended: the caller erased first
            write(p, o + off, buf)
            return
        if self.bs >= _SEC:
            erase(p, o, len(buf))
        else:  # read-modify-erase-write through a 4 KiB cache, as esp32_partition.c does
            c = self.cache
            a = o // _SEC * _SEC
            k = o % _SEC
            top = o + len(buf)
            while a < top:
                if k or top < a + _SEC:
                    read(p, a, c)
                erase(p, a, _SEC)
                if k:
                    write(p, a, memoryview(c)[:k])
                if top < a + _SEC:
                    write(p, top, memoryview(c)[top - a :])
                k = 0
                a += _SEC
        write(p, o, buf)

    def ioctl(self, cmd, arg):
        if cmd in (1, 2, 3):  # init, deinit, sync
            return 0
        if cmd == 4:
            return self.p[4] // self.bs
        if cmd == 5:
            return self.bs
        if cmd == 6:
            if self.bs != _SEC:
                return -22  # -EINVAL
            erase(self.p, arg * _SEC, _SEC)
            return 0
        return None

    def set_boot(self):
        # esp_ota_set_boot_partition
        p = self.p
        try:
            verify(p)
        except ValueError as e:
            print("E esp_image: %s" % e)
            _err(0x1503, "ESP_ERR_OTA_VALIDATE_FAILED")
        if p[1] != 0:
            _err(0x102, "ESP_ERR_INVALID_ARG")
        o, e = otadata()
        if p[2] == 0:  # factory: erase otadata
            if o is None:
                _err(0x105, "ESP_ERR_NOT_FOUND")
            erase(o, 0, o[4])
            return
        # esp_rewrite_ota_data (ESP-IDF 2025: a target that is the active slot gets only its state rewritten)
        if o is None:
            _err(0x105, "ESP_ERR_NOT_FOUND")
        n = len(slots())
        slot = p[2] - 0x10
        if slot >= n:
            _err(0x102, "ESP_ERR_INVALID_ARG")
        a = active(e)
        if a < 0:
            i, seq = 0, slot + 1
        elif (e[a][0] - 1) % n == slot:
            i, seq = a, e[a][0]
        else:
            i = 1 - a
            seq = (slot + 1) % n
            while e[a][0] > seq:  # compute_ota_seq_for_target_slot: the smallest such seq >= the active one
                seq += n
        rewrite(o, e, seq, i, 0 if rollback else _UNSET)  # set_new_state_otadata: NEW, or UNDEFINED

    def get_next_update(self):
        # esp_ota_get_next_update_partition(self): the OTA slot after this one, else the first
        s = slots()
        if not s:
            raise OSError(2)  # ENOENT
        for i in range(len(s) - 1):
            if s[i] is self.p:
                return Partition(s[i + 1])
        return Partition(s[0])

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        # esp_ota_current_ota_is_workable(true): marks the ACTIVE entry, whatever is running
        o, e = otadata()
        if o is None:
            _err(0x105, "ESP_ERR_NOT_FOUND")
        a = active(e)
        if a < 0 or not slots():
            raise OSError(1, "ESP_FAIL")  # "Running firmware is factory"
        if e[a][2] != _VALID:
            rewrite(o, e, e[a][0], a, _VALID)
