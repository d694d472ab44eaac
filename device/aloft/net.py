# Sending an HTTP request (http.py reads the answer): the server URL taken apart, the socket connected with a
# timeout on every operation, TLS for an https:// server (checked against config.json's "ca" by tls.py), the
# request line, headers and body written piece by piece.


def send(url, method, path, token, body, timeout, headers, ca):
    # The connected socket to the server at url ("http://host:port/prefix", or https://) once the request is
    # sent: method on the prefix and path, bearer token, extra header lines, body (JSON bytes) or None.
    # Closed again when anything fails.
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
        if scheme == "https":
            from .tls import wrap

            s = wrap(s, host, ca)
        s.write("%s %s%s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nConnection: close\r\n%s" % (method, ("/" + prefix).rstrip("/"), path, host, port, token, headers))
        if body is not None:
            s.write("Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            s.write(body)
        else:
            s.write("\r\n")
    except BaseException:
        s.close()
        raise
    return s
