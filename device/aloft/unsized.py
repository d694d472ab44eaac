# A JSON answer without a Content-Length (reply.py): chunked, or up to the end of the connection. Aloft's server
# always sends the length; a proxy in between may not. Loaded only then.
from micropython import const
from .http import late, line

MAX_JSON = const(65536)  # reply.py's limit


def read(r, fill):
    # The body of the http.Response r, at most 64 KiB, within the request's deadline; fill: reply.fill, which reads
    # a chunk (given, not imported: reply.py loads this module).
    body = bytearray()
    if r.chunked:
        while True:
            size = int(line(r).split(b";")[0], 16)
            if size == 0:
                return body
            if len(body) + size > MAX_JSON:
                raise ValueError("answer too large")
            body.extend(fill(r, size))
            line(r)
    while len(body) <= MAX_JSON:
        late(r)
        data = r.sock.read(min(MAX_JSON + 1 - len(body), 1024))
        if not data:
            return body
        body.extend(data)
    raise ValueError("answer too large")
