# The board's firmware slots (ESP32, docs/firmware.md): what MicroPython's esp32.Partition gives, and what it does
# not and the agent reads itself (esp32_partition.c has no app state, research R1.1): the otadata entries, ESP-IDF's
# boot-state record (R1.6), and an image's chip. Loaded by a check-in on an ESP32 and by the firmware steps; an image's
# length and hash are in fwimage.py, loaded only when they are needed.
# pack: zlib
import struct
import esp32
from micropython import const
from .config import DIR

FIRMWARE = DIR + "/firmware.json"  # the running firmware: {"slot", "tail", "sha256", "size", "rollback"?, "rejected"?} (fwinfo.py)

UNSET = const(0xFFFFFFFF)
PENDING = const(1)  # ESP_OTA_IMG_PENDING_VERIFY: on trial; the bootloader aborts it at the next reset
VALID = const(2)
INVALID = const(3)
ABORTED = const(4)


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
        ok = seq != UNSET and crc == crc32(mv[:4], 0xFFFFFFFF) and state not in (INVALID, ABORTED)
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


def header(p, buf):
    # The first 0x28 bytes of the image in slot p, read into buf (a bytearray of at least 40 bytes).
    mv = memoryview(buf)[:0x28]
    p.readblocks(0, mv, 0)
    return mv


def chip(p, buf):
    # The chip id in the header of the image in slot p.
    h = header(p, buf)
    return h[12] | h[13] << 8
