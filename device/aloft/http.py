# Minimal HTTP/1.1 client on a plain socket: one request per connection ("Connection: close"),
# a timeout on every socket operation, and the body left on the socket so blobs stream
# through the caller's buffer instead of being read into RAM.
import time
from micropython import const

_MAX_HEADERS = const(48)  # a server sending header lines without end cannot hold the device


class Response:
    def __init__(self, sock, deadline):
        self.sock = sock  # the body is read from here; readinto(buf, n) fills up to n bytes
        self.status = 0
        self.length = -1  # Content-Length, -1 when absent
        self.start = 0  # first byte of a 206 answer, from Content-Range
        self.chunked = False
        self.deflate = False  # Content-Encoding: deflate (the zlib format)
        self.deadline = deadline  # ticks_ms by which the headers (and a JSON answer) must be complete

    def close(self):
        self.sock.close()

    def _late(self):
        if time.ticks_diff(time.ticks_ms(), self.deadline) > 0:
            raise OSError("server too slow: answer not complete in time")

    def _line(self):
        self._late()
        return self.sock.readline()


def _split(url):
    # "http://host:port/prefix" -> (tls, host, port, prefix)
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https"):
        raise ValueError("unsupported server URL " + url)
    host, _, prefix = rest.partition("/")
    port = 443 if scheme == "https" else 80
    if ":" in host:
        host, port = host.rsplit(":", 1)
        port = int(port)
    return scheme == "https", host, port, ("/" + prefix).rstrip("/")


def request(server, method, path, token, body=None, timeout=10, headers="", ca=None):
    """Send one request and read the status line and headers; the caller reads the body from the
    returned Response and must close() it. body is bytes (sent as JSON) or None; headers is extra
    header lines, each ending in CRLF; ca is the PEM text of the CA an https:// server's
    certificate must chain to (tls.py), else that certificate is not checked. Every socket
    operation times out after timeout seconds; the status line and headers (and a JSON answer read by api.py) must arrive within 3 x timeout."""
    import socket

    deadline = time.ticks_add(time.ticks_ms(), int(timeout * 3000))
    tls, host, port, prefix = _split(server)
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
    try:
        s.settimeout(timeout)
        s.connect(ai[-1])
        if tls and ca:
            from . import tls as t

            s = t.wrap(s, host, ca)
        elif tls:
            try:
                import ssl
            except ImportError:
                raise OSError("this firmware has no ssl module; use an http:// server")
            s = ssl.wrap_socket(s, server_hostname=host)
        head = "%s %s%s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nConnection: close\r\n%s" % (
            method,
            prefix,
            path,
            host,
            port,
            token,
            headers,
        )
        if body is not None:
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        s.write(head + "\r\n")
        if body is not None:
            s.write(body)
        r = Response(s, deadline)
        line = r._line()
        if not line.startswith(b"HTTP/1."):
            raise OSError("bad status line %r" % line[:40])
        r.status = int(line.split(None, 2)[1])
        for _ in range(_MAX_HEADERS):
            line = r._line()
            if not line:
                raise OSError("connection closed in headers")
            if line == b"\r\n":
                return r
            name, _, value = line.partition(b":")
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
