# Ed25519 signature verification (RFC 8032, pure Ed25519) on MicroPython big ints; the curve is curve.py.
# Verify only: the device never signs. Strict like Go's crypto/ed25519: S must be below L,
# A and R must be canonical encodings, and [S]B - [k]A must encode to exactly the R bytes.
from .curve import B, D, P, ZERO, add, double, encode, power

try:
    from hashlib import sha512  # a few custom firmwares have it; stock MicroPython does not
except ImportError:
    from .sha512 import sha512

_L = 2**252 + 27742317777372353535851937790883648493
_SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752


def _decode(s):
    # Point decoding per RFC 8032 5.1.3; None for anything that is not a canonical curve point.
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    yy = y * y % P
    u = (yy - 1) % P
    v = (D * yy + 1) % P
    v3 = v * v % P * v % P
    x = u * v3 % P * power(u * v3 % P * v3 % P * v % P, (P - 5) // 8) % P
    vxx = v * x % P * x % P
    if vxx != u:
        if vxx != P - u:
            return None
        x = x * _SQRT_M1 % P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def verify(public_key, message, signature):
    # True when signature (64 bytes) is a valid Ed25519 signature of message by public_key (32 bytes).
    # message may be bytes or str (a str is verified as its UTF-8 bytes, without copying it).
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decode(public_key)
    if a is None:
        return False
    r = bytes(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = sha512(r)
    h.update(public_key)
    h.update(message)
    k = int.from_bytes(h.digest(), "little") % _L
    h = None
    # [S]B + [k](-A) in one pass (Straus), then compare its encoding with R.
    na = ((P - a[0]) % P, a[1], 1, (P - a[3]) % P)
    both = add(B, na)
    q = ZERO
    for i in range(252, -1, -1):  # s and k are below L < 2**253
        q = double(q)
        bs = s >> i & 1
        bk = k >> i & 1
        if bs and bk:
            q = add(q, both)
        elif bs:
            q = add(q, B)
        elif bk:
            q = add(q, na)
    return encode(q) == r
