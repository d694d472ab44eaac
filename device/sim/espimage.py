# ESP-IDF app images for the simulated ESP32 (docs/firmware.md, "The simulator's ESP32"): built, parsed and verified.
# Runs on CPython 3 and on the MicroPython unix port:
#
#   python3 espimage.py build --chip esp32 --build ESP32_GENERIC-OTA --micropython 1.26.0 [--reports 1.25.0]
#           [--behaviour boots|crash|hang] [--auto-confirm] [--no-rollback] [--size N] [--idf v5.4.1] [--date Y-M-D]
#           [--seed N] [--full-flash] --out FILE
#   python3 espimage.py info FILE [--chip esp32]     what it parsed (and whether esp_image_verify accepts it)
#
# An image is what micropython.org publishes as .app-bin (esptool docs firmware-image-format.rst, ESP-IDF
# app_image_format.rst): a 24-byte header (magic 0xE9, segment count, SPI mode/speed/size, entry, chip id at [12:14],
# chip revisions, hash_appended at [23]), segments (load address, length, data) at the chip's real load addresses,
# zero padding to 15 mod 16, a checksum byte (0xEF XOR every segment data byte) and the SHA-256 of all before it.
# The first segment (DROM, flash-mapped) starts with esp_app_desc_t at file offset 0x20 (magic 0xABCD5432; version
# and project name empty as in MicroPython builds, ports/esp32/boards/sdkconfig.base CONFIG_APP_EXCLUDE_PROJECT_*),
# then the simulator's record at 0x120 (b"ALOFTSIM", u16 LE length, JSON: what the firmware does when it boots),
# then the banner a real build carries in its rodata ("MicroPython v1.26.0 on 2025-01-01; Generic ESP32 module with
# OTA with ESP32", py/mpconfig.h MICROPY_BANNER_*). Flash-mapped segments sit where esptool's elf2image puts them:
# data offset = load address modulo the 64 KiB MMU page (esp_image_format.c verify_segment_header checks it).
# The rest is seeded filler, so a given set of arguments always builds the same bytes.
import struct
from hashlib import sha256

from espchips import CHIPS
from espverify import _xor, verify  # noqa: F401 (verify is part of this module's API)

MAGIC_DESC = 0xABCD5432
RECORD_AT = 0x120  # the simulator's record in an app image: right after esp_app_desc_t
BOOT_RECORD_AT = 0x70  # in a bootloader image: after esp_bootloader_desc_t (80 bytes) at 0x20
TABLE_AT = 0x8000  # CONFIG_PARTITION_TABLE_OFFSET
APP_AT = 0x10000  # the first app partition of every MicroPython table
BEHAVIOURS = ("boots", "crash", "hang")
DEFAULT_SIZE = 196608

# MicroPython's board name and MCU name (py/mpconfig.h: MICROPY_BANNER_MACHINE is "<board> with <mcu>"), from
# ports/esp32/boards/*/mpconfigboard.h and mpconfigvariant_*.cmake; a build not listed uses its own name.
BOARDS = {
    "ESP32_GENERIC": "Generic ESP32 module",
    "ESP32_GENERIC-OTA": "Generic ESP32 module with OTA",
    "ESP32_GENERIC-SPIRAM": "Generic ESP32 module with SPIRAM",
    "ESP32_GENERIC_S2": "Generic ESP32S2 module",
    "ESP32_GENERIC_S3": "Generic ESP32S3 module",
    "ESP32_GENERIC_C3": "ESP32C3 module",
    "ESP32_GENERIC_C6": "ESP32C6 module",
    "ARDUINO_NANO_ESP32": "Arduino Nano ESP32",
}
MCUS = {"esp32": "ESP32", "esp32s2": "ESP32S2", "esp32s3": "ESP32S3", "esp32c2": "ESP32C2", "esp32c3": "ESP32C3",
        "esp32c5": "ESP32C5", "esp32c6": "ESP32C6", "esp32h2": "ESP32H2", "esp32p4": "ESP32P4"}

# Where the app's RAM segments load (DRAM, IRAM), and the bootloader's (its DRAM, loader IRAM, IRAM): inside the
# chip's RAM (espverify.CHIPS); the app's clear of the bootloader's, the bootloader's in its own regions.
APP_RAM = {"esp32": (0x3FFB0000, 0x40080000), "esp32s2": (0x3FFB2000, 0x40024000), "esp32s3": (0x3FC8A000, 0x40374000),
           "esp32c2": (0x3FCA2000, 0x4037C000), "esp32c3": (0x3FC82000, 0x4037C000), "esp32c5": (0x40802000, 0x40820000),
           "esp32c6": (0x40802000, 0x40820000), "esp32h2": (0x40802000, 0x40820000), "esp32p4": (0x4FF02000, 0x4FF20000)}
BOOT_IRAM = {"esp32": 0x40080400, "esp32s3": 0x403B6000}  # iram_seg of bootloader.ld; others: below the loader

# Partition tables (name, type, subtype, offset, size) of the simulated boards, from the CSVs in
# ports/esp32/ (partitions-4MiB-ota.csv, partitions-4MiBplus.csv) and boards/ARDUINO_NANO_ESP32/
# (partitions-app3M_fat9M_fact512k_16MiB.csv); vfs (data, fat) as MicroPython before 1.26 had it in the table
# (1.26+ registers the same region at boot, main.c), which an OTA update never rewrites.
TABLES = {
    "ota": (("nvs", 1, 2, 0x9000, 0x4000), ("otadata", 1, 0, 0xD000, 0x2000), ("phy_init", 1, 1, 0xF000, 0x1000),
            ("ota_0", 0, 0x10, 0x10000, 0x180000), ("ota_1", 0, 0x11, 0x190000, 0x180000), ("vfs", 1, 0x81, 0x310000, 0xF0000)),
    "plus": (("nvs", 1, 2, 0x9000, 0x6000), ("phy_init", 1, 1, 0xF000, 0x1000), ("factory", 0, 0, 0x10000, 0x1F0000),
             ("vfs", 1, 0x81, 0x200000, 0x200000)),
    "nano": (("nvs", 1, 2, 0x9000, 0x5000), ("otadata", 1, 0, 0xE000, 0x2000), ("app0", 0, 0x10, 0x10000, 0x300000),
             ("app1", 0, 0x11, 0x310000, 0x300000), ("ffat", 1, 0x81, 0x610000, 0x960000),
             ("factory", 0, 0, 0xF70000, 0x80000), ("coredump", 1, 3, 0xFF0000, 0x10000)),
}
TABLE_FOR = {"ARDUINO_NANO_ESP32": "nano"}  # else "ota" for an -OTA build, "plus" for the rest
FLASH_MB = {"ARDUINO_NANO_ESP32": 16}  # else 4
_MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec"


class Error(Exception):
    pass


def _version(v, what):
    p = v.split(".")
    if len(p) != 3 or not all(x.isdigit() and 0 < len(x) < 6 for x in p):
        raise Error("%s must be X.Y.Z (digits): %s" % (what, v))
    return tuple(int(x) for x in p)


def _name(s, what):
    if not s or len(s) > 48 or not all(c.isalpha() or c.isdigit() or c in "_-" for c in s):
        raise Error("bad %s: %s" % (what, s))
    return s


def _chip(name):
    if name not in CHIPS:
        raise Error("unknown chip %s (one of %s)" % (name, ", ".join(sorted(CHIPS))))
    return CHIPS[name]


def _json(pairs):
    # The record's JSON, the same bytes on CPython and MicroPython (their json.dumps differ in spacing): fixed key
    # order, values checked to need no escaping.
    out = []
    for k, v in pairs:
        out.append('"%s": %s' % (k, "true" if v is True else "false" if v is False else '"%s"' % v))
    return ("{" + ", ".join(out) + "}").encode()


class _Filler:
    # Seeded filler that compresses about as a real build does (a MicroPython ESP32 app image deflates to about 63% of
    # its size, e.g. esptool's "Wrote 1572864 bytes (… compressed)" lines): SHA-256 in counter mode, deterministic, each
    # 32-byte block either fresh (as incompressible as data) or one of the last 16 blocks again (as code repeats its
    # instruction patterns within a short distance, which a zlib window of 1 KiB still finds).
    def __init__(self, seed):
        self.seed = seed
        self.c = 0
        self.left = b""
        self.recent = []

    def take(self, n):
        out = bytearray(self.left[:n])
        self.left = self.left[n:]
        while len(out) < n:
            d = sha256(self.seed + struct.pack("<I", self.c)).digest()
            self.c += 1
            if d[0] < 112 and self.recent:  # 44%: a block seen just before
                d = self.recent[d[1] % len(self.recent)]
            else:
                self.recent.append(d)
                if len(self.recent) > 16:
                    self.recent.pop(0)
            k = n - len(out)
            out += d[:k]
            self.left = d[k:]
        return out


def _header(chip, nseg, entry, build):
    c = _chip(chip)
    mode, freq = (0, 0xF) if chip == "esp32s3" else (2, 0)  # QIO 80m on S3 boards, DIO 40m on the rest
    size = {4: 0x20, 8: 0x30, 16: 0x40}[FLASH_MB.get(build, 4)]
    # esp_image_header_t: magic, segment_count, spi_mode, spi_speed:4|spi_size:4, entry_addr, wp_pin,
    # spi_pin_drv[3], chip_id, min_chip_rev, min_chip_rev_full, max_chip_rev_full, reserved[4], hash_appended
    return struct.pack("<BBBBIB3sHBHH4sB", 0xE9, nseg, mode, size | freq, entry, 0xEE, b"\0\0\0", c[0], 0, 0, c[9], b"\0" * 4, 1)


def _emit(write, head, segments, filler):
    """Write an image: head (24 bytes), the segments (load address, length, the first bytes of its data; filler
    after them), zero padding to 15 mod 16, the checksum and the appended SHA-256. Returns its length."""
    h = sha256(head)
    write(head)
    n = len(head)
    csum = 0xEF
    for addr, size, first in segments:
        b = struct.pack("<II", addr, size)
        h.update(b)
        write(b)
        left = size
        while left:
            d = first[:left] if first else filler.take(min(left, 4096))
            first = None
            csum = _xor(d, len(d), csum)
            h.update(d)
            write(d)
            left -= len(d)
        n += 8 + size
    tail = bytearray(15 - n % 16)
    tail.append(csum)
    h.update(tail)
    write(tail + h.digest())
    return n + len(tail) + 32


def _collect(fn, *args):
    out = []
    fn(out.append, *args)
    return b"".join(out)


def _cdate(date):
    # __DATE__ and the banner's date from YYYY-MM-DD
    y, m, d = _version(date.replace("-", "."), "date")
    if not (1 <= m <= 12 and 1 <= d <= 31):
        raise Error("bad date: " + date)
    return "%s %2d %d" % (_MONTHS[3 * m - 3 : 3 * m], d, y)


def default_idf(micropython):
    """The ESP-IDF a MicroPython release was built with (its release notes): 1.24-1.25 v5.2.2, 1.26 v5.4.1,
    1.27 and later v5.5.1, older v5.0.4."""
    v = _version(micropython, "micropython")
    return "v5.5.1" if v >= (1, 27, 0) else "v5.4.1" if v >= (1, 26, 0) else "v5.2.2" if v >= (1, 24, 0) else "v5.0.4"


def app(chip="esp32", build="ESP32_GENERIC-OTA", micropython="1.26.0", behaviour="boots", reports=None,
        auto_confirm=False, rollback=None, size=DEFAULT_SIZE, idf=None, date="2025-01-01", seed=0, out=None):
    """The bytes of an app image of size bytes (a multiple of 16) for chip, running MicroPython micropython as build.
    behaviour: what it does when it boots; reports: the version its sys.implementation says instead (a build that
    lies); auto_confirm: it marks itself valid at boot (ARDUINO_NANO_ESP32's board_init.c); rollback: its
    CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, which decides what set_boot() writes (default: on from 1.21, and in -OTA
    builds before; ports/esp32/boards/sdkconfig.base). out: a write function to stream the image to (its length is
    returned then), for images larger than the heap of the MicroPython unix port."""
    c = _chip(chip)
    v = _version(micropython, "micropython")
    _name(build, "build")
    if behaviour not in BEHAVIOURS:
        raise Error("behaviour must be one of " + ", ".join(BEHAVIOURS))
    if reports is not None:
        _version(reports, "reports")
    if rollback is None:
        rollback = v >= (1, 21, 0) or build.endswith("-OTA") or build == "GENERIC_OTA"
    idf = idf or default_idf(micropython)
    if not idf.startswith("v") or len(idf) > 31 or not all(ch.isalpha() or ch.isdigit() or ch in ".-" for ch in idf):
        raise Error("bad IDF version: " + idf)
    pairs = [("micropython", micropython), ("build", build), ("behaviour", behaviour)]
    if reports is not None:
        pairs.append(("reports", reports))
    if auto_confirm:
        pairs.append(("auto_confirm", True))
    pairs.append(("rollback", bool(rollback)))
    record = _json(pairs)
    banner = ("MicroPython v%s on %s; %s with %s\0" % (micropython, date, BOARDS.get(build, build), MCUS[chip])).encode()
    seed = sha256(" ".join((chip, record.decode(), idf, date, str(seed))).encode()).digest()
    # esp_app_desc_t (components/esp_app_format/include/esp_app_desc.h): magic, secure_version, reserv1[2],
    # version[32], project_name[32], time[16], date[16], idf_ver[32], app_elf_sha256[32],
    # min_efuse_blk_rev_full, max_efuse_blk_rev_full, mmu_page_size (log2, IDF 5.3+), reserv3[3], reserv2[18]
    iv = tuple(int(x) for x in idf[1:].split("-")[0].split(".")[:2])
    mmu = 16 if iv >= (5, 3) else 0
    desc = struct.pack("<II8s32s32s16s16s32s32sHHB3s72s", MAGIC_DESC, 0, b"", b"", b"", b"12:00:00", _cdate(date).encode(),
                       idf.encode(), sha256(b"elf" + seed).digest(), 0, 99, mmu, b"", b"")
    head = desc + b"ALOFTSIM" + struct.pack("<H", len(record)) + record + banner
    head += b"\0" * (-len(head) % 4)
    if size is None:
        size = DEFAULT_SIZE
    if size % 16:
        raise Error("size must be a multiple of 16 (an image is padded to 16 bytes)")
    body = size - 36 - 24  # data and segment headers: the footer is 3 bytes of padding, checksum, SHA-256
    dram, iram = APP_RAM[chip]
    if size >= 0x20000:
        # DROM, DRAM, IRAM, IROM as elf2image lays them out: the RAM segments fill the gap up to the IROM data,
        # which must start at its load address modulo 64 KiB (0x20 here, like real builds: 0x400d0020).
        a = max(len(head), (size // 5) & ~3)
        b = min(0x3000, (body - a) // 4) & ~3
        cc = (0x20 - 24 - 4 * 8 - a - b) % 0x10000
        d = body - 4 * 8 - a - b - cc
        if d < 4:
            raise Error("size too small")
        lens = (a, b, cc, d)
        irom = c[3][0] + 0x20
        addrs = (c[2][0] + 0x20, dram, iram, irom)
    else:
        a = len(head)
        rest = body - 3 * 8 - a
        if rest < 8:
            raise Error("size must be at least %d" % (size - rest + 8 + 15 & ~15))
        b = rest // 8 * 4
        lens = (a, b, rest - b)
        addrs = (c[2][0] + 0x20, dram, iram)
    segs = [(addrs[i], n, head if i == 0 else None) for i, n in enumerate(lens)]
    entry = iram + 0x400 if lens[2] > 0x400 else iram
    if out is None:
        return _collect(_emit, _header(chip, len(segs), entry, build), segs, _Filler(seed))
    return _emit(out, _header(chip, len(segs), entry, build), segs, _Filler(seed))


def bootloader(chip="esp32", settings=None, idf="v5.4.1", build="ESP32_GENERIC"):
    """A second-stage bootloader image: its segments in the bootloader's own RAM, esp_bootloader_desc_t at 0x20
    (magic byte 0x50, esp_bootloader_desc.h), the simulator's bootloader settings (a dict, e.g. {"rollback": True})
    as its record at 0x70."""
    c = _chip(chip)
    rec = _json(sorted((k, v) for k, v in (settings or {}).items()))
    # esp_bootloader_desc_t: magic_byte, reserved[3], version, idf_ver[32], date_time[24], reserved2[16]
    desc = struct.pack("<B3sI32s24s16s", 0x50, b"", 1, idf.encode(), b"Jan  1 2025 12:00:00", b"")
    d0 = desc + b"ALOFTSIM" + struct.pack("<H", len(rec)) + rec
    d0 += b"\0" * (-len(d0) % 4)
    loader = c[7][0]
    iram = BOOT_IRAM.get(chip, loader - 0x4000)
    segs = [(c[6][0], len(d0), d0), (loader, 0x3000, None), (iram, 0x400, None)]
    return _collect(_emit, _header(chip, 3, iram, build), segs, _Filler(sha256(b"bootloader " + chip.encode() + rec).digest()))


def partition_table(entries):
    """The ESP-IDF binary partition table (gen_esp32part.py): 32-byte entries <2sBBII16sI (magic AA 50, type,
    subtype, offset, size, label, flags), an MD5 entry (EB EB, 14 x FF, the MD5 of the entries), 0xFF to 0xC00."""
    import hashlib

    out = bytearray()
    for name, typ, sub, off, size in entries:
        out += struct.pack("<2sBBII16sI", b"\xaa\x50", typ, sub, off, size, name.encode(), 0)
    out += b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(out).digest()
    out += b"\xff" * (0xC00 - len(out))
    return bytes(out)


def parse_table(data):
    """(name, type, subtype, offset, size) of each entry of a binary partition table; Error when the MD5 entry is
    missing or does not match."""
    import hashlib

    out = []
    for i in range(0, min(len(data), 0xC00), 32):
        e = data[i : i + 32]
        if e[:2] == b"\xaa\x50":
            magic, typ, sub, off, size, name, flags = struct.unpack("<2sBBII16sI", e)
            out.append((name.rstrip(b"\0").decode(), typ, sub, off, size))
        elif e[:2] == b"\xeb\xeb":
            if e[16:] != hashlib.md5(data[:i]).digest():
                raise Error("partition table MD5 mismatch")
            return out
        else:
            break
    raise Error("partition table has no MD5 entry")


def table_for(build):
    return TABLES[TABLE_FOR.get(build) or ("ota" if build.endswith("-OTA") else "plus")]


def full_flash(chip, app_image=b"", build="ESP32_GENERIC-OTA", settings=None):
    """What a MicroPython build publishes as firmware.bin (ports/esp32/makeimg.py): the bootloader at offset 0 (its
    flash offset: 0x1000 on esp32 and esp32s2, 0 on s3/c2/c3/c6/h2, 0x2000 on c5/p4), the partition table at
    0x8000 - offset, app_image at 0x10000 - offset, 0xFF between."""
    off = _chip(chip)[1]
    out = bytearray(bootloader(chip, settings, build=build))
    out += b"\xff" * (TABLE_AT - off - len(out))
    out += partition_table(table_for(build))
    out += b"\xff" * (APP_AT - off - len(out))
    return bytes(out + app_image)


def record(data):
    """The simulator's record (dict) of an app or bootloader image's first bytes (at least 0x400), or None."""
    import json

    if len(data) < 0x40 or data[0] != 0xE9:
        return None
    at = RECORD_AT if struct.unpack("<I", data[0x20:0x24])[0] == MAGIC_DESC else BOOT_RECORD_AT if data[0x20] == 0x50 else 0
    if not at or data[at : at + 8] != b"ALOFTSIM":
        return None
    n = struct.unpack("<H", data[at + 8 : at + 10])[0]
    return json.loads(bytes(data[at + 10 : at + 10 + n]))


def info(data, chip=None):
    """What an image says: header fields, segments, app descriptor, banner, record, and esp_image_verify's verdict
    for chip (default: the chip its header names)."""
    h = struct.unpack("<BBBBIB3sHBHH4sB", data[:24])
    names = dict((v[0], k) for k, v in CHIPS.items())
    out = {"magic": h[0], "segments": [], "chip_id": h[7], "chip": names.get(h[7]), "min_rev_full": h[9],
           "max_rev_full": h[10], "hash_appended": h[12], "entry": h[4], "size": len(data)}
    pos = 24
    for _ in range(min(h[1], 16)):
        if pos + 8 > len(data):
            break
        addr, n = struct.unpack("<II", data[pos : pos + 8])
        out["segments"].append((addr, n, pos + 8))
        pos += 8 + n
    if struct.unpack("<I", data[0x20:0x24])[0] == MAGIC_DESC:
        d = struct.unpack("<II8s32s32s16s16s32s32s", data[0x20:0x20 + 176])
        z = lambda b: bytes(b).split(b"\0")[0].decode()  # noqa: E731
        out["app"] = {"version": z(d[3]), "project_name": z(d[4]), "time": z(d[5]), "date": z(d[6]), "idf_ver": z(d[7]),
                      "app_elf_sha256": "".join("%02x" % b for b in d[8])}
    i = bytes(data[: 0x2000]).find(b"MicroPython v")
    if i >= 0:
        out["banner"] = bytes(data[i : bytes(data).find(b"\0", i)]).decode()
    out["record"] = record(data)
    c = CHIPS.get(chip) if chip else CHIPS.get(out["chip"])
    try:
        if c is None:
            raise ValueError("unknown chip")
        out["length"] = verify(lambda o, b: _read(data, o, b), len(data), c)
        out["valid"] = True
    except ValueError as e:
        out["valid"] = False
        out["reason"] = str(e)
    return out


def _read(data, off, buf):
    n = len(buf)
    chunk = data[off : off + n]
    if len(chunk) < n:
        raise ValueError("read past the end of the image")
    buf[:] = chunk


def main(argv):
    if len(argv) < 2 or argv[1] not in ("build", "info"):
        raise Error("usage: espimage.py build --chip CHIP --build BUILD --micropython X.Y.Z [--reports X.Y.Z] "
                    "[--behaviour boots|crash|hang] [--auto-confirm] [--no-rollback] [--size N] [--idf vX.Y.Z] "
                    "[--date YYYY-MM-DD] [--seed N] [--full-flash] --out FILE | info FILE [--chip CHIP]")
    opts = {}
    flags = ("--auto-confirm", "--no-rollback", "--full-flash")
    args = argv[2:]
    pos = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in flags:
            opts[a] = True
            i += 1
        elif a.startswith("--"):
            if i + 1 >= len(args):
                raise Error("%s needs a value" % a)
            opts[a] = args[i + 1]
            i += 2
        else:
            pos.append(a)
            i += 1
    if argv[1] == "info":
        known = ("--chip",)
        if len(pos) != 1 or any(k not in known for k in opts):
            raise Error("usage: espimage.py info FILE [--chip CHIP]")
        with open(pos[0], "rb") as f:
            data = f.read()
        if len(data) < 24 or data[0] != 0xE9:
            raise Error("not an ESP image: " + pos[0])
        r = info(data, opts.get("--chip"))
        print("chip: %s (id %d), revisions %d..%d, entry 0x%08x, hash appended %d" % (r["chip"], r["chip_id"], r["min_rev_full"], r["max_rev_full"], r["entry"], r["hash_appended"]))
        for addr, n, off in r["segments"]:
            print("segment: 0x%08x %d bytes at 0x%x" % (addr, n, off))
        for k in ("app", "banner", "record"):
            if r.get(k) is not None:
                print("%s: %s" % (k, r[k]))
        print("size: %d" % r["size"])
        print("valid: %s" % ("yes, %d bytes" % r["length"] if r["valid"] else "no: " + r["reason"]))
        return 0 if r["valid"] else 1
    known = ("--chip", "--build", "--micropython", "--reports", "--behaviour", "--size", "--idf", "--date", "--seed", "--out") + flags
    for k in opts:
        if k not in known:
            raise Error("unknown option " + k)
    if pos or "--out" not in opts:
        raise Error("build needs --out FILE and no other arguments")

    def number(k, d):
        try:
            return int(opts.get(k, d))
        except ValueError:
            raise Error("bad %s: %s" % (k, opts[k]))

    chip = opts.get("--chip", "esp32")
    build = opts.get("--build", "ESP32_GENERIC-OTA")
    args = (chip, build, opts.get("--micropython", "1.26.0"), opts.get("--behaviour", "boots"), opts.get("--reports"),
            "--auto-confirm" in opts, False if "--no-rollback" in opts else None, number("--size", DEFAULT_SIZE),
            opts.get("--idf"), opts.get("--date", "2025-01-01"), number("--seed", 0))
    try:
        with open(opts["--out"], "wb") as f:
            if "--full-flash" in opts:
                f.write(full_flash(chip, b"", build, {"rollback": "--no-rollback" not in opts}))
            app(*args, out=f.write)  # checks every argument before it writes
    except Error:
        import os

        os.remove(opts["--out"])
        raise
    return 0


if __name__ == "__main__":
    import sys

    try:
        sys.exit(main(sys.argv))
    except Error as e:
        print("espimage: %s" % e, file=sys.stderr)
        sys.exit(2)
