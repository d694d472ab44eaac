# Minimal HTTP/1.1 client on a plain socket: one request per connection ("Connection: close"), a timeout on
# every socket operation, and the body left on the socket so blobs stream through the caller's buffer
# instead of being read into RAM. net.py sends the request.
import time
from micropython import const
from . import net

_MAX_HEADERS = const(48)  # a server sending header lines without end cannot hold the device


class Response:
    # What request() read of an answer; its body is left on sock, which the caller closes.
    sock = None  # the body is read from here; readinto(buf, n) fills up to n bytes
    status = 0
    length = -1  # Content-Length, -1 when absent
    start = 0  # first byte of a 206 answer, from Content-Range
    chunked = False
    deflate = False  # Content-Encoding: deflate (the zlib format)
    deadline = 0  # ticks_ms by which the headers (and a JSON answer) must be complete


def late(r):
    if time.ticks_diff(time.ticks_ms(), r.deadline) > 0:
        raise OSError("server too slow: answer not complete in time")


def line(r):
    late(r)
    return r.sock.readline()


def request(server, method, path, token, body=None, timeout=10, headers="", ca=None):
    # Send one request and read the status line and headers; the caller reads the body from the returned
    # Response and must close its sock. body is bytes (sent as JSON) or None; headers is extra header lines, each
    # ending in CRLF; ca is the PEM text of the CA an https:// server's certificate must chain to (tls.py),
    # else that certificate is not checked. Every socket operation times out after timeout seconds; the status
    # line and headers (and a JSON answer read by reply.py) must arrive within 3 x timeout.
    r = Response()
    r.deadline = time.ticks_add(time.ticks_ms(), int(timeout * 3000))
    s = r.sock = net.send(server, method, path, token, body, timeout, headers, ca)
    try:
        h = line(r)
        if not h.startswith(b"HTTP/1."):
            raise OSError("bad status line %r" % h[:40])
        r.status = int(h.split(None, 2)[1])
        for _ in range(_MAX_HEADERS):
            h = line(r)
            if not h:
                raise OSError("connection closed in headers")
            if h == b"\r\n":
                return r
            name, _, value = h.partition(b":")
            name = name.lower()
            if name == b"content-length":
                r.length = int(value)
            elif name == b"content-range":  # "bytes A-B/LEN", or "bytes */LEN" with a 416
                a = value.strip()[6:].split(b"-")[0]
                r.start = int(a) if a.isdigit() else -1
            elif name == b"transfer-encoding":
                r.chunked = b"chunked" in value.lower()
            elif name == b"content-encoding":
                r.deflate = value.strip().lower() == b"deflate"
        raise OSError("too many header lines")
    except BaseException:
        s.close()
        raise
