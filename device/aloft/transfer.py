# One blob transfer: the request (the whole blob compressed, or the rest of it raw with Range) and what its
# answer means; stream.py moves the bytes. A failure is an OSError when another attempt may mend it, a
# ValueError when not.
from micropython import const
from . import fs, http, stream

_ENOSPC = const(28)
raw = False  # the inflater did not fit once: the rest of this download stage asks for raw bytes


def get(cfg, sha, size, path, buf, part, h, have):
    # Request blob sha (size bytes, for path) from byte have on (its first have bytes are in the file part
    # and were fed to the SHA-256 h) and append the rest to part. Returns the hash of the whole file.
    global raw
    timeout = cfg.get("timeout", 10)
    print("aloft: get %s (%d bytes%s)" % (path, size, ", from %d" % have if have else ""))
    r = None
    packed = False
    try:
        ask = "Range: bytes=%d-\r\n" % have if have else "" if raw else "Accept-Encoding: deflate\r\n"
        r = http.request(cfg["server"], "GET", "/api/v1/blobs/" + sha, cfg["token"], None, timeout, ask, cfg.get("ca"))
        mode = "wb"
        if have and r.status == 206 and r.start == have:
            mode = "ab"
        elif r.status == 200:
            if have:
                from hashlib import sha256

                print("aloft: the server sent all of %s, starting over" % path)
                h = sha256()
                have = 0
        elif r.status == 416:
            fs.remove(part)
            raise OSError("range refused for " + path)
        elif r.status // 100 == 4 and r.status not in (408, 429):
            raise ValueError("HTTP %d for %s" % (r.status, path))
        else:
            raise OSError("HTTP %d for %s" % (r.status, path))
        packed = r.deflate and r.status == 200
        if not packed and r.length != size - have:
            raise ValueError("server sends %d bytes for %s, manifest says %d" % (have + r.length, path, size))
        if stream.copy(r.sock, packed, part, mode, h, have, size, path, buf, timeout + (size - have) // max(cfg.get("min_speed", 1024), 1)):
            return h
    except EOFError:  # from the inflater: the stream ended early; what came is good
        raise OSError("download of %s failed: connection closed inside the zlib stream" % path)
    except OSError as e:  # socket errors and timeouts; EINVAL from the inflater: corrupt data
        import errno

        code = e.args[0] if e.args else None
        if not isinstance(code, int):
            raise  # one of ours: its text is the reason
        if code == _ENOSPC:
            raise ValueError("insufficient storage: flash full while writing " + path)
        why = errno.errorcode[code] if code in errno.errorcode else str(e)
        if packed and code == errno.EINVAL:
            fs.remove(part)  # bytes inflated from a corrupt stream may be wrong too
            why = "corrupt zlib data"
        raise OSError("download of %s failed: %s" % (path, why))
    finally:
        if r:
            r.sock.close()
    # No RAM for the inflater (nothing was written): better the raw bytes than no update.
    if raw:  # packed although not asked for: asking again would get the same
        raise ValueError("no RAM to inflate %s, and the server sends it packed unasked" % path)
    print("aloft: no RAM to inflate %s; it and the rest come raw" % path)
    raw = True
    r = None
    import gc

    gc.collect()
    return get(cfg, sha, size, path, buf, part, h, have)
