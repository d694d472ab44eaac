# The board's firmware slots (ESP32, docs/firmware.md): what MicroPython's esp32.Partition gives, and what it does
# not and the agent reads itself (esp32_partition.c has no app state, research R1.1): the otadata entries, ESP-IDF's
# boot-state record (R1.6), and an app image's header and length (R1.5). Loaded by the firmware steps only.
import struct
import esp32
from micropython import const

_UNSET = const(0xFFFFFFFF)
PENDING = const(1)  # ESP_OTA_IMG_PENDING_VERIFY: on trial; the bootloader aborts it at the next reset
VALID = const(2)
_INVALID = const(3)
_ABORTED = const(4)


_CHIPS = ((0, "esp32"), (2, "esp32s2"), (5, "esp32c3"), (9, "esp32s3"), (12, "esp32c2"), (13, "esp32c6"), (16, "esp32h2"), (18, "esp32p4"), (23, "esp32c5"))


def chip_name(cid):
    # The chip an image header's chip id names (esp_app_format.h esp_chip_id_t), as esptool names it.
    for i, name in _CHIPS:
        if i == cid:
            return name
    return None


def running():
    return esp32.Partition(esp32.Partition.RUNNING)


def label(p):
    return p.info()[4]


def by_label(name):
    return esp32.Partition(name)


def index(p):
    # The OTA slot number of an app partition (ota_0 is 0), None for factory.
    sub = p.info()[1]
    return sub - 0x10 if 0x10 <= sub < 0x20 else None


def count():
    # How many OTA slots the table has (esp_ota_get_app_partition_count).
    return sum(1 for p in esp32.Partition.find(esp32.Partition.TYPE_APP) if index(p) is not None)


def entries(buf):
    # The two otadata entries as [seq, state, valid], or None without otadata (a factory-only table). valid is the
    # bootloader's rule (bootloader_common_ota_select_valid): seq set, crc over it right, state not INVALID/ABORTED.
    from binascii import crc32

    d = esp32.Partition.find(esp32.Partition.TYPE_DATA, 0)  # ESP_PARTITION_SUBTYPE_DATA_OTA
    if not d:
        return None
    out = []
    mv = memoryview(buf)[:32]
    for i in range(2):
        d[0].readblocks(i, mv)
        seq, state, crc = struct.unpack_from("<I", mv, 0)[0], struct.unpack_from("<I", mv, 24)[0], struct.unpack_from("<I", mv, 28)[0]
        ok = seq != _UNSET and crc == crc32(mv[:4], 0xFFFFFFFF) and state not in (_INVALID, _ABORTED)
        out.append([seq, state, ok])
    return out


def active(e):
    # The entry the bootloader selects (valid, highest seq; entry 0 on a tie), or None.
    if e is None:
        return None
    a = [x for x in e if x[2]]
    return max(a, key=lambda x: x[0]) if a else None


def state_of(p, buf):
    # The otadata state of the entry that selects slot p when it is the active one, else None (p is not what the
    # bootloader selected: a fallback, or the other slot).
    e = active(entries(buf))
    i = index(p)
    if e is None or i is None or (e[0] - 1) % count() != i:
        return None
    return e[1]


def aborted(p, than, buf):
    # Whether otadata holds an entry for slot p, newer than seq than, that the bootloader aborted or was marked invalid:
    # how a rollback leaves it (a trial entry never confirmed is rewritten ABORTED at the next boot).
    i = index(p)
    for seq, st, _ in entries(buf) or ():
        if seq != _UNSET and seq > than and (seq - 1) % count() == i and st in (_INVALID, _ABORTED):
            return True
    return False


def seq_of(p, buf):
    # The highest valid seq that selects slot p, 0 when none does.
    i = index(p)
    best = 0
    for seq, _, ok in entries(buf) or ():
        if ok and (seq - 1) % count() == i and seq > best:
            best = seq
    return best


def header(p, buf):
    # The first 0x28 bytes of the image in slot p, read into buf (a bytearray of at least 40 bytes).
    mv = memoryview(buf)[:0x28]
    p.readblocks(0, mv, 0)
    return mv


def chip(p, buf):
    # The chip id in the header of the image in slot p.
    h = header(p, buf)
    return h[12] | h[13] << 8


def length(p, buf):
    # The length of the image in slot p, from its segment headers: the segments, the checksum padded to 16, and the
    # appended SHA-256 (R1.5). ValueError when it does not fit the slot.
    size = p.info()[3]
    mv = memoryview(buf)[:8]
    p.readblocks(0, mv, 0)
    n = mv[1]
    p.readblocks(0, mv, 16)
    hashed = mv[7] == 1  # byte 23: hash_appended
    pos = 24
    for _ in range(n):
        if pos + 8 > size:
            raise ValueError("image runs past its slot")
        p.readblocks(0, mv, pos)
        pos += 8 + struct.unpack_from("<I", mv, 4)[0]
    pos = (pos + 16) & ~15
    if hashed:
        pos += 32
    if pos > size:
        raise ValueError("image runs past its slot")
    return pos


def digest(p, size, buf, tail=None):
    # SHA-256 of the first size bytes of slot p through buf; with tail, also whether the image's appended SHA-256 (its
    # last 32 bytes) is that of the bytes before it: (digest, tail_ok).
    from hashlib import sha256

    h = sha256()
    t = sha256() if tail else None
    mv = memoryview(buf)
    full = len(buf)
    pos = 0
    while pos < size:
        k = min(full, size - pos)
        chunk = mv if k == full else mv[:k]
        p.readblocks(0, chunk, pos)  # an offset is a plain byte offset: esp_partition_read at block * size + offset
        h.update(chunk)
        if t:
            body = size - 32 - pos  # bytes of this chunk before the appended hash
            if body > 0:
                t.update(chunk if body >= k else chunk[:body])
        pos += k
    if not tail:
        return h.digest()
    mv32 = memoryview(buf)[:32]
    p.readblocks(0, mv32, size - 32)
    return h.digest(), t.digest() == bytes(mv32)
