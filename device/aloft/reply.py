# A JSON answer's body (api.py): Content-Length, chunked, or up to the end of the connection; at most 64 KiB
# (a check-in answer carries the manifest), all of it within the request's deadline.
from micropython import const
from .http import late, line

_MAX_JSON = const(65536)


def _read(r, n, to_end=False):
    # In pieces, so a server trickling bytes each within the socket timeout still meets the deadline;
    # into one buffer of n bytes when n is known (growing one would hold two copies at a time).
    if to_end:
        out = bytearray()
        while len(out) < n:
            late(r)
            data = r.sock.read(min(n - len(out), 1024))
            if not data:
                break
            out.extend(data)
        return out
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

    if r.chunked:
        body = bytearray()
        while True:
            size = int(line(r).split(b";")[0], 16)
            if size == 0:
                break
            if len(body) + size > _MAX_JSON:
                raise ValueError("answer too large")
            body.extend(_read(r, size))
            line(r)
    elif r.length >= 0:
        if r.length > _MAX_JSON:
            raise ValueError("answer too large")
        body = _read(r, r.length)
    else:
        body = _read(r, _MAX_JSON + 1, True)
        if len(body) > _MAX_JSON:
            raise ValueError("answer too large")
    return json.loads(body)
