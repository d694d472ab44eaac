# Minimal HTTP/1.1 client on a plain socket: one request per connection ("Connection: close"),
# a timeout on every socket operation, and the body left on the socket so blobs stream
# through the caller's buffer instead of being read into RAM.
from micropython import const

_MAX_JSON = const(65536)  # a check-in answer carries the manifest; refuse anything bigger


class Response:
    def __init__(self, sock):
        self.sock = sock  # the body is read from here; readinto(buf, n) fills up to n bytes
        self.status = 0
        self.length = -1  # Content-Length, -1 when absent
        self.chunked = False

    def close(self):
        self.sock.close()

    def json(self):
        import json

        s = self.sock
        if self.chunked:
            body = bytearray()
            while True:
                size = int(s.readline().split(b";")[0], 16)
                if size == 0:
                    break
                if len(body) + size > _MAX_JSON:
                    raise ValueError("answer too large")
                body.extend(_read(s, size))
                s.readline()
        elif self.length >= 0:
            if self.length > _MAX_JSON:
                raise ValueError("answer too large")
            body = _read(s, self.length)
        else:
            body = s.read(_MAX_JSON + 1)
            if len(body) > _MAX_JSON:
                raise ValueError("answer too large")
        return json.loads(body)


def _read(s, n):
    data = s.read(n)
    if len(data) != n:
        raise OSError("connection closed after %d of %d bytes" % (len(data), n))
    return data


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


def request(server, method, path, token, body=None, timeout=10):
    """Send one request and read the status line and headers; the caller reads the body from the
    returned Response and must close() it. body is bytes (sent as JSON) or None."""
    import socket

    tls, host, port, prefix = _split(server)
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
    try:
        s.settimeout(timeout)
        s.connect(ai[-1])
        if tls:
            try:
                import ssl
            except ImportError:
                raise OSError("this firmware has no ssl module; use an http:// server")
            s = ssl.wrap_socket(s, server_hostname=host)
        head = "%s %s%s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nConnection: close\r\n" % (
            method,
            prefix,
            path,
            host,
            port,
            token,
        )
        if body is not None:
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        s.write(head + "\r\n")
        if body is not None:
            s.write(body)
        r = Response(s)
        line = s.readline()
        if not line.startswith(b"HTTP/1."):
            raise OSError("bad status line %r" % line[:40])
        r.status = int(line.split(None, 2)[1])
        while True:
            line = s.readline()
            if not line:
                raise OSError("connection closed in headers")
            if line == b"\r\n":
                return r
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                r.length = int(value)
            elif name == b"transfer-encoding":
                r.chunked = b"chunked" in value.lower()
    except BaseException:
        s.close()
        raise


def post_json(cfg, path, value):
    """POST value as JSON and return the parsed answer (None for an empty one).
    Raises OSError for a non-2xx status, with the server's error message in it."""
    import json

    r = request(cfg["server"], "POST", path, cfg["token"], json.dumps(value).encode(), cfg.get("timeout", 10))
    try:
        if r.status // 100 != 2:
            try:
                why = r.json()["message"]
            except Exception:
                why = "no details"
            raise OSError("HTTP %d from %s: %s" % (r.status, path, why))
        if r.status == 204 or r.length == 0:
            return None
        return r.json()
    finally:
        r.close()
