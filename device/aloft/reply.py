# A JSON answer's body (api.py): Content-Length, as Aloft's server sends it, all of it within the request's
# deadline and at most 64 KiB (a check-in answer carries the manifest); chunked or up to the end of the
# connection (a proxy in between) by unsized.py.
from micropython import const
from .http import late

_MAX = const(65536)  # also unsized.py's limit


def fill(r, n):
    # n bytes, in pieces so a server trickling bytes each within the socket timeout still meets the deadline,
    # into one buffer (growing one would hold two copies at a time).
    out = bytearray(n)
    view = memoryview(out)
    got = 0
    while got < n:
        late(r)
        k = r.sock.readinto(view[got : min(n, got + 1024)])
        if not k:
            raise OSError("connection closed after %d of %d bytes" % (got, n))
        got += k
    return out


def read(r):
    # The JSON body of the http.Response r, parsed.
    import json

    if r.chunked or r.length < 0:
        from .unsized import read as body

        return json.loads(body(r, fill))
    if r.length > _MAX:
        raise ValueError("answer too large")
    return json.loads(fill(r, r.length))
