# esp_image_verify of ESP-IDF (components/bootloader_support/src/esp_image_format.c), for the simulated ESP32: what
# set_boot() checks before it changes otadata (esp_ota_ops.c esp_ota_set_boot_partition) and what the bootloader
# checks before it boots a slot (bootloader_utility.c load_boot_image, with load=True). Runs on MicroPython (in the
# device's process: one 256-byte buffer, the SHA-256 context) and on CPython (espimage.py).
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_BUF = const(256)
_MB16 = const(0x1000000)
_PAGE = const(0x10000)  # SPI_FLASH_MMU_PAGE_SIZE

try:
    import micropython

    @micropython.viper
    def _xor(buf: ptr8, n: int, c: int) -> int:
        for i in range(n):
            c ^= buf[i]
        return c

except ImportError:  # CPython

    def _xor(buf, n, c):
        for b in bytes(buf[:n]):
            c ^= b
        return c


def _in(r, a):
    return r[0] <= a < r[1]


def _u32(b, i):
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24


def verify(read, size, chip, load=False):
    """The length of the valid image at the start of a partition of size bytes, read(offset, buf) filling buf from
    it, for a board of chip (an espchips.CHIPS value); ValueError with esp_image's reason when it is not valid. load: also
    what the bootloader checks as it loads the image (its RAM segments clear of the bootloader's own)."""
    from hashlib import sha256

    buf = bytearray(_BUF)
    mv = memoryview(buf)
    read(0, mv[:24])
    # verify_image_header: magic, bootloader_common_check_chip_validity (chip id, revisions), segment count
    if buf[0] != 0xE9:
        raise ValueError("image has invalid magic byte (nothing flashed here?)")
    if buf[12] | buf[13] << 8 != chip[0]:
        raise ValueError("mismatch chip ID, expected %d, found %d" % (chip[0], buf[12] | buf[13] << 8))
    if buf[15] | buf[16] << 8 > chip[8]:
        raise ValueError("can't run on lower chip revision, expected min %d" % (buf[15] | buf[16] << 8))
    if chip[8] > buf[17] | buf[18] << 8:
        raise ValueError("can't run on higher chip revision, expected max %d" % (buf[17] | buf[18] << 8))
    if buf[1] > 16:
        raise ValueError("segment count %d exceeds max 16" % buf[1])
    hashed = buf[23] == 1  # hash_appended: the SHA-256 of everything before it follows the checksum
    if hashed:
        h = sha256(mv[:24])
    csum = 0xEF
    pos = 24
    for i in range(buf[1]):
        read(pos, mv[:8])
        if hashed:
            h.update(mv[:8])
        addr = _u32(buf, 0)
        n = _u32(buf, 4)
        pos += 8
        # verify_segment_header, process_segment
        if n & 3 or n >= _MB16:
            raise ValueError("invalid segment length 0x%x" % n)
        mapped = _in(chip[2], addr) or _in(chip[3], addr)
        if mapped and pos % _PAGE != addr % _PAGE:
            raise ValueError("Segment %d load address 0x%08x, doesn't match data 0x%08x" % (i, addr, pos))
        if pos + n > size:
            raise ValueError("Image length %d doesn't fit in partition length %d" % (pos + n, size))
        if load and n and not mapped and addr >= 0x10000000:
            _loadable(chip, i, addr, addr + n)
        end = pos + n
        while pos < end:
            k = min(_BUF, end - pos)
            chunk = mv if k == _BUF else mv[:k]
            read(pos, chunk)
            csum = _xor(buf, k, csum)
            if hashed:
                h.update(chunk)
            pos += k
    # process_checksum: zero padding to 15 mod 16, then the checksum byte
    k = ((pos + 16) & ~15) - pos
    if pos + k > size:
        raise ValueError("Image length %d doesn't fit in partition length %d" % (pos + k, size))
    read(pos, mv[:k])
    c = csum & 0xFF
    if buf[k - 1] != c:
        raise ValueError("Checksum failed. Calculated 0x%x read 0x%x" % (c, buf[k - 1]))
    if hashed:
        h.update(mv[:k])
    pos += k
    if hashed:  # process_appended_hash_and_sig, verify_simple_hash
        if pos + 32 > size:
            raise ValueError("Image length %d doesn't fit in partition length %d" % (pos + 32, size))
        read(pos, mv[:32])
        if h.digest() != bytes(mv[:32]):
            raise ValueError("Image hash failed - image is corrupt")
        pos += 32
    return pos


def _loadable(chip, i, a, e):
    # esp_image_format.c verify_load_addresses: a loaded segment must be in RAM and clear of the bootloader's own
    # static data and loader code (the full firmware.bin in a slot fails here: its first image is a bootloader).
    dram = chip[4][0] <= a and e <= chip[4][1]
    iram = chip[5][0] <= a and e <= chip[5][1]
    if not dram and not iram:
        raise ValueError("Segment %d 0x%08x-0x%08x invalid: bad load address range" % (i, a, e))
    if dram and a < chip[6][1] and chip[6][0] < e:
        raise ValueError("Segment %d 0x%08x-0x%08x invalid: overlaps bootloader data" % (i, a, e))
    if iram and a < chip[7][1] and chip[7][0] < e:
        raise ValueError("Segment %d 0x%08x-0x%08x invalid: overlaps loader IRAM" % (i, a, e))
