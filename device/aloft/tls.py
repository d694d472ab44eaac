# TLS with the server's certificate checked against config.json's "ca" (docs/protocol.md, "Device
# configuration"): loaded by http.py only for an https:// server when a CA is configured.


def wrap(sock, host, pem):
    # sock wrapped in TLS, the chain verified against the CA certificate pem (PEM text) and the
    # certificate's names matched against host. OSError("... certificate ...") when that fails.
    import ssl
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
