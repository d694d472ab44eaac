# An app image in a firmware slot (ESP-IDF esp_image_header_t and segments, research R1.5): its length from its segment
# headers, and its SHA-256 read back from the slot. Loaded by switch.py, and by a check-in only after a firmware change.
# pack: zlib
import struct


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
