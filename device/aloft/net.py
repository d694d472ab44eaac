# Opening an HTTP connection (http.py): the server URL taken apart, the socket connected with a timeout on
# every operation, and TLS for an https:// server (checked against config.json's "ca" by tls.py).


def connect(url, timeout, ca):
    """A connected socket to the server at url ("http://host:port/prefix", or https://), with host, port and
    the path prefix. Closed again when anything fails."""
    import socket

    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https"):
        raise ValueError("unsupported server URL " + url)
    host, _, prefix = rest.partition("/")
    port = 443 if scheme == "https" else 80
    if ":" in host:
        host, port = host.rsplit(":", 1)
        port = int(port)
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
    try:
        s.settimeout(timeout)
        s.connect(ai[-1])
        if scheme == "https" and ca:
            from . import tls

            s = tls.wrap(s, host, ca)
        elif scheme == "https":
            try:
                import ssl
            except ImportError:
                raise OSError("this firmware has no ssl module; use an http:// server")
            s = ssl.wrap_socket(s, server_hostname=host)
    except BaseException:
        s.close()
        raise
    return s, host, port, ("/" + prefix).rstrip("/")
