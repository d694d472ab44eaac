# SHA-512 (FIPS 180-4) in plain MicroPython. Ed25519 needs it and stock hashlib has only sha256;
# it hashes a few kilobytes per update (the manifest), so speed matters little and size more.
from array import array
from .compress import compress

_IV = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)


class sha512:
    # hashlib-style SHA-512: update() with any buffer (str hashes as its UTF-8 bytes), digest().

    def __init__(self, data=None):
        self._h = list(_IV)
        self._buf = bytearray(128)
        self._w = array("Q", bytes(640))  # compress()'s message schedule, once per hash
        self._n = 0  # bytes waiting in _buf
        self._len = 0
        if data is not None:
            self.update(data)

    def update(self, data):
        mv = memoryview(data)
        n = len(mv)
        self._len += n
        i = 0
        if self._n:
            i = min(128 - self._n, n)
            self._buf[self._n : self._n + i] = mv[:i]
            self._n += i
            if self._n < 128:
                return
            compress(self._h, self._buf, self._w)
            self._n = 0
        while n - i >= 128:
            compress(self._h, mv[i : i + 128], self._w)
            i += 128
        if i < n:
            self._buf[: n - i] = mv[i:]
            self._n = n - i

    def digest(self):
        h = list(self._h)
        tail = bytearray(self._buf[: self._n])
        tail.append(0x80)
        tail.extend(bytes((112 - len(tail)) % 128))
        tail.extend((self._len * 8).to_bytes(16, "big"))
        for i in range(0, len(tail), 128):
            compress(h, memoryview(tail)[i : i + 128], self._w)
        return b"".join(v.to_bytes(8, "big") for v in h)
