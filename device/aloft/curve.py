# Edwards25519 arithmetic for ed25519.py (RFC 8032, 5.1) on MicroPython big ints: the field, the base point,
# point addition and doubling in extended coordinates, encoding.

P = 2**255 - 19
D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_D2 = 2 * D % P
B = (
    15112221349535400772501151409588531511454012693041857206046113283949847762202,
    46316835694926478169428394003475163141307993866256225615783033603165251855960,
    1,
    46827403850823179245072216630277197565144205554125654976674165829533817101731,
)
ZERO = (0, 1, 1, 0)


def power(b, e):
    # Square-and-multiply: builtin three-argument pow() is not enabled on every port.
    r = 1
    while e:
        if e & 1:
            r = r * b % P
        b = b * b % P
        e >>= 1
    return r


def add(p, q):
    # Extended twisted Edwards coordinates, a = -1 (RFC 8032 5.1.4).
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = p[3] * _D2 * q[3] % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def double(p):
    a = p[0] * p[0] % P
    b = p[1] * p[1] % P
    c = 2 * p[2] * p[2] % P
    h = a + b
    s = p[0] + p[1]
    e = h - s * s
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def encode(p):
    zi = power(p[2], P - 2)
    x = p[0] * zi % P
    y = p[1] * zi % P
    return (y | (x & 1) << 255).to_bytes(32, "little")
