# TLS for an https:// server (net.py), its certificate checked against config.json's "ca" (docs/protocol.md,
# "Device configuration") when there is one. Loaded only for an https:// server.


def wrap(sock, host, pem):
    # sock wrapped in TLS; with pem (the CA certificate's PEM text), the chain verified against it and the
    # certificate's names matched against host: OSError("... certificate ...") when that fails.
    try:
        import ssl
    except ImportError:
        raise OSError("this firmware has no ssl module; use an http:// server")
    if not pem:
        return ssl.wrap_socket(sock, server_hostname=host)
    from binascii import a2b_base64

    try:
        der = a2b_base64("".join(pem.split("-----BEGIN CERTIFICATE-----", 1)[1].split("-----END CERTIFICATE-----", 1)[0].split()))
    except (IndexError, ValueError):
        raise ValueError("config.json's ca is not a PEM certificate")
    import gc

    pem = None
    gc.collect()  # mbedTLS allocates its context, the parsed CA and its buffers on the heap
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cadata=der)
    except (OSError, ValueError) as e:
        raise ValueError("config.json's ca is not a usable certificate (%s)" % e)
    der = None
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        return ctx.wrap_socket(sock, server_hostname=host)
    except (OSError, ValueError) as e:  # mbedTLS raises ValueError for a certificate it refuses
        raise OSError("TLS with %s failed (server certificate checked against config.json's ca): %s" % (host, str(e).strip()))
