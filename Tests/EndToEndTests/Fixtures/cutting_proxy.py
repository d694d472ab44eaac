"""A loopback HTTP proxy that cuts blob downloads short, to test what a device does with a truncated body.

Usage: python3 cutting_proxy.py UPSTREAM_PORT CUT_AFTER_BYTES
Prints "port N" once listening. Every response to a request for /api/v1/blobs/... is forwarded with its
headers intact (Content-Length included) and then only CUT_AFTER_BYTES of body before the connection is
closed. Everything else passes through untouched. Ends when stdin closes.
"""
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(client, upstream_port, cut):
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    request = b""
    while b"\r\n\r\n" not in request:
        data = client.recv(65536)
        if not data:
            client.close()
            upstream.close()
            return
        request += data
    first_line = request.split(b"\r\n", 1)[0]
    upstream.sendall(request)
    if b"/api/v1/blobs/" not in first_line:
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        pump(upstream, client)
        return
    response = b""
    while b"\r\n\r\n" not in response:
        data = upstream.recv(65536)
        if not data:
            break
        response += data
    head, _, body = response.partition(b"\r\n\r\n")
    while len(body) < cut:
        data = upstream.recv(65536)
        if not data:
            break
        body += data
    try:
        client.sendall(head + b"\r\n\r\n" + body[:cut])
    except OSError:
        pass
    client.close()
    upstream.close()


def main():
    upstream_port, cut = int(sys.argv[1]), int(sys.argv[2])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("port", listener.getsockname()[1], flush=True)

    def accept():
        while True:
            client, _ = listener.accept()
            threading.Thread(target=handle, args=(client, upstream_port, cut), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # the test closes stdin (or dies) to stop the proxy


main()
